"""The bundle manifest: what an artifact is, how it was built, and what it measured.

`files` maps every other file in the bundle to its sha256 and size, so a copied bundle can be
verified before it is trusted. The schema is versioned; readers refuse newer ones and read older ones:
- schema 4 adds `task` (what the model does, the metric its figures are about, its labels or tags, and how a token
  classifier's outputs map to words); older manifests are read as text classifiers judged by accuracy;
- schema 3 adds `tokenizer` (the exact settings inputs are made with) and `model_card`, and requires
  `requirements` and `created_at`;
- schema 2 manifests are read with `tokenizer` and `model_card` None, checked against manifest-v2.json;
- schema 1 recorded only the sha256 (`{name: digest}`); it is read with sizes unknown.
"""

from __future__ import annotations

import dataclasses
import platform
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from edgedistill.bundle.schema import (
    MANIFEST_SCHEMA_VERSION,
    MANIFEST_SCHEMAS,
    check_against_schema,
)
from edgedistill.data.dataset import DataSpec
from edgedistill.errors import UserError
from edgedistill.fsutil import sha256_file
from edgedistill.profiles import PRECISIONS, Budgets, SequencePolicy
from edgedistill.tasks.kinds import (
    SEQUENCE_TASK,
    TASK_METRICS,
    TOKEN_TASK,
    WORD_ALIGNMENT,
)
from edgedistill.typed_config import from_mapping

SCHEMA_VERSION = MANIFEST_SCHEMA_VERSION
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"  # beside the manifest, never listed in it (see bundle/signing.py)
REQUIRED_FILES = ("tokenizer.json", "labels.json", "golden.json")
METRIC_KEYS = ("agreement", "max_abs_logit_diff", "size_bytes", "latency_ms", "peak_rss_mb")
LATENCY_KEYS = ("load", "first", "p50", "p90", "p99")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# Packages whose versions decide what any artifact contains; each runtime adds its own (Target.packages).
_CORE_PACKAGES = ("edgedistill", "torch", "transformers", "tokenizers", "numpy")


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int | None  # None only in schema 1 manifests


def file_entry(path: Path) -> FileEntry:
    """The manifest entry for a file as it is on disk now."""
    return FileEntry(sha256=sha256_file(path), size=Path(path).stat().st_size)


@dataclass(frozen=True)
class Manifest:
    name: str
    target: str
    runtime: str
    precision: str
    model: str
    quantization: dict[str, Any]
    files: dict[str, FileEntry]
    toolchain: dict[str, Any]
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    sequence: dict[str, Any]
    threads: int
    cpu_affinity: list[int]
    data: dict[str, Any]
    budgets: dict[str, Any]
    export_report: dict[str, Any]
    metrics: dict[str, Any]
    created_at: str = ""
    schema_version: int = SCHEMA_VERSION
    # What an app must link to run the model: libraries, kernels or operators, signatures or methods.
    requirements: dict[str, Any] = dataclasses.field(default_factory=dict)
    # How the bundle's tokenizer makes the inputs (text/settings.py), and a short model card; None before schema 3.
    tokenizer: dict[str, Any] | None = None
    model_card: dict[str, Any] | None = None
    # What the model does and the metric it is judged by (task_record); None before schema 4 (a text classifier).
    task: dict[str, Any] | None = None

    @property
    def task_kind(self) -> str:
        return self.task["kind"] if self.task else SEQUENCE_TASK

    @property
    def metric(self) -> str:
        """The metric `metrics`, the gates and the reports are about: accuracy or entity_f1."""
        return TASK_METRICS[self.task_kind]

    def sequence_policy(self) -> SequencePolicy:
        """The sequence policy inputs are padded by (validated when the manifest was parsed)."""
        return from_mapping(SequencePolicy, self.sequence, f"{self.name} manifest sequence")

    def budget_limits(self) -> Budgets:
        """The budgets the artifact is held to (validated when the manifest was parsed)."""
        return from_mapping(Budgets, self.budgets, f"{self.name} manifest budgets")

    def to_dict(self) -> dict[str, Any]:
        """The manifest as written; fields a schema version did not have yet (None here) are left out."""
        return {"schema_version": self.schema_version,
                **{k: v for k, v in dataclasses.asdict(self).items()
                   if k != "schema_version" and not (k in ("tokenizer", "model_card", "task") and v is None)}}


def task_record(task: str, labels: list[str]) -> dict[str, Any]:
    """The manifest's `task`: kind, metric, labels in logit order, and the word alignment of a token classifier."""
    return {"kind": task, "metric": TASK_METRICS[task], "labels": list(labels),
            "alignment": WORD_ALIGNMENT if task == TOKEN_TASK else None}


def toolchain_versions(runtime_packages: tuple[str, ...]) -> dict[str, Any]:
    """Installed versions of the packages that built this artifact (absent ones left out)."""
    versions: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    for package in _CORE_PACKAGES + tuple(runtime_packages):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def tensor_specs(input_names: list[str], fixed_length: int | None, num_labels: int,
                 per_token: bool = False) -> tuple[list[dict], list[dict]]:
    """Input/output specs; static-shape artifacts are built at batch 1, dynamic ones name their axes. A token
    classifier's logits have a row per position: [batch, sequence, tags]."""
    batch: int | str = 1 if fixed_length else "batch"
    sequence: int | str = fixed_length or "sequence"
    inputs = [{"name": name, "dtype": "int64", "shape": [batch, sequence]} for name in input_names]
    shape = [batch, sequence, num_labels] if per_token else [batch, num_labels]
    outputs = [{"name": "logits", "dtype": "float32", "shape": shape}]
    return inputs, outputs


def parse_manifest(mapping: Any, where: str) -> Manifest:
    """Validate a manifest mapping; every problem is a one-line UserError naming `where`."""
    if not isinstance(mapping, dict):
        raise UserError(f"{where}: a manifest must be a JSON object")
    version = mapping.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise UserError(f"{where}: missing schema_version; this is not an edgedistill bundle manifest")
    if version > SCHEMA_VERSION:
        raise UserError(f"{where}: schema_version {version} is newer than this edgedistill reads "
                        f"({SCHEMA_VERSION}); upgrade edgedistill")
    if version < 1:
        raise UserError(f"{where}: schema_version {version} is not a version edgedistill ever wrote")
    missing = [f.name for f in dataclasses.fields(Manifest)
               if f.name not in mapping and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise UserError(f"{where}: missing field {missing[0]!r}")
    manifest = from_mapping(Manifest, mapping, where)
    manifest = dataclasses.replace(manifest, files={name: _file_entry(name, value, version, where)
                                                    for name, value in manifest.files.items()})
    for name in (manifest.model, *REQUIRED_FILES):
        if name not in manifest.files:
            raise UserError(f"{where}: files does not list {name!r}")
    _check_task(manifest.task, where)
    _check_metrics(manifest.metrics, manifest.metric, where)
    _check_settings(manifest, where)
    if version in MANIFEST_SCHEMAS:
        check_against_schema(mapping, where, MANIFEST_SCHEMAS[version])
    return manifest


def _file_entry(name: str, value: Any, version: int, where: str) -> FileEntry:
    if name in ("", ".", "..", MANIFEST_FILE, SIGNATURE_FILE) or "/" in name or "\\" in name or not name.isprintable():
        raise UserError(f"{where}: files lists an invalid name {name!r}")
    if version == 1 and isinstance(value, str):
        value = {"sha256": value, "size": None}
    entry = from_mapping(FileEntry, value, f"{where}: files[{name!r}]")
    if not _SHA256.fullmatch(entry.sha256):
        raise UserError(f"{where}: files[{name!r}].sha256 is not a sha256 hex digest")
    if version > 1 and (entry.size is None or entry.size < 0):
        raise UserError(f"{where}: files[{name!r}].size must be a whole number of bytes (got {entry.size!r})")
    return entry


def _check_task(task: Any, where: str) -> None:
    """A schema 4 task names a kind edgedistill knows (the schema checks the rest)."""
    if task is not None and (not isinstance(task, dict) or task.get("kind") not in TASK_METRICS):
        kind = task.get("kind") if isinstance(task, dict) else task
        raise UserError(f"{where}: task.kind {kind!r} is not one of {', '.join(TASK_METRICS)}")


def _check_metrics(metrics: dict[str, Any], metric: str, where: str) -> None:
    missing = [key for key in (metric, f"reference_{metric}", f"teacher_{metric}", *METRIC_KEYS) if key not in metrics]
    if missing:
        raise UserError(f"{where}: metrics lacks {missing[0]!r}")
    latency = metrics["latency_ms"]
    if not isinstance(latency, dict) or any(key not in latency for key in LATENCY_KEYS):
        raise UserError(f"{where}: metrics.latency_ms needs {', '.join(LATENCY_KEYS)}")
    for key in (metric, f"reference_{metric}"):
        value = metrics[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise UserError(f"{where}: metrics.{key} must be a number between 0 and 1 (got {value!r})")
    if isinstance(metrics["size_bytes"], bool) or not isinstance(metrics["size_bytes"], int) or metrics["size_bytes"] < 0:
        raise UserError(f"{where}: metrics.size_bytes must be a whole number of bytes (got {metrics['size_bytes']!r})")


def _check_settings(manifest: Manifest, where: str) -> None:
    """The settings check and bench run with, held to the same ranges a device profile's are."""
    if manifest.threads < 1 or any(core < 0 for core in manifest.cpu_affinity):
        raise UserError(f"{where}: threads must be at least 1 and cpu_affinity lists cores from 0 "
                        f"(got {manifest.threads} and {manifest.cpu_affinity})")
    if manifest.precision not in PRECISIONS:
        raise UserError(f"{where}: precision {manifest.precision!r} is not one of {', '.join(PRECISIONS)}")
    manifest.sequence_policy().validate(f"{where} sequence")
    manifest.budget_limits().validate(f"{where} budgets")
    from_mapping(DataSpec, manifest.data, f"{where} data")
