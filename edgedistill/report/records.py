"""What a report reads: every export_report.json under a folder, and the check results beside each (no torch).

An `edgedistill run` folder holds one export folder per profile; a folder of plain `edgedistill export` outputs
works as well. Bundle paths are taken relative to their export folder, so a run folder may be moved or copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.check.latency import DISTRIBUTION_PERCENTILES, LatencyDistribution
from edgedistill.errors import UserError
from edgedistill.export.pipeline import REPORT_FILE
from edgedistill.fsutil import inside
from edgedistill.jsonio import read_json
from edgedistill.report.fields import Fields, is_number
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


_STATUSES = ("kept", "accepted", "rejected", "skipped")
# The figures of a candidate's metrics that the report reads, below the task metric's own (and its reference's).
_FIGURES = ("agreement", "macro_f1", "max_abs_logit_diff", "size_bytes", "peak_rss_mb")
_LATENCIES = ("load", "first", "p50", "p90", "p99")


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
    payloads = [(path, Fields(read_json(path, "export report"), str(path))) for path in reports]
    students = {fields.text("student") for _, fields in payloads}
    return [_read_export(path, fields, several_students=len(students) > 1) for path, fields in payloads]


def _read_export(path: Path, report: Fields, several_students: bool) -> ExportRecord:
    checks_path = path.with_name(CHECKS_FILE)
    checks = _read_checks(checks_path) if checks_path.is_file() else {}
    profile, student = report.text("profile") or "?", report.text("student") or "?"
    group = f"{profile} / {Path(student).name}" if several_students else profile
    # Reports written before token classifiers name no metric: they are all accuracy.
    metric = report.choice("metric", tuple(sorted(TASK_METRICS.values()))) or TASK_METRICS[SEQUENCE_TASK]
    budgets = report.table("budgets")
    if budgets is not None:
        budgets.number("p90_latency_ms")
    runtimes = [_read_runtime(path.parent, group, metric, name, Fields(outcome, str(path), f"runtimes.{name}"), checks)
                for name, outcome in report.table("runtimes", required=True).entries()]
    return ExportRecord(path.parent, group, profile, student, metric, report.number(f"reference_{metric}"),
                        budgets.value if budgets is not None else {}, runtimes)


def _read_checks(path: Path) -> dict[str, dict[str, Any]]:
    """`check --json` reports by bundle folder name, each checked as far as the report reads it."""
    checks = Fields(read_json(path, "check results"), str(path))
    return {name: _read_check(Fields(report, str(path), name)) for name, report in checks.entries()}


def _read_check(check: Fields) -> dict[str, Any]:
    check.flag("passed")
    gates = check.table("gates")
    for gate, _ in gates.entries() if gates is not None else ():
        gates.flag(gate)
    return check.value


def _read_runtime(folder: Path, group: str, metric: str, runtime: str, outcome: Fields,
                  checks: dict[str, Any]) -> RuntimeRecord:
    named = outcome.text("bundle")
    bundle = inside(folder, Path(named).name) if named else None
    check = checks.get(bundle.name) if bundle is not None else None
    export_check = outcome.table("check")
    candidates = [_read_candidate(group, metric, runtime,
                                  Fields(entry, outcome.where, f"{outcome.field}.candidates[{i}]"))
                  for i, entry in enumerate(outcome.items("candidates"))]
    return RuntimeRecord(runtime, candidates, bundle, outcome.text("error"),
                         _read_check(export_check) if export_check is not None else {}, check)


def _read_candidate(group: str, metric: str, runtime: str, entry: Fields) -> CandidateRecord:
    metrics = entry.table("metrics") or Fields({}, entry.where, f"{entry.field}.metrics")
    for key in (metric, f"reference_{metric}", *_FIGURES):
        metrics.number(key)
    for split, keys in (("validation", (metric, f"reference_{metric}")), ("unlabelled", ("agreement",))):
        table = metrics.table(split)
        for key in keys if table is not None else ():
            table.number(key)
    latency = metrics.table("latency_ms")
    if latency is not None:  # a measured candidate: the plots place it by its p90 and its score
        for key in _LATENCIES:
            latency.number(key, required=key == "p90")
        metrics.number(metric, required=True)
    distribution = entry.table("latency_distribution")  # absent from reports written before it was recorded
    return CandidateRecord(
        group=group, metric=metric, runtime=runtime, recipe=entry.text("recipe", required=True),
        precision=entry.text("precision") or "?", status=entry.choice("status", _STATUSES) or "?",
        reason=entry.text("reason"), export_s=entry.number("export_s") or 0.0, metrics=metrics.value,
        distribution=_read_distribution(distribution) if distribution is not None else None)


def _read_distribution(distribution: Fields) -> LatencyDistribution:
    where = f"{distribution.where}: {distribution.field}"
    read = from_mapping(LatencyDistribution, distribution.value, where)
    if (len(read.ms) != len(read.percentiles) or not set(DISTRIBUTION_PERCENTILES) <= set(read.percentiles)
            or not all(is_number(value) for value in read.ms)):
        raise UserError(f"{where} must give a finite time in ms for each of the percentiles "
                        f"{', '.join(map(str, DISTRIBUTION_PERCENTILES))}")
    return read
