"""`edgedistill export`: student → one verified bundle per runtime of a device profile.

A straight line: load the profile and student → encode the test split and compute the
fp32 reference once → for each recipe, export, reload in the real runtime and measure
→ keep the fastest recipe within budget → write its bundle atomically → write
export_report.json listing every candidate and why the others lost.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from edgedistill.bundle.golden import (
    build_golden,
    pick_golden_sentences,
    pick_golden_texts,
)
from edgedistill.bundle.manifest import (
    MANIFEST_FILE,
    SCHEMA_VERSION,
    parse_manifest,
    task_record,
    tensor_specs,
    toolchain_versions,
)
from edgedistill.bundle.writer import bundle_name, write_bundle
from edgedistill.check.device_results import DeviceLatencies, device_latencies
from edgedistill.check.evaluation import TaskScoring, load_task_splits, scoring_for
from edgedistill.check.runner import Example, encode_examples
from edgedistill.data.dataset import Splits
from edgedistill.data.tagged import TaggedSplits
from edgedistill.errors import UserError
from edgedistill.export.calibration import agreement_texts, calibration_texts
from edgedistill.export.measure import Measurement, measure_artifact
from edgedistill.export.model_card import CardText, load_card_text, model_card
from edgedistill.export.selection import (
    Candidate,
    NoRecipePassed,
    exceeds_drop_budget,
    ranked_below_reason,
    ranking_for,
    rejection_reason,
    select_recipe,
)
from edgedistill.fsutil import check_name, inside, require_apart, require_directory_path
from edgedistill.jsonio import write_json
from edgedistill.modeldir import (
    DISTILL_FILE,
    read_data_spec,
    read_distill_record,
    read_labels,
    read_metrics,
    require_model_dir,
)
from edgedistill.profiles import DeviceProfile, host_isa
from edgedistill.targets.base import ExportInputs, ExportResult, Recipe, Target
from edgedistill.targets.registry import get_target, load_profile
from edgedistill.tasks.kinds import METRIC_NAMES, TOKEN_TASK
from edgedistill.typed_config import from_mapping

REPORT_FILE = "export_report.json"
console = Console(stderr=True, highlight=False, soft_wrap=True)


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


@dataclass
class Trial:
    """One recipe's export and measurement (result and measurement are None when it failed)."""

    candidate: Candidate
    export_s: float
    result: ExportResult | None = None
    measurement: Measurement | None = None


@dataclass
class Prepared:
    """What every recipe of every runtime shares: the student, its splits, the reference, golden vectors."""

    student_dir: Path
    model: Any
    scoring: TaskScoring
    splits: Splits | TaggedSplits
    golden: dict[str, Any]
    calibration: list[str]
    # Unlabelled in-domain texts for the agreement gate, and where they came from.
    unlabelled: list[str]
    unlabelled_source: str
    # The fp32 student's task metric on the test split.
    reference_score: float
    reference_cache: dict[str, list[np.ndarray]]
    # For the model card: the exporter's own words, and what vocabulary pruning kept and cost.
    card_text: CardText = dataclasses.field(default_factory=CardText)
    pruning: dict[str, Any] | None = None

    def reference_for(self, examples: list[Example]) -> list[np.ndarray]:
        """fp32 student outputs for these exact inputs, computed once per distinct input set."""
        key = _inputs_key(examples)
        if key not in self.reference_cache:
            self.reference_cache[key] = _reference_outputs(self.model, examples)
        return self.reference_cache[key]


def run_export(request: ExportRequest) -> dict[str, Any]:
    """Export, measure and select per runtime; raise after writing the report if a runtime kept nothing."""
    started = time.perf_counter()
    profile = with_converter(load_profile(request.profile), request.converter)
    targets = [_usable_target(name) for name in _pick_runtimes(profile, request)]
    student_dir = _require_student(Path(request.student_dir))
    _require_writable(request, profile, targets, student_dir)  # before minutes of conversion, not after them
    card_text = load_card_text(request.model_card)
    if request.prune_min_count != 1 and not request.prune_vocab:
        raise UserError("--prune-min-count applies with --prune-vocab; pass both")
    on_device = device_latencies(request.device_results, profile.name)
    if on_device.other_profiles:
        _say(f"device results benched for other profiles, left out of {profile.name}'s ranking: "
             f"{', '.join(on_device.other_profiles)}", "yellow")
    if not request.prune_vocab:
        return _export_student(request, profile, targets, student_dir, None, card_text, on_device, started)
    from edgedistill.model.vocab_prune import prune_student

    with tempfile.TemporaryDirectory(prefix="edgedistill-pruned-") as scratch:
        pruned = Path(scratch) / student_dir.name  # bundles keep the student's name
        _say(f"pruning the vocabulary of {student_dir}")
        pruning = prune_student(student_dir, pruned, min_count=request.prune_min_count)
        metric, cost = pruning["metric"], pruning["validation_cost_points"]
        name = METRIC_NAMES[metric]
        _say(f"kept {pruning['tokens_after']:,} of {pruning['tokens_before']:,} tokens; "
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
        "agreement_texts": {"source": prepared.unlabelled_source, "texts": len(prepared.unlabelled)},
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
    """Try each recipe, keep the fastest within budget, write its bundle."""
    recipes = explicit if explicit is not None else _default_recipes(target, profile)
    with tempfile.TemporaryDirectory(prefix=f"edgedistill-{target.name}-") as scratch:
        inputs = ExportInputs(
            student_dir=prepared.student_dir, profile=profile, work_dir=Path(scratch),
            max_length=profile.sequence.longest, calibration_texts=prepared.calibration,
            train=prepared.splits.train,
        )
        trials, skipped = [], []
        for recipe in recipes:
            passed = _passing_recipe(trials, recipe.precision, profile)
            if recipe.needs_teacher and passed is not None:
                # QAT costs minutes of fine-tuning; it exists for when the cheaper recipes miss the budget.
                _say(f"{target.name} {recipe.name}: skipped, {passed} already meets the budget at {recipe.precision}")
                skipped.append(_skipped_entry(recipe, f"{passed} already within budget at {recipe.precision}"))
                continue
            recipe_inputs = dataclasses.replace(inputs, teacher_logits=qat_teacher_logits(prepared, recipe, profile))
            trials.append(_try_recipe(target, profile, prepared, recipe_inputs, recipe))
        candidates = [trial.candidate for trial in trials]
        entries = [_candidate_entry(trial, profile) for trial in trials] + skipped
        ranking = ranking_for(profile, device_p50_ms=on_device.p50_ms.get(target.name), devices=on_device.devices)
        selection = {"basis": ranking.basis, "note": ranking.note, "host_isa": host_isa()}
        try:
            kept = select_recipe(candidates, profile.budgets, ranking)
        except NoRecipePassed as exc:
            _say(f"{target.name}: {exc}", "red")
            return {"kept": None, "bundle": None, "error": str(exc), "candidates": entries, "selection": selection}
        index = next(i for i, candidate in enumerate(candidates) if candidate is kept)
        for entry, candidate in zip(entries, candidates):
            if entry["status"] == "accepted" and candidate is not kept:
                entry["reason"] = ranked_below_reason(candidate, kept, ranking)
        entries[index]["status"] = "kept"
        if ranking.basis != "host-latency":
            _say(f"{target.name}: {ranking.note}", "yellow")
        arm = _arm_check(target, profile) if arm_check else None
        verdict: dict[str, Any] = {"measured_on": arm["measured_on"] if arm else host_isa()}
        try:
            bundle = _write_bundle(target, profile, prepared, trials[index], out_dir, selection,
                                   verify=lambda scratch: _check_before_placing(scratch, verdict, arm))
        except _FailedItsOwnCheck:
            failed = ", ".join(gate for gate, passed in verdict["gates"].items() if passed is False)
            error = (f"the written {kept.recipe.name} bundle failed its own check on {verdict['measured_on']} "
                     f"({failed}) and was removed")
            _say(f"{target.name}: {error}", "red")
            return {"kept": None, "bundle": None, "error": error, "candidates": entries, "check": verdict,
                    "selection": selection}
    _say(f"{target.name}: kept {kept.recipe.name} → {bundle} (checked on {verdict['measured_on']})", "green")
    return {"kept": kept.recipe.name, "bundle": str(bundle), "error": None, "candidates": entries, "check": verdict,
            "selection": selection}


class _FailedItsOwnCheck(Exception):
    """Raised inside the bundle writer, so the bundle is never moved into place."""


def _check_before_placing(scratch: Path, verdict: dict[str, Any], arm: dict[str, Any] | None) -> None:
    """Reload the complete bundle from disk and run the same `check` a user would (ExecuTorch's aot_compiler does
    the same) before it is moved into place: one that fails, cannot be checked, or whose process is killed
    meanwhile never appears at its final path, so nothing is left behind looking as if it were good.

    With `arm` (an arm64 profile, the arm64 env built) the check runs on Arm kernels under emulation, its gates
    decide, and its figures are added to the manifest beside the x86 ones."""
    from edgedistill.check.checker import check_bundle

    report = check_bundle(scratch, arch="arm64", cpu=arm["cpu"]) if arm else check_bundle(scratch)
    metric = report["metric"]
    verdict.update(passed=report["passed"], gates=report["gates"], **{metric: report[metric]},
                   parity_widths=[entry["width"] for entry in report["parity"]["lengths"]])
    if arm:
        verdict["cross_isa"] = report["cross_isa"]
    if not report["passed"]:
        raise _FailedItsOwnCheck
    if arm:
        _record_arm_figures(scratch, report, arm)


def _arm_check(target: Target, profile: DeviceProfile) -> dict[str, Any] | None:
    """How the kept bundle is checked on Arm kernels, or None: not an arm64 profile, already on Arm, no env."""
    from edgedistill.toolenvs.arm64 import RUNTIMES
    from edgedistill.toolenvs.known import ARM64

    if profile.isa != "arm64" or host_isa() == "arm64" or profile.emulation_cpu is None:
        return None
    if target.name not in RUNTIMES:
        _say(f"{target.name}: no Arm-kernel check (the arm64 env runs {' and '.join(RUNTIMES)}); "
             f"its figures are measured on {host_isa()}", "yellow")
        return None
    if not ARM64.is_ready():
        _say(f"{target.name}: figures measured on {host_isa()}, not Arm kernels: {ARM64.missing}", "yellow")
        return None
    return {"cpu": profile.emulation_cpu, "measured_on": f"arm64 (qemu {profile.emulation_cpu})"}


def _record_arm_figures(scratch: Path, report: dict[str, Any], arm: dict[str, Any]) -> None:
    """Add the Arm check's figures to the scratch bundle's manifest (the files it hashes are unchanged)."""
    manifest = json.loads((scratch / MANIFEST_FILE).read_text())
    manifest["metrics"]["arm64"] = {
        "measured_on": arm["measured_on"], "machine": report["machine"], "wheels": report["emulation"]["wheels"],
        **{key: report[key] for key in _metric_keys(report["metric"])}, "examples": report["examples"],
        "parity": report["parity"], "cross_isa": report["cross_isa"], "note": report["emulation"]["note"],
    }
    write_json(scratch / MANIFEST_FILE, parse_manifest(manifest, f"manifest of {scratch.name}").to_dict())


def _metric_keys(metric: str) -> tuple[str, ...]:
    """A check report's figures of the task metric."""
    return metric, f"reference_{metric}", f"{metric}_drop_points"


def _try_recipe(target: Target, profile: DeviceProfile, prepared: Prepared, inputs: ExportInputs, recipe: Recipe) -> Trial:
    """Export one recipe and measure it; a failure becomes a rejected candidate, not an abort."""
    _say(f"{target.name} {recipe.name}: exporting ({recipe.description})", "bold")
    work_dir = inputs.work_dir / recipe.name
    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        result = target.export(dataclasses.replace(inputs, work_dir=work_dir), recipe)
        export_s = time.perf_counter() - started
        measurement = measure_artifact(target, result.artifact, profile, prepared.student_dir / "tokenizer.json",
                                       prepared.scoring, prepared.splits.validation, prepared.splits.test,
                                       prepared.unlabelled, prepared.reference_for)
    except Exception as exc:  # a converter crash rejects this recipe; the others may still pass
        message = (str(exc).strip().splitlines() or [""])[0][:300]
        _say(f"  failed: {type(exc).__name__}: {message}", "red")
        return Trial(Candidate(recipe, error=f"{type(exc).__name__}: {message}"), time.perf_counter() - started)
    candidate = Candidate(recipe, measurement.metrics,
                          prior_drop_points=prepared.pruning["validation_cost_points"] if prepared.pruning else 0.0)
    reason = rejection_reason(candidate, profile.budgets)
    m, metric = measurement.metrics, candidate.metric
    on_validation = m["validation"]
    interval = on_validation.get("accuracy_drop_ci95_points")
    spread = f", drop 95% CI [{interval[0]:.2f}, {interval[1]:.2f}] pt" if interval else ""
    _say(f"  validation {metric} {on_validation[metric]:.2%} (fp32 {on_validation[f'reference_{metric}']:.2%}{spread}), "
         f"test {m[metric]:.2%} (fp32 {m[f'reference_{metric}']:.2%}), agreement {m['agreement']:.2%}, "
         f"p50 {m['latency_ms']['p50']:.2f} ms, {m['size_bytes'] / 1e6:.2f} MB, export {export_s:.1f} s → "
         + (f"rejected: {reason}" if reason else "accepted"), "red" if reason else None)
    return Trial(candidate, export_s, result, measurement)


def _passing_recipe(trials: list[Trial], precision: str, profile: DeviceProfile) -> str | None:
    """The name of a tried recipe of `precision` that met the budgets, if any."""
    return next((trial.candidate.recipe.name for trial in trials if trial.candidate.recipe.precision == precision
                 and rejection_reason(trial.candidate, profile.budgets) is None), None)


def _skipped_entry(recipe: Recipe, reason: str) -> dict[str, Any]:
    return {"recipe": recipe.name, "precision": recipe.precision, "description": recipe.description,
            "status": "skipped", "reason": reason, "export_s": 0.0, "metrics": {}}


def _candidate_entry(trial: Trial, profile: DeviceProfile) -> dict[str, Any]:
    candidate = trial.candidate
    reason = rejection_reason(candidate, profile.budgets)
    distribution = dataclasses.asdict(trial.measurement.latency_distribution) if trial.measurement else None
    return {"recipe": candidate.recipe.name, "precision": candidate.recipe.precision,
            "description": candidate.recipe.description, "status": "rejected" if reason else "accepted",
            "reason": reason, "export_s": round(trial.export_s, 3), "metrics": candidate.metrics,
            "latency_distribution": distribution}


def _write_bundle(target: Target, profile: DeviceProfile, prepared: Prepared, trial: Trial, out_dir: Path,
                  selection: dict[str, Any], verify: Callable[[Path], None]) -> Path:
    student = prepared.student_dir.name
    recipe, result, measurement = trial.candidate.recipe, trial.result, trial.measurement
    scoring = prepared.scoring
    inputs, outputs = tensor_specs(measurement.input_names, measurement.fixed_length, len(scoring.labels),
                                   per_token=scoring.task == TOKEN_TASK)
    # Every figure here comes from this host; an Arm check adds its own under "arm64" (_record_arm_figures).
    metrics = {**measurement.metrics, f"teacher_{scoring.metric}": _teacher_score(prepared.student_dir, scoring.metric),
               "measured_on": host_isa(), "arm64": None}
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "name": bundle_name(student, target.name, recipe.name), "target": profile.name, "runtime": target.name,
        "precision": recipe.precision, "task": task_record(scoring.task, scoring.labels),
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
    final = _bundle_dir(out_dir, prepared.student_dir, target, recipe)
    model_name = target.artifact_name(student, recipe)
    return write_bundle(final, result.artifact, model_name, prepared.student_dir, prepared.golden, jsonable(manifest),
                        verify)


def prepare(student_dir: Path, profile: DeviceProfile, calibration: str | None) -> Prepared:
    """Load the student, its splits, calibration texts, golden vectors and fp32 reference outputs."""
    from edgedistill.model.classifiers import classifier_task
    from edgedistill.model.reference import reference_logits
    from edgedistill.model.wrapper import load_exportable

    scoring = scoring_for(classifier_task(student_dir), read_labels(student_dir))
    splits = load_task_splits(read_data_spec(student_dir), scoring.task, scoring.labels)
    texts = calibration_texts(calibration, splits.train)
    _say(f"loading student {student_dir}")
    model = load_exportable(student_dir)
    words = scoring.task == TOKEN_TASK
    picked = pick_golden_sentences(splits.test.tokens) if words else pick_golden_texts(splits.test.texts)
    golden = build_golden(picked, student_dir / "tokenizer.json", profile.sequence,
                          lambda ids, mask: reference_logits(model, ids, mask), words=words)
    # The agreement gate's unlabelled inputs are texts; a token classifier's agreement is read on its words.
    unlabelled, source = (([], "none (token classification: agreement on validation words)") if words else
                          agreement_texts(student_dir, texts, set(splits.validation.texts + splits.test.texts)))
    # The inputs every candidate is measured on, so the first measurement at the policy's own widths reuses
    # this fp32 pass instead of running the student again.
    items = scoring.items(splits.validation) + scoring.items(splits.test)
    labelled = scoring.encode(student_dir / "tokenizer.json", items, profile.sequence)
    examples = labelled.examples + encode_examples(student_dir / "tokenizer.json", unlabelled, profile.sequence)
    reference = _reference_outputs(model, examples)
    rows = labelled.rows(reference[:len(labelled.examples)])
    test_score = scoring.score(rows[len(splits.validation):], splits.test)[scoring.metric]
    prepared = Prepared(student_dir, model, scoring, splits, golden, texts, unlabelled, source, test_score,
                        {_inputs_key(examples): reference})
    _say(f"fp32 student: {scoring.metric} {test_score:.2%} on {len(splits.test)} test items; "
         f"{len(texts)} calibration texts; agreement measured on {len(unlabelled)} texts of the {source}")
    return prepared


def _inputs_key(examples: list[Example]) -> str:
    """A digest of the exact token ids and masks (not just their widths, which many input sets share)."""
    digest = hashlib.sha256()
    for ids, mask in examples:
        digest.update(np.ascontiguousarray(ids).tobytes() + b"|" + np.ascontiguousarray(mask).tobytes() + b";")
    return digest.hexdigest()


def _reference_outputs(model, examples: list[Example]) -> list[np.ndarray]:
    """Each example's fp32 output (batch 1), batched by width so the reference sees exactly the artifact's inputs."""
    from edgedistill.model.reference import reference_logits

    by_width: dict[int, list[int]] = defaultdict(list)
    for position, (ids, _) in enumerate(examples):
        by_width[ids.shape[1]].append(position)
    logits: list[np.ndarray | None] = [None] * len(examples)
    for positions in by_width.values():
        ids = np.concatenate([examples[i][0] for i in positions])
        mask = np.concatenate([examples[i][1] for i in positions])
        for position, row in zip(positions, reference_logits(model, ids, mask)):
            logits[position] = np.asarray(row, dtype=np.float32)[None]
    return logits


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


def with_converter(profile: DeviceProfile, converter: str | None) -> DeviceProfile:
    """Override the `converter` option of the runtimes that have one (the TFLite backend)."""
    if converter is None:
        return profile
    options = dict(profile.runtime_options)
    chosen = [name for name, value in options.items()
              if dataclasses.is_dataclass(value) and "converter" in {f.name for f in dataclasses.fields(value)}]
    if not chosen:
        raise UserError(f"--converter applies to runtimes with a converter choice (tflite); "
                        f"profile {profile.name} has none")
    for name in chosen:
        options[name] = from_mapping(type(options[name]), {**dataclasses.asdict(options[name]), "converter": converter},
                                     f"--converter for {name}")
    return dataclasses.replace(profile, runtime_options=options)


def _require_writable(request: ExportRequest, profile: DeviceProfile, targets: list[Target], student_dir: Path) -> None:
    """Refuse an --out that overlaps an input, a bundle name that cannot be a folder, or a link where the report
    or any recipe's bundle would be written."""
    out_dir = Path(request.out_dir)
    require_directory_path(out_dir)
    require_apart(out_dir, [("student", student_dir), ("device profile", request.profile),
                            ("calibration set", request.calibration), ("model card", request.model_card),
                            *(("device result", path) for path in request.device_results)])
    inside(out_dir, REPORT_FILE)
    for target in targets:
        for recipe in request.recipes if request.recipes is not None else _default_recipes(target, profile):
            _bundle_dir(out_dir, student_dir, target, recipe)


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


def qat_teacher_logits(prepared: Prepared, recipe: Recipe, profile: DeviceProfile) -> np.ndarray | None:
    """Cached teacher logits on the train split, for a QAT recipe of a distilled student."""
    config = read_distill_record(prepared.student_dir) if recipe.needs_teacher else {}
    if not config:
        return None
    teacher = Path(str(config.get("teacher", "")))
    if not (teacher / "config.json").is_file():
        _say(f"teacher {teacher} from {prepared.student_dir / DISTILL_FILE} not found; QAT falls back to hard labels",
             "yellow")
        return None
    from edgedistill.distill.teacher_cache import teacher_logits

    max_length = int(config.get("max_length", profile.sequence.max_length))
    return teacher_logits(teacher, prepared.splits.train.texts, max_length)


def _teacher_score(student_dir: Path, metric: str) -> float | None:
    """The teacher's test figure of `metric` that distill recorded, if any."""
    if not (student_dir / "metrics.json").is_file():
        return None
    teacher = read_metrics(student_dir).get("teacher")
    return teacher.get(metric) if isinstance(teacher, dict) else None


def _say(text: str, style: str | None = None) -> None:
    """A progress line on stderr; markup off because recipe descriptions may contain brackets."""
    console.print(text, style=style, markup=False)


def jsonable(payload: Any) -> Any:
    """Backend reports and recipe options may hold paths or numpy scalars; JSON gets their plain form."""
    def plain(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        return str(value)

    return json.loads(json.dumps(payload, default=plain))
