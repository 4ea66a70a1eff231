"""The manifest of a kept trial's bundle: what it is, what built it, how it was measured, and its model card."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from edgedistill.bundle.manifest import SCHEMA_VERSION, task_record, tensor_specs, toolchain_versions
from edgedistill.bundle.writer import bundle_name
from edgedistill.export.model_card import model_card
from edgedistill.export.reference import Prepared
from edgedistill.export.trials import Trial
from edgedistill.modeldir import read_data_spec, read_metrics
from edgedistill.profiles import DeviceProfile, host_isa
from edgedistill.targets.base import Target
from edgedistill.tasks.kinds import TOKEN_TASK


def bundle_manifest(target: Target, profile: DeviceProfile, prepared: Prepared, trial: Trial,
                    selection: dict[str, Any]) -> dict[str, Any]:
    """The manifest for `trial`'s artifact; `selection` says how the recipes were ranked."""
    recipe, result, measurement = trial.candidate.recipe, trial.result, trial.measurement
    scoring = prepared.scoring
    inputs, outputs = tensor_specs(measurement.input_names, measurement.fixed_length, len(scoring.labels),
                                   per_token=scoring.task == TOKEN_TASK)
    # Every figure here comes from this host; an Arm check adds its own under "arm64" (self_check.py).
    metrics = {**measurement.metrics, f"teacher_{scoring.metric}": _teacher_score(prepared.student_dir, scoring.metric),
               "measured_on": host_isa(), "arm64": None}
    return {
        "schema_version": SCHEMA_VERSION,
        "name": bundle_name(prepared.student_dir.name, target.name, recipe.name), "target": profile.name,
        "runtime": target.name, "precision": recipe.precision, "task": task_record(scoring.task, scoring.labels),
        "quantization": {"recipe": recipe.name, "description": recipe.description, "options": recipe.options_record()},
        "toolchain": {**toolchain_versions(target.packages), **result.report.get("toolchain", {})},
        "inputs": inputs, "outputs": outputs,
        "sequence": dataclasses.asdict(profile.sequence), "threads": profile.threads,
        "cpu_affinity": list(profile.cpu_affinity),
        "data": read_data_spec(prepared.student_dir).to_dict(),
        "budgets": dataclasses.asdict(profile.budgets),
        "export_report": {**result.report, "export_s": round(trial.export_s, 3), "selection": selection},
        "requirements": target.app_requirements(result.report),
        "metrics": metrics,
        "model_card": model_card(prepared.student_dir, prepared.splits, metrics, recipe.precision,
                                 profile.sequence.longest, prepared.pruning, prepared.card_text),
    }


def _teacher_score(student_dir: Path, metric: str) -> float | None:
    """The teacher's test figure of `metric` that distill recorded, if any."""
    if not (student_dir / "metrics.json").is_file():
        return None
    teacher = read_metrics(student_dir).get("teacher")
    return teacher.get(metric) if isinstance(teacher, dict) else None
