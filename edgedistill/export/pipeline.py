"""`edgedistill export`: student → one verified bundle per runtime of a device profile.

A straight line: load the profile and student → encode the test split and compute the
fp32 reference once (reference.py) → for each recipe, export, reload in the real runtime,
measure and judge it (trials.py) → keep the fastest recipe within budget (selection.py) →
write its bundle atomically, checked before it is placed (manifest.py, self_check.py) →
write export_report.json listing every candidate and why the others lost. The libraries' own
warnings go to OUT/warnings.log rather than the screen (third_party.py).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.bundle.reader import is_written_bundle
from edgedistill.bundle.writer import bundle_name, write_bundle
from edgedistill.check.device_results import DeviceLatencies, device_latencies
from edgedistill.errors import UserError
from edgedistill.export.manifest import bundle_manifest
from edgedistill.export.model_card import CardText, load_card_text
from edgedistill.progress import say
from edgedistill.export.reference import Prepared, prepare
from edgedistill.export.selection import (
    Candidate,
    NoRecipePassed,
    Ranking,
    ranked_below_reason,
    ranking_for,
    select_recipe,
)
from edgedistill.export.self_check import FailedItsOwnCheck, arm_check_for, check_before_placing
from edgedistill.export.trials import Trial, run_trials
from edgedistill.fsutil import check_name, inside, require_apart, require_directory_path, require_replaceable
from edgedistill.jsonio import jsonable, write_json
from edgedistill.modeldir import require_model_dir
from edgedistill.profiles import DeviceProfile, exceeds_drop_budget, host_isa
from edgedistill.targets.base import ExportInputs, Recipe, Target
from edgedistill.targets.registry import get_target, load_profile, with_converter
from edgedistill.tasks.kinds import METRIC_NAMES
from edgedistill.third_party import LOG_FILE, to_log

REPORT_FILE = "export_report.json"


@dataclass
class ExportRequest:
    student_dir: Path
    profile: str
    out_dir: Path
    runtime: str | None = None
    calibration: str | None = None
    converter: str | None = None
    # Try exactly these recipes instead of the backend's defaults (needs a single runtime).
    recipes: list[Recipe] | None = None
    # Export a copy of the student whose vocabulary keeps only what its training and transfer texts use.
    prune_vocab: bool = False
    # With prune_vocab: how many times the task's texts must produce a token for it to stay.
    prune_min_count: int = 1
    # The model card's intended use and known limits (export/model_card.py); without it they are generated.
    model_card: Path | None = None
    # `bench --out` results from the profile's device: where the host is not that device, they rank the recipes.
    device_results: list[Path] = dataclasses.field(default_factory=list)
    # Check an arm64 profile's kept bundle on Arm kernels under qemu when the arm64 env is built (minutes per bundle).
    arm_check: bool = True
    # Show the libraries' warnings on screen as well; they always go to OUT/warnings.log.
    verbose: bool = False


def run_export(request: ExportRequest) -> dict[str, Any]:
    """Export, measure and select per runtime; raise after writing the report if a runtime kept nothing."""
    started = time.perf_counter()
    profile, targets = _profile_and_targets(request)
    student_dir = _require_student(Path(request.student_dir))
    _require_writable(request, profile, targets, student_dir)  # before minutes of conversion, not after them
    with to_log(inside(Path(request.out_dir), LOG_FILE), request.verbose):
        return _export_request(request, profile, targets, student_dir, started)


def _export_request(request: ExportRequest, profile: DeviceProfile, targets: list[Target], student_dir: Path,
                    started: float) -> dict[str, Any]:
    """Export the student, or first a copy with a pruned vocabulary, once the request has been checked."""
    card_text = load_card_text(request.model_card)
    if request.prune_min_count != 1 and not request.prune_vocab:
        raise UserError("--prune-min-count applies with --prune-vocab; pass both")
    on_device = device_latencies(request.device_results, profile.name)
    if on_device.other_profiles:
        say(f"device results benched for other profiles, left out of {profile.name}'s ranking: "
            f"{', '.join(on_device.other_profiles)}", "yellow")
    if not request.prune_vocab:
        return _export_student(request, profile, targets, student_dir, None, card_text, on_device, started)
    from edgedistill.model.vocab_prune import prune_student

    with tempfile.TemporaryDirectory(prefix="edgedistill-pruned-") as scratch:
        pruned = Path(scratch) / student_dir.name  # bundles keep the student's name
        say(f"pruning the vocabulary of {student_dir}")
        pruning = prune_student(student_dir, pruned, min_count=request.prune_min_count)
        metric, cost = pruning["metric"], pruning["validation_cost_points"]
        name = METRIC_NAMES[metric]
        say(f"kept {pruning['tokens_after']:,} of {pruning['tokens_before']:,} tokens; "
            f"{pruning['held_out_unknown_share_after']:.2%} of held-out tokens become [UNK] "
            f"({pruning['held_out_unknown_share_before']:.2%} before); validation {name} "
            f"{pruning[f'validation_{metric}_before']:.2%} -> {pruning[f'validation_{metric}_after']:.2%}, test "
            f"{pruning[f'test_{metric}_before']:.2%} -> {pruning[f'test_{metric}_after']:.2%}")
        if exceeds_drop_budget(cost, profile.budgets):
            raise UserError(f"pruning the vocabulary costs {cost:.2f} validation {name} points, over {profile.name}'s "
                            f"budget of {profile.budgets.max_accuracy_drop:g}; export without --prune-vocab")
        return _export_student(request, profile, targets, pruned, {"student": str(student_dir), **pruning}, card_text,
                               on_device, started)


def _export_student(request: ExportRequest, profile: DeviceProfile, targets: list[Target], student_dir: Path,
                    pruning: dict[str, Any] | None, card_text: CardText, on_device: DeviceLatencies,
                    started: float) -> dict[str, Any]:
    """Export `student_dir` (the student, or its pruned copy) to every target and write the report."""
    out_dir = Path(request.out_dir)
    prepared = dataclasses.replace(prepare(student_dir, profile, request.calibration), card_text=card_text,
                                   pruning=pruning)
    report: dict[str, Any] = {
        "student": pruning["student"] if pruning else str(student_dir), "profile": profile.name,
        "out_dir": str(out_dir), "vocab_prune": pruning,
        "test_examples": len(prepared.splits.test), "task": prepared.scoring.task, "metric": prepared.scoring.metric,
        f"reference_{prepared.scoring.metric}": prepared.reference_score,
        "calibration": {"source": request.calibration or "train split", "texts": len(prepared.calibration)},
        "agreement_texts": prepared.unlabelled.record(),
        "budgets": dataclasses.asdict(profile.budgets), "runtimes": {},
        "device_results": [str(path) for path in request.device_results],
    }
    failures = []
    for target in targets:
        outcome = _export_runtime(target, profile, prepared, out_dir, request.recipes, on_device, request.arm_check)
        report["runtimes"][target.name] = outcome
        if outcome["bundle"] is None:
            failures.append(f"{target.name}: {outcome['error']}")
    report["total_s"] = round(time.perf_counter() - started, 2)
    write_json(inside(out_dir, REPORT_FILE), jsonable(report))
    if failures:
        raise UserError(f"no bundle written for {'; '.join(failures)} (details in {out_dir / REPORT_FILE})")
    return report


def _export_runtime(target: Target, profile: DeviceProfile, prepared: Prepared, out_dir: Path,
                    explicit: list[Recipe] | None, on_device: DeviceLatencies, arm_check: bool) -> dict[str, Any]:
    """Try each recipe, keep the fastest within budget, check its bundle and write it."""
    recipes = explicit if explicit is not None else _default_recipes(target, profile)
    with tempfile.TemporaryDirectory(prefix=f"edgedistill-{target.name}-") as scratch:
        inputs = ExportInputs(student_dir=prepared.student_dir, profile=profile, work_dir=Path(scratch),
                              calibration_texts=prepared.calibration, train=prepared.splits.train)
        trials, skipped = run_trials(target, profile, prepared, inputs, recipes)
        entries = [trial.report_entry() for trial in trials] + skipped
        ranking = ranking_for(profile, device_p50_ms=on_device.p50_ms.get(target.name), devices=on_device.devices)
        selection = {"basis": ranking.basis, "note": ranking.note, "host_isa": host_isa()}
        try:
            kept = select_recipe([trial.verdict for trial in trials], ranking)
        except NoRecipePassed as exc:
            say(f"{target.name}: {exc}", "red")
            return {"kept": None, "bundle": None, "error": str(exc), "candidates": entries, "selection": selection}
        _mark_kept(entries, trials, kept, ranking)
        if ranking.basis != "host-latency":
            say(f"{target.name}: {ranking.note}", "yellow")
        arm = arm_check_for(target, profile) if arm_check else None
        check: dict[str, Any] = {"measured_on": arm["measured_on"] if arm else host_isa()}
        trial = next(trial for trial in trials if trial.candidate is kept)
        try:
            bundle = _write_bundle(target, profile, prepared, trial, out_dir, selection,
                                   verify=lambda scratch: check_before_placing(scratch, check, arm))
        except FailedItsOwnCheck as failed:
            error = (f"the written {kept.recipe.name} bundle failed its own check on {check['measured_on']} "
                     f"({failed}) and was removed")
            say(f"{target.name}: {error}", "red")
            return {"kept": None, "bundle": None, "error": error, "candidates": entries, "check": check,
                    "selection": selection}
    say(f"{target.name}: kept {kept.recipe.name} → {bundle} (checked on {check['measured_on']})", "green")
    return {"kept": kept.recipe.name, "bundle": str(bundle), "error": None, "candidates": entries, "check": check,
            "selection": selection}


def _mark_kept(entries: list[dict[str, Any]], trials: list[Trial], kept: Candidate, ranking: Ranking) -> None:
    """Mark the kept candidate's report entry, and say why each other accepted one ranked below it."""
    for entry, trial in zip(entries, trials):
        if trial.candidate is kept:
            entry["status"] = "kept"
        elif trial.verdict.accepted:
            entry["reason"] = ranked_below_reason(trial.candidate, kept, ranking)


def _write_bundle(target: Target, profile: DeviceProfile, prepared: Prepared, trial: Trial, out_dir: Path,
                  selection: dict[str, Any], verify: Callable[[Path], None]) -> Path:
    student, recipe = prepared.student_dir.name, trial.candidate.recipe
    manifest = bundle_manifest(target, profile, prepared, trial, selection)
    return write_bundle(_bundle_dir(out_dir, prepared.student_dir, target, recipe), trial.result.artifact,
                        target.artifact_name(student, recipe), prepared.student_dir, prepared.golden,
                        jsonable(manifest), verify)


def _pick_runtimes(profile: DeviceProfile, request: ExportRequest) -> list[str]:
    if request.runtime is not None and request.runtime not in profile.runtimes:
        raise UserError(f"profile {profile.name} does not list runtime {request.runtime!r}; "
                        f"choose one of: {', '.join(profile.runtimes)}")
    runtimes = [request.runtime] if request.runtime else list(profile.runtimes)
    if request.recipes is not None and len(runtimes) != 1:
        raise UserError("explicit recipes need a single runtime; pass --runtime")
    return runtimes


def _usable_target(name: str) -> Target:
    target = get_target(name)
    problem = target.available()
    if problem:
        raise UserError(f"runtime {name} is not usable here: {problem}")
    return target


def _default_recipes(target: Target, profile: DeviceProfile) -> list[Recipe]:
    recipes = target.recipes(profile)
    if not recipes:
        raise UserError(f"{target.name} has no recipe for precisions {', '.join(profile.precisions)} "
                        f"in profile {profile.name}")
    return recipes


def require_writable_out(request: ExportRequest) -> None:
    """Refuse what would stop this export at its end, before any export runs: what `run` checks of each of its export
    stages before its first stage (whose student does not exist yet; only its folder's name is read)."""
    _require_writable(request, *_profile_and_targets(request), Path(request.student_dir))


def _profile_and_targets(request: ExportRequest) -> tuple[DeviceProfile, list[Target]]:
    profile = with_converter(load_profile(request.profile), request.converter)
    return profile, [_usable_target(name) for name in _pick_runtimes(profile, request)]


def _require_writable(request: ExportRequest, profile: DeviceProfile, targets: list[Target], student_dir: Path) -> None:
    """Refuse an --out that overlaps an input, a bundle name that cannot be a folder, or a link or a folder of the
    user's where the report or any recipe's bundle would be written."""
    out_dir = Path(request.out_dir)
    require_directory_path(out_dir)
    require_apart(out_dir, [("student", student_dir), ("device profile", request.profile),
                            ("calibration set", request.calibration), ("model card", request.model_card),
                            *(("device result", path) for path in request.device_results)])
    inside(out_dir, REPORT_FILE)
    for target in targets:
        for recipe in request.recipes if request.recipes is not None else _default_recipes(target, profile):
            require_replaceable(_bundle_dir(out_dir, student_dir, target, recipe), is_written_bundle)


def _bundle_dir(out_dir: Path, student_dir: Path, target: Target, recipe: Recipe) -> Path:
    """Where a recipe's bundle is placed: its name, made from the student folder's, is one plain folder name."""
    name = bundle_name(student_dir.name, target.name, recipe.name)
    return inside(out_dir, check_name(name, f"bundle name (from the student folder {str(student_dir)!r})"))


def _require_student(student_dir: Path) -> Path:
    require_model_dir(student_dir, "student")
    missing = [name for name in ("tokenizer.json", "data.json") if not (student_dir / name).is_file()]
    if missing:
        raise UserError(f"{student_dir} is not a student from `edgedistill distill` (missing {', '.join(missing)})")
    return student_dir
