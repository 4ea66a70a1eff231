"""Trials: build each recipe's artifact, reload it in its runtime, measure it, and judge it once.

A converter crash rejects its recipe and the others go on; QAT, minutes of fine-tuning, runs only when no cheaper
recipe of its precision is within budget.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.errors import first_line
from edgedistill.export.measure import Measurement, measure_artifact
from edgedistill.progress import say
from edgedistill.export.reference import Prepared
from edgedistill.export.selection import Candidate, Verdict, judge
from edgedistill.modeldir import DISTILL_FILE, read_distill_record
from edgedistill.profiles import DeviceProfile
from edgedistill.targets.base import ExportInputs, ExportResult, Recipe, Target


@dataclass
class Trial:
    """One recipe's export, measurement and verdict (result and measurement are None when it failed)."""

    verdict: Verdict
    export_s: float
    result: ExportResult | None = None
    measurement: Measurement | None = None

    @property
    def candidate(self) -> Candidate:
        return self.verdict.candidate

    def report_entry(self) -> dict[str, Any]:
        """The trial as export_report.json lists it (selection later marks the kept one and why others lost)."""
        recipe, reason = self.candidate.recipe, self.verdict.rejection
        distribution = dataclasses.asdict(self.measurement.latency_distribution) if self.measurement else None
        gate = self.verdict.gate
        return {"recipe": recipe.name, "precision": recipe.precision, "description": recipe.description,
                "status": "rejected" if reason else "accepted", "reason": reason, "export_s": round(self.export_s, 3),
                "metrics": self.candidate.metrics, "accuracy_gate": gate.record() if gate else None,
                "latency_distribution": distribution}


def run_trials(target: Target, profile: DeviceProfile, prepared: Prepared, inputs: ExportInputs,
               recipes: list[Recipe]) -> tuple[list[Trial], list[dict[str, Any]]]:
    """Each recipe's trial in order, and the report entries of the QAT recipes skipped."""
    trials: list[Trial] = []
    skipped = []
    for recipe in recipes:
        passed = _passing_recipe(trials, recipe.precision)
        if recipe.needs_teacher and passed is not None:
            # QAT costs minutes of fine-tuning; it exists for when the cheaper recipes miss the budget.
            say(f"{target.name} {recipe.name}: skipped, {passed} already meets the budget at {recipe.precision}")
            skipped.append(_skipped_entry(recipe, f"{passed} already within budget at {recipe.precision}"))
            continue
        recipe_inputs = dataclasses.replace(inputs, teacher_logits=qat_teacher_logits(prepared, recipe, profile))
        trials.append(_try_recipe(target, profile, prepared, recipe_inputs, recipe))
    return trials, skipped


def _try_recipe(target: Target, profile: DeviceProfile, prepared: Prepared, inputs: ExportInputs, recipe: Recipe) -> Trial:
    """Export one recipe and measure it; a failure becomes a rejected candidate, not an abort."""
    say(f"{target.name} {recipe.name}: exporting ({recipe.description})", "bold")
    work_dir = inputs.work_dir / recipe.name
    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        result = target.export(dataclasses.replace(inputs, work_dir=work_dir), recipe)
        export_s = time.perf_counter() - started
        measurement = measure_artifact(target, result.artifact, profile, prepared.student_dir / "tokenizer.json",
                                       prepared.scoring, prepared.splits.validation, prepared.splits.test,
                                       prepared.unlabelled.texts, prepared.reference_for)
    except Exception as exc:  # a converter crash rejects this recipe; the others may still pass
        error = f"{type(exc).__name__}: {first_line(exc)}"
        say(f"  failed: {error}", "red")
        failed = Candidate(recipe, error=error)
        return Trial(judge(failed, profile.budgets), time.perf_counter() - started)
    candidate = Candidate(recipe, measurement.metrics,
                          prior_drop_points=prepared.pruning["validation_cost_points"] if prepared.pruning else 0.0,
                          drop_estimate=measurement.drop_estimate)
    verdict = judge(candidate, profile.budgets)
    m, metric = measurement.metrics, candidate.metric
    on_validation = m["validation"]
    interval = on_validation.get("accuracy_drop_ci95_points")
    spread = f", drop 95% CI [{interval[0]:.2f}, {interval[1]:.2f}] pt" if interval else ""
    expected = f", {candidate.drop_estimate.summary()}" if candidate.drop_estimate else ""
    say(f"  validation {metric} {on_validation[metric]:.2%} (fp32 {on_validation[f'reference_{metric}']:.2%}{spread})"
        f"{expected}, test {m[metric]:.2%} (fp32 {m[f'reference_{metric}']:.2%}), agreement {m['agreement']:.2%}, "
        f"p50 {m['latency_ms']['p50']:.2f} ms, {m['size_bytes'] / 1e6:.2f} MB, export {export_s:.1f} s → "
        + (f"rejected: {verdict.rejection}" if verdict.rejection else "accepted"), "red" if verdict.rejection else None)
    return Trial(verdict, export_s, result, measurement)


def _passing_recipe(trials: list[Trial], precision: str) -> str | None:
    """The name of a tried recipe of `precision` that met the budgets, if any."""
    return next((trial.candidate.recipe.name for trial in trials
                 if trial.candidate.recipe.precision == precision and trial.verdict.accepted), None)


def _skipped_entry(recipe: Recipe, reason: str) -> dict[str, Any]:
    return {"recipe": recipe.name, "precision": recipe.precision, "description": recipe.description,
            "status": "skipped", "reason": reason, "export_s": 0.0, "metrics": {}}


def qat_teacher_logits(prepared: Prepared, recipe: Recipe, profile: DeviceProfile) -> np.ndarray | None:
    """Cached teacher logits on the train split, for a QAT recipe of a distilled student."""
    config = read_distill_record(prepared.student_dir) if recipe.needs_teacher else {}
    if not config:
        return None
    teacher = Path(str(config.get("teacher", "")))
    if not (teacher / "config.json").is_file():
        say(f"teacher {teacher} from {prepared.student_dir / DISTILL_FILE} not found; QAT falls back to hard labels",
            "yellow")
        return None
    from edgedistill.distill.teacher_cache import teacher_logits

    max_length = int(config.get("max_length", profile.sequence.longest))
    return teacher_logits(teacher, prepared.splits.train.texts, max_length)
