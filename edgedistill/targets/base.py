"""The contract every runtime backend implements (torch-free at import time).

Export-side methods may import torch inside their bodies; `load` and the session it
returns must not, so that a device with only numpy and the runtime can run a bundle.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from edgedistill.data.dataset import LabelledTexts
from edgedistill.errors import UserError
from edgedistill.profiles import DeviceProfile, SequencePolicy


@dataclass(frozen=True)
class Recipe:
    """One way to build an artifact: a precision plus the knobs that produce it."""

    name: str
    precision: str
    description: str
    # The backend's typed settings for this recipe (a frozen dataclass), or None when it has none.
    options: Any = None
    # Fine-tunes against the teacher's logits (QAT): export hands it the teacher's cached logits, and skips
    # it once a cheaper recipe of its precision meets the budget.
    needs_teacher: bool = False

    def options_record(self) -> dict[str, Any]:
        """The settings as plain data, for the manifest and the export report."""
        return dataclasses.asdict(self.options) if self.options is not None else {}


@dataclass
class ExportInputs:
    """Everything a backend may use to build one artifact; its input widths are `profile.sequence`'s."""

    student_dir: Path
    profile: DeviceProfile
    work_dir: Path
    calibration_texts: list[str]
    train: LabelledTexts | None = None
    teacher_logits: np.ndarray | None = None


@dataclass
class ExportResult:
    """The artifact file and what the conversion reported (delegation, drift, timings)."""

    artifact: Path
    report: dict[str, Any] = field(default_factory=dict)


class Session(Protocol):
    """A loaded artifact: token ids in, float32 logits out."""

    input_names: list[str]
    fixed_length: int | None
    # The widths the artifact runs, read from the artifact itself: `run` fits every input to them.
    sequence: SequencePolicy

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits of shape (batch, classes) for int64 inputs of shape (batch, length)."""


class Target(ABC):
    """A runtime backend: export, quantize, load and run, with its own tolerance."""

    name: ClassVar[str]
    artifact_suffix: ClassVar[str]
    # Packages whose versions decide what an artifact holds or how it runs, recorded in each manifest.
    packages: ClassVar[tuple[str, ...]]
    options_type: ClassVar[type | None] = None
    # Every recipe the backend can build (name -> description), and those `export` tries, in order.
    recipe_descriptions: ClassVar[dict[str, str]]
    default_recipes: ClassVar[tuple[str, ...]]
    fp32_tolerance: ClassVar[float] = 1e-4
    fp16_tolerance: ClassVar[float] = 5e-2

    def artifact_name(self, student: str, recipe: Recipe) -> str:
        """`<model>_<runtime>_<recipe>.<ext>`: the file says what it is, as ExecuTorch's aot_compiler names them."""
        return f"{student}_{self.name}_{recipe.name}{self.artifact_suffix}"

    def app_requirements(self, report: dict[str, Any]) -> dict[str, Any]:
        """What an app must link to run the artifact (libraries, kernels, operators), from its export report."""
        return {"libraries": [self.name]}

    def tolerance(self, precision: str) -> float | None:
        """Max abs logit difference against the fp32 student; None where accuracy gates instead."""
        return {"fp32": self.fp32_tolerance, "fp16": self.fp16_tolerance}.get(precision)

    def recipes(self, profile: DeviceProfile) -> list[Recipe]:
        """Candidate recipes for this profile (its precisions only), in the order they should be tried."""
        candidates = [self.recipe(name, profile) for name in self.default_recipes]
        return [recipe for recipe in candidates if recipe.precision in profile.precisions]

    def recipe(self, name: str, profile: DeviceProfile) -> Recipe:
        """Any recipe this backend knows, by name, with the profile's settings."""
        if name not in self.recipe_descriptions:
            raise UserError(f"unknown {self.name} recipe {name!r}; available: {', '.join(self.recipe_descriptions)}")
        return self.build_recipe(name, profile)

    @abstractmethod
    def build_recipe(self, name: str, profile: DeviceProfile) -> Recipe:
        """The Recipe for a known `name` under `profile`."""

    def options(self, profile: DeviceProfile) -> Any:
        """The profile's typed table for this runtime, or the defaults when it has none."""
        return profile.runtime_options.get(self.name) or (self.options_type() if self.options_type else {})

    @abstractmethod
    def export(self, inputs: ExportInputs, recipe: Recipe) -> ExportResult:
        """Build the artifact for `recipe` under `inputs.work_dir`."""

    @abstractmethod
    def load(self, artifact: Path, threads: int) -> Session:
        """Load an artifact in the real runtime; set threads before loading."""

    def import_runtime(self) -> None:
        """Import the runtime's Python modules, so a timed `load` measures the model and not the import."""

    def available(self) -> str | None:
        """None when the runtime can be used here, else a one-line fix (e.g. the install command)."""
        return None
