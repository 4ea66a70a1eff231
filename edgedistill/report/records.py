"""What a report reads: every export_report.json under a folder, and the check results beside each (no torch).

An `edgedistill run` folder holds one export folder per profile; a folder of plain `edgedistill export` outputs
works as well. Bundle paths are taken relative to their export folder, so a run folder may be moved or copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.check.latency import LatencyDistribution
from edgedistill.errors import UserError
from edgedistill.export.pipeline import REPORT_FILE
from edgedistill.fsutil import inside
from edgedistill.jsonio import read_json
from edgedistill.tasks.kinds import SEQUENCE_TASK, TASK_METRICS
from edgedistill.typed_config import from_mapping

# `edgedistill check --json` reports of an export folder's bundles, by bundle folder name, beside its export report.
CHECKS_FILE = "checks.json"
# Export folders deeper than this below the report's folder are not looked for.
_MAX_DEPTH = 4


@dataclass(frozen=True)
class CandidateRecord:
    """One recipe tried for one runtime of one profile, and the gate's decision on it."""

    group: str  # the export it belongs to: its profile, plus the student where a folder holds several
    metric: str  # the export's task metric: accuracy, or entity_f1 for a token classifier
    runtime: str
    recipe: str
    precision: str
    status: str  # kept, accepted, rejected or skipped
    reason: str | None
    export_s: float
    metrics: dict[str, Any]
    distribution: LatencyDistribution | None

    @property
    def label(self) -> str:
        return f"{self.group} · {self.runtime} {self.recipe}"

    @property
    def measured(self) -> bool:
        return "latency_ms" in self.metrics

    @property
    def kept(self) -> bool:
        return self.status == "kept"

    def figure(self, *path: str) -> float | None:
        """A number from the candidate's metrics by key path (`figure("latency_ms", "p90")`), None when absent."""
        value: Any = self.metrics
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def score(self, *split: str) -> float | None:
        """The task metric on the test split, or on `split` ("validation")."""
        return self.figure(*split, self.metric)

    def reference_score(self, *split: str) -> float | None:
        """The fp32 student's task metric on the same inputs."""
        return self.figure(*split, f"reference_{self.metric}")


@dataclass(frozen=True)
class RuntimeRecord:
    """One runtime of one export: its candidates, the bundle it kept (if any) and that bundle's checks."""

    runtime: str
    candidates: list[CandidateRecord]
    bundle: Path | None
    error: str | None
    export_check: dict[str, Any]  # the check export ran before placing the bundle
    check: dict[str, Any] | None  # a later `check` of the placed bundle, when one was recorded


@dataclass(frozen=True)
class ExportRecord:
    """One export_report.json: a student exported for one device profile."""

    folder: Path
    group: str
    profile: str
    student: str
    metric: str  # what every score of this export is: accuracy, or entity_f1
    reference_score: float | None  # the fp32 student's test score
    budgets: dict[str, Any]
    runtimes: list[RuntimeRecord]


def read_exports(folder: Path) -> list[ExportRecord]:
    """Every export report under `folder`, ordered by path; an error when there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"run directory {folder} not found")
    reports = sorted(path for path in folder.rglob(REPORT_FILE)
                     if len(path.relative_to(folder).parts) <= _MAX_DEPTH
                     and not any(part.startswith(".") for part in path.relative_to(folder).parts))
    if not reports:
        raise UserError(f"{folder} holds no {REPORT_FILE}; pass a folder written by `edgedistill run` or `export`")
    payloads = [(path, read_json(path, "export report")) for path in reports]
    students = {payload.get("student") for _, payload in payloads if isinstance(payload, dict)}
    return [_read_export(path, payload, several_students=len(students) > 1) for path, payload in payloads]


def _read_export(path: Path, payload: Any, several_students: bool) -> ExportRecord:
    if not isinstance(payload, dict) or not isinstance(payload.get("runtimes"), dict):
        raise UserError(f"{path} is not an export report written by `edgedistill export`")
    checks_path = path.with_name(CHECKS_FILE)
    checks = read_json(checks_path, "check results") if checks_path.is_file() else {}
    profile, student = str(payload.get("profile", "?")), str(payload.get("student", "?"))
    group = f"{profile} / {Path(student).name}" if several_students else profile
    # Reports written before token classifiers name no metric: they are all accuracy.
    metric = payload.get("metric", TASK_METRICS[SEQUENCE_TASK])
    if metric not in TASK_METRICS.values():
        raise UserError(f"{path}: unknown metric {metric!r}; known: {', '.join(sorted(TASK_METRICS.values()))}")
    runtimes = [_read_runtime(path.parent, group, metric, name, outcome, checks, str(path))
                for name, outcome in payload["runtimes"].items()]
    return ExportRecord(path.parent, group, profile, student, metric, payload.get(f"reference_{metric}"),
                        payload.get("budgets") or {}, runtimes)


def _read_runtime(folder: Path, group: str, metric: str, runtime: str, outcome: Any, checks: dict[str, Any],
                  where: str) -> RuntimeRecord:
    if not isinstance(outcome, dict) or not isinstance(outcome.get("candidates"), list):
        raise UserError(f"{where}: runtimes.{runtime} has no candidates list")
    bundle = inside(folder, Path(outcome["bundle"]).name) if outcome.get("bundle") else None
    check = checks.get(bundle.name) if bundle is not None and isinstance(checks, dict) else None
    candidates = [_read_candidate(group, metric, runtime, entry, f"{where}: runtimes.{runtime}")
                  for entry in outcome["candidates"]]
    return RuntimeRecord(runtime, candidates, bundle, outcome.get("error"), outcome.get("check") or {}, check)


def _read_candidate(group: str, metric: str, runtime: str, entry: Any, where: str) -> CandidateRecord:
    if not isinstance(entry, dict) or "recipe" not in entry:
        raise UserError(f"{where}: a candidate without a recipe name")
    distribution = entry.get("latency_distribution")  # absent from reports written before it was recorded
    return CandidateRecord(
        group=group, metric=metric, runtime=runtime, recipe=str(entry["recipe"]), precision=str(entry.get("precision", "?")),
        status=str(entry.get("status", "?")), reason=entry.get("reason"), export_s=float(entry.get("export_s") or 0.0),
        metrics=entry.get("metrics") or {},
        distribution=from_mapping(LatencyDistribution, distribution, f"{where}: latency_distribution")
        if distribution else None)
