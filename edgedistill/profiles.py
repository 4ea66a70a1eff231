"""Device profiles: data files in the repository's `targets/` folder, loaded into typed configs.

Runtime tables (e.g. `[onnxruntime]`) stay plain mappings here; the target registry types them and
checks runtime names (`targets.registry.resolve_profile`), so profiles import no target code.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edgedistill.errors import UserError
from edgedistill.fsutil import NAME, check_name
from edgedistill.typed_config import from_mapping, load_mapping

# int4: 4-bit weights (activations int8 or float at run time), offered where a runtime has such a recipe.
PRECISIONS = ("fp32", "fp16", "int8", "int4")
# The longest input any policy may allow: tokenizers count tokens in machine integers (10**30 overflowed them),
# and no encoder classifier reads more than 8,192 positions.
MAX_TOKENS = 65_536


@dataclass(frozen=True)
class SequencePolicy:
    """`dynamic`: any length up to `max_length`; `fixed`: inputs padded to the smallest bucket that fits.

    The one owner of input widths: golden vectors, check, bench, export and the runtimes all ask it. An input
    longer than `longest` runs at `longest`, its tokens past it cut, as the tokenizer truncates a long text.
    """

    policy: Literal["dynamic", "fixed"] = "dynamic"
    max_length: int = 128
    buckets: list[int] = field(default_factory=list)

    @classmethod
    def static(cls, widths: list[int]) -> SequencePolicy:
        """The policy of an artifact built for these static widths: each input runs in the smallest that fits."""
        return cls("fixed", max_length=max(widths), buckets=sorted(widths))

    @property
    def longest(self) -> int:
        """The most tokens an input may keep: the largest bucket under `fixed`, else `max_length`."""
        return max(self.buckets) if self.policy == "fixed" else self.max_length

    def width_for(self, tokens: int, static_length: int | None = None) -> int:
        """The width an input of `tokens` tokens runs at: an artifact's static length when it has one,
        else its bucket under `fixed` (the largest when none holds it), else itself (at most `max_length`)."""
        if static_length:
            return static_length
        if self.policy == "dynamic":
            return min(tokens, self.max_length)
        return next((bucket for bucket in sorted(self.buckets) if bucket >= tokens), max(self.buckets))

    def fit(self, input_ids: np.ndarray, attention_mask: np.ndarray, pad_id: int = 0,
            static_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Inputs of shape (batch, tokens) at the width `width_for` gives them: padded with `pad_id` and mask 0,
        or cut when they are longer than it."""
        tokens = input_ids.shape[1]
        width = self.width_for(tokens, static_length)
        if width <= tokens:
            return np.ascontiguousarray(input_ids[:, :width]), np.ascontiguousarray(attention_mask[:, :width])
        pad = ((0, 0), (0, width - tokens))
        return np.pad(input_ids, pad, constant_values=pad_id), np.pad(attention_mask, pad, constant_values=0)

    def validate(self, where: str) -> None:
        """Reject a policy no artifact can be built or run for, with one line naming `where`."""
        if isinstance(self.max_length, bool) or not isinstance(self.max_length, int) or not 2 <= self.max_length <= MAX_TOKENS:
            raise UserError(f"{where}: sequence.max_length must be a whole number from 2 to {MAX_TOKENS}")
        if self.policy == "fixed" and not self.buckets:
            raise UserError(f"{where}: sequence.policy = 'fixed' needs sequence.buckets, e.g. [64, 128]")
        if self.policy == "dynamic" and self.buckets:
            raise UserError(f"{where}: sequence.buckets only applies to policy = 'fixed'")
        if any(isinstance(b, bool) or not isinstance(b, int) or b < 2 or b > self.max_length for b in self.buckets):
            raise UserError(f"{where}: every sequence bucket must lie in 2..max_length ({self.max_length})")


@dataclass(frozen=True)
class Budgets:
    """Gates an exported artifact must pass on this device."""

    max_accuracy_drop: float = 1.0
    p90_latency_ms: float | None = None
    # The least share of unlabelled in-domain texts (transfer or calibration texts) on which the artifact's
    # argmax must match the fp32 student's. Needs no labels, so it is measured on more texts than the
    # validation split holds and catches a collapse the accuracy gate's noise could hide.
    min_agreement: float | None = None
    # The largest model file the app can ship, in MB (10^6 bytes); None: no limit.
    max_size_mb: float | None = None

    def validate(self, where: str) -> None:
        """Budgets are finite, non-negative numbers (points, milliseconds, a share of at most 1)."""
        if self.min_agreement is not None and (isinstance(self.min_agreement, bool)
                                               or not isinstance(self.min_agreement, (int, float))
                                               or not 0 <= self.min_agreement <= 1):
            raise UserError(f"{where}: budgets.min_agreement must be a share between 0 and 1 (got {self.min_agreement!r})")
        values = {"max_accuracy_drop": self.max_accuracy_drop, "p90_latency_ms": self.p90_latency_ms,
                  "max_size_mb": self.max_size_mb}
        for key, value in values.items():
            if value is None and key != "max_accuracy_drop":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise UserError(f"{where}: budgets.{key} must be a finite number >= 0 (got {value!r})")


def exceeds_drop_budget(points: float, budgets: Budgets) -> bool:
    """Whether a drop of `points` is over the accuracy budget; a drop exactly at it passes, though the figures
    behind it were computed in floating point."""
    return points > budgets.max_accuracy_drop + 1e-9


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    isa: Literal["arm64", "x86-64"]
    runtimes: list[str]
    threads: int = 1
    precisions: list[str] = field(default_factory=lambda: ["int8", "fp32"])
    cpu_affinity: list[int] = field(default_factory=list)
    sequence: SequencePolicy = field(default_factory=SequencePolicy)
    budgets: Budgets = field(default_factory=Budgets)
    # The qemu CPU model an arm64 profile's accuracy is checked under when no device is at hand
    # (`check --arch arm64`, export's Arm check); see toolenvs/arm64.py for the models that run correctly.
    emulation_cpu: str | None = None
    # Per-runtime options: raw tables as read, typed (defaults filled in) once resolved by the target registry.
    runtime_options: dict[str, Any] = field(default_factory=dict)


def host_isa() -> str:
    """This machine's ISA in profile terms ("x86-64", "arm64"), else its own machine name."""
    machine = platform.machine().lower()
    return {"x86_64": "x86-64", "amd64": "x86-64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def profiles_dir() -> Path:
    """The profile folder: $EDGEDISTILL_TARGETS, else `targets/` beside the package."""
    override = os.environ.get("EDGEDISTILL_TARGETS")
    folder = Path(override) if override else Path(__file__).resolve().parents[1] / "targets"
    if not folder.is_dir():
        raise UserError(f"device profile folder {folder} not found; set EDGEDISTILL_TARGETS or pass --target FILE")
    return folder


def profile_names() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def read_profile(name_or_path: str) -> tuple[DeviceProfile, str]:
    """Read a profile by name (from `targets/`) or by path to a TOML/YAML file; returns it and its path.

    Its runtime tables are untyped: `targets.registry.load_profile` is what export and the CLI use."""
    path = Path(name_or_path)
    if path.suffix not in (".toml", ".yaml", ".yml"):
        path = profiles_dir() / f"{name_or_path}.toml"
        if not NAME.fullmatch(name_or_path) or not path.is_file():  # a name, never a way out of the folder
            raise UserError(f"unknown device profile {name_or_path!r}; available: {', '.join(profile_names())}")
    return parse_profile(load_mapping(path), str(path)), str(path)


def parse_profile(mapping: dict[str, Any], where: str) -> DeviceProfile:
    """Validate a profile mapping; every table not a profile field is a runtime's options table."""
    fields = {f.name for f in dataclasses.fields(DeviceProfile)} - {"runtime_options"}
    tables = {key: value for key, value in mapping.items() if key not in fields and isinstance(value, dict)}
    profile = from_mapping(DeviceProfile, {k: v for k, v in mapping.items() if k not in tables}, where)
    check_name(profile.name, f"{where}: profile name")  # a run writes each profile's bundles to bundles/NAME
    if not profile.runtimes:
        raise UserError(f"{where}: runtimes must list at least one runtime")
    stray = sorted(set(tables) - set(profile.runtimes))
    if stray:
        raise UserError(f"{where}: has a [{stray[0]}] table but runtimes does not list {stray[0]!r}")
    _check_consistent(profile, where)
    return dataclasses.replace(profile, runtime_options=tables)


def _check_consistent(profile: DeviceProfile, where: str) -> None:
    bad = [p for p in profile.precisions if p not in PRECISIONS]
    if bad or not profile.precisions:
        raise UserError(f"{where}: precisions must be a non-empty list of {', '.join(PRECISIONS)} (got {bad or 'none'})")
    if profile.threads < 1:
        raise UserError(f"{where}: threads must be at least 1")
    if any(core < 0 for core in profile.cpu_affinity):
        raise UserError(f"{where}: cpu_affinity lists cores by number from 0 (got {profile.cpu_affinity})")
    if profile.cpu_affinity and len(profile.cpu_affinity) < profile.threads:
        raise UserError(f"{where}: threads = {profile.threads} but cpu_affinity pins only {len(profile.cpu_affinity)} cores")
    if profile.emulation_cpu is not None and profile.isa != "arm64":
        raise UserError(f"{where}: emulation_cpu applies to isa = 'arm64' profiles only")
    profile.sequence.validate(where)
    profile.budgets.validate(where)
