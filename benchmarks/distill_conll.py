"""Named-entity recognition on CoNLL-2003: a token-classification teacher, 3-layer students with and without KD,
and the KD student's int8 bundles in every runtime, scored by entity F1 (conlleval rules).

Rows (mean ± sd over seeds):
  teacher         all-MiniLM-L6-v2 fine-tuned as a tagger (first sub-token labelled), once, reused
  mpnet-teacher   all-mpnet-base-v2 fine-tuned the same way (reported only; about 10x the CPU time, not yet run)
  l3-kd           3-layer student from teacher layers 0,2,4, word-level KD (T=4, alpha=0.5)
  l3-hard         the same student on hard labels only (alpha=1)
  bundles         the seed-13 l3-kd student through `export --target x86-64-host`: each runtime's int8 bundle
                  with its test F1 measured in the runtime, the fp32 student's on the same inputs, its size,
                  and p50 at batch 1 x 64 tokens from `bench`
  pruned-bundles  the same student with its vocabulary pruned to the tokens of its training sentences, exported as
                  a student in its own right, plus what pruning kept and cost on validation and test, and whether
                  `export --prune-vocab` accepts that cost within the profile's budget (not a default row)

Every finished run is written to benchmarks/results/distill_conll.json at once, so an interrupted benchmark
keeps what it measured and a rerun skips what is done. Goals are computed from the figures. On 2 CPU cores the
default rows take about 2 hours: the teacher 18 minutes, 13 minutes a student seed, 20 for the bundles.

    .venv/bin/python benchmarks/distill_conll.py                        # teacher, students, bundles
    .venv/bin/python benchmarks/distill_conll.py --rows teacher,l3-kd --seeds 13
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from environment import describe_environment  # noqa: E402

from edgedistill.data import DataSpec  # noqa: E402
from edgedistill.distill.config import DistillConfig, TeachConfig  # noqa: E402
from edgedistill.jsonio import read_json, write_json  # noqa: E402
from edgedistill.metrics import drop_points  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "distill_conll.json"
WORK = ROOT / "runs" / "conll"
DATA = DataSpec(source="builtin:conll2003")
KEPT_SEED = 13
# 99.6% of CoNLL-2003 sentences fit in 96 MiniLM sub-tokens; longer ones lose their last words (tagged O).
MAX_LENGTH = 96
TEACHERS = {"teacher": dict(base="builtin:all-minilm-l6-v2", learning_rate=5e-5, epochs=3, max_length=MAX_LENGTH),
            "mpnet-teacher": dict(base="builtin:all-mpnet-base-v2", learning_rate=3e-5, epochs=3, max_length=MAX_LENGTH)}
STUDENTS = {"l3-kd": ("3-layer student from teacher layers 0,2,4, word-level KD",
                      dict(layer_map=[0, 2, 4], temperature=4.0, alpha=0.5, learning_rate=1e-4, epochs=4,
                           max_length=MAX_LENGTH)),
            "l3-hard": ("the same 3-layer student on hard labels only",
                        dict(layer_map=[0, 2, 4], temperature=4.0, alpha=1.0, learning_rate=1e-4, epochs=4,
                             max_length=MAX_LENGTH))}
ROWS = ("teacher", "l3-kd", "l3-hard", "bundles")
PROFILE = "x86-64-host"
BENCH_LENGTH = 64
GOALS = {"teacher_f1": 0.88, "student_fraction_of_teacher": 0.97, "bundle_max_f1_drop_points": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows of: {', '.join(TEACHERS)}, "
                        f"{', '.join(STUDENTS)}, bundles, pruned-bundles")
    parser.add_argument("--seeds", default="13,14,15", help="comma-separated training seeds of the student rows")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = read_json(args.results) if args.results.is_file() else {"teachers": {}, "rows": {}}
    for name in args.rows.split(","):
        if name in TEACHERS:
            ensure_teacher(results, name, args.results)
        elif name in STUDENTS:
            teacher = ensure_teacher(results, "teacher", args.results)
            for seed in [int(s) for s in args.seeds.split(",")]:
                distill_row(results, name, seed, teacher, args.results)
        elif name in ("bundles", "pruned-bundles"):
            export_bundles(results, args.results, prune=name == "pruned-bundles")
        else:
            raise SystemExit(f"unknown row {name!r}")
    results["goals"] = goals(results)
    save(results, args.results)
    print_table(results)


def ensure_teacher(results: dict, name: str, path: Path) -> Path:
    """Fine-tune a tagger once; later runs reuse it."""
    out = WORK / name
    if not (out / "metrics.json").is_file():
        from edgedistill.distill.teach import run_teach

        run_teach(TeachConfig(data=DATA, out=out, seed=KEPT_SEED, task="token-classification", **TEACHERS[name]))
    metrics = read_json(out / "metrics.json")
    results["teachers"][name] = {"config": TEACHERS[name], **f1_figures(metrics["teacher"]),
                                 "params": metrics["teacher"]["params"], "best_epoch": metrics["best_epoch"],
                                 "wall_seconds": round(metrics["wall_seconds"], 1),
                                 "device": metrics.get("timings", {}).get("device")}
    save(results, path)
    return out


def distill_row(results: dict, name: str, seed: int, teacher: Path, path: Path) -> None:
    description, settings = STUDENTS[name]
    row = results["rows"].setdefault(name, {"description": description, "config": settings, "runs": {}})
    if str(seed) in row["runs"]:
        return
    from edgedistill.distill.trainer import run_distill

    out = WORK / f"{name}-seed{seed}"
    metrics = run_distill(dataclasses.replace(DistillConfig(data=DATA, teacher=teacher, out=out, seed=seed), **settings))
    if seed != KEPT_SEED:
        shutil.rmtree(out, ignore_errors=True)
    row["runs"][str(seed)] = {**f1_figures(metrics["student"]), "agreement": metrics["agreement"],
                              "params": metrics["student"]["params"], "best_epoch": metrics["best_epoch"],
                              "wall_seconds": round(metrics["wall_seconds"], 1),
                              "device": metrics.get("timings", {}).get("device")}
    row["summary"] = summarise(row["runs"].values())
    save(results, path)
    print(f"{name} seed {seed}: {row['runs'][str(seed)]}", flush=True)


def export_bundles(results: dict, path: Path, prune: bool = False) -> None:
    """The seed-13 KD student through every runtime of x86-64-host (its vocabulary pruned with `prune`), each bundle
    benched at 64 tokens."""
    from edgedistill.check.bench import BenchSettings, bench_bundle
    from edgedistill.export.pipeline import ExportRequest, run_export

    student = WORK / f"l3-kd-seed{KEPT_SEED}"
    if not (student / "metrics.json").is_file():
        raise SystemExit(f"bundles need the l3-kd seed-{KEPT_SEED} student first (--rows l3-kd --seeds {KEPT_SEED})")
    key = "pruned_bundles" if prune else "bundles"
    out = WORK / key.replace("_", "-")
    shutil.rmtree(out, ignore_errors=True)  # this benchmark's own folder, rebuilt each time
    pruning = None
    if prune:
        # Pruned by hand, so that its bundles are measured even where `export --prune-vocab` refuses the cost.
        from edgedistill.profiles import exceeds_drop_budget
        from edgedistill.model.vocab_prune import prune_student
        from edgedistill.targets.registry import load_profile

        pruned = WORK / f"l3-kd-seed{KEPT_SEED}-pruned"
        pruning = prune_student(student, pruned)
        student, budgets = pruned, load_profile(PROFILE).budgets
        pruning.update(budget_points=budgets.max_accuracy_drop,
                       export_prune_vocab_accepts=not exceeds_drop_budget(pruning["validation_cost_points"], budgets))
    report = run_export(ExportRequest(student_dir=student, profile=PROFILE, out_dir=out))
    bundles = {}
    for runtime, outcome in report["runtimes"].items():
        if outcome["bundle"] is None:
            bundles[runtime] = {"error": outcome["error"]}
            continue
        kept = next(entry for entry in outcome["candidates"] if entry["status"] == "kept")
        metrics = kept["metrics"]
        timed = bench_bundle(Path(outcome["bundle"]), BenchSettings(length=BENCH_LENGTH, threads=1))
        bundles[runtime] = {"recipe": kept["recipe"], "precision": kept["precision"], **f1_figures(metrics),
                            "fp32_entity_f1": metrics["reference_entity_f1"],
                            "f1_drop_points": drop_points(metrics["entity_f1"], metrics["reference_entity_f1"]),
                            "size_bytes": metrics["size_bytes"], "p50_ms_at_64": timed["latency_ms"]["p50"],
                            "threads": 1}
    results[key] = {"profile": PROFILE, "student": str(student), "bench_length": BENCH_LENGTH, "runtimes": bundles,
                    **({"vocab_prune": pruning} if prune else {})}
    save(results, path)


def f1_figures(metrics: dict) -> dict:
    return {"entity_f1": metrics["entity_f1"], "entity_precision": metrics["entity_precision"],
            "entity_recall": metrics["entity_recall"], "per_type": metrics["per_type"]}


def summarise(runs) -> dict:
    runs = list(runs)
    values = [run["entity_f1"] for run in runs]
    return {"seeds": len(runs), "entity_f1": {"mean": statistics.fmean(values),
                                              "sd": statistics.stdev(values) if len(values) > 1 else 0.0},
            "params": runs[0]["params"]}


def goals(results: dict) -> dict:
    """Each goal with its measured figure and whether it is met (None until measured)."""
    teacher = results["teachers"].get("teacher", {}).get("entity_f1")
    kd, hard = (results["rows"].get(name, {}).get("summary") for name in ("l3-kd", "l3-hard"))
    kd_f1 = kd["entity_f1"]["mean"] if kd else None
    drops = {runtime: bundle.get("f1_drop_points") for runtime, bundle in
             results.get("bundles", {}).get("runtimes", {}).items()}
    return {
        "teacher_f1": {"goal": GOALS["teacher_f1"], "measured": teacher,
                       "met": None if teacher is None else teacher >= GOALS["teacher_f1"]},
        "student_fraction_of_teacher": {
            "goal": GOALS["student_fraction_of_teacher"], "measured": kd_f1 / teacher if kd and teacher else None,
            "met": None if not (kd and teacher) else kd_f1 / teacher >= GOALS["student_fraction_of_teacher"]},
        "kd_above_hard_labels": {"measured": [kd_f1, hard["entity_f1"]["mean"] if hard else None],
                                 "met": None if not (kd and hard) else kd_f1 > hard["entity_f1"]["mean"]},
        "bundle_f1_drop_points": {"goal": GOALS["bundle_max_f1_drop_points"], "measured": drops,
                                  "met": None if not drops else all(d is not None and d <= GOALS["bundle_max_f1_drop_points"]
                                                                    for d in drops.values())},
    }


def print_table(results: dict) -> None:
    for name, teacher in results["teachers"].items():
        print(f"{name}: entity F1 {teacher['entity_f1']:.4f}, params {teacher['params']:,}")
    for name, row in results["rows"].items():
        s = row.get("summary")
        if s:
            print(f"{name:10} {s['seeds']} seeds: entity F1 {s['entity_f1']['mean']:.4f} ± {s['entity_f1']['sd']:.4f}")
    for key in ("bundles", "pruned_bundles"):
        for runtime, bundle in results.get(key, {}).get("runtimes", {}).items():
            name = f"{runtime}{' pruned' if key == 'pruned_bundles' else ''}"
            if "error" in bundle:
                print(f"{name:19} {bundle['error']}")
            else:
                print(f"{name:19} {bundle['recipe']:20} F1 {bundle['entity_f1']:.4f} (fp32 {bundle['fp32_entity_f1']:.4f}) "
                      f"{bundle['size_bytes'] / 1e6:.2f} MB, p50 {bundle['p50_ms_at_64']:.2f} ms at {BENCH_LENGTH} tokens")


def save(results: dict, path: Path) -> None:
    results["environment"] = describe_environment()
    write_json(path, results)


if __name__ == "__main__":
    main()
