"""Distillation on MR sentence polarity with the real all-MiniLM-L6-v2 teacher.

One row per student variant, each run over several seeds (a 400-sentence test split moves
by about 2 points between seeds, so single runs are noise). Rows differ from the first in
one setting only. Results accumulate in benchmarks/results/distill_mr.json as runs finish,
so an interrupted benchmark keeps what it measured and a rerun skips finished runs.

    .venv/bin/python benchmarks/distill_mr.py                 # everything (about an hour on 2 cores)
    .venv/bin/python benchmarks/distill_mr.py --rows l3-kd --seeds 13
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from environment import describe_environment  # noqa: E402

from edgedistill.data import DataSpec  # noqa: E402
from edgedistill.distill.config import DistillConfig, TeachConfig  # noqa: E402
from edgedistill.jsonio import read_json, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "distill_mr.json"
DATA = DataSpec(source="builtin:mr-polarity")
BASE = dict(layer_map=[0, 2, 4], init="teacher", temperature=4.0, alpha=0.5, epochs=4,
            transfer="builtin:mr-reviews", transfer_limit=8000)
ROWS = {
    "l3-kd": ("3-layer student, layers [0,2,4], KD + MR-review transfer set", {}),
    "l3-hard-labels": ("same student, hard labels only (alpha=1, no transfer set)", {"alpha": 1.0, "transfer": None}),
    "l3-random-init": ("same student, random initialisation", {"init": "random"}),
    "l3-kldiv-mean": ("same student, nn.KLDivLoss() default reduction ('mean')", {"kl_reduction": "mean"}),
    "l2-kd": ("2-layer student, layers [0,3], KD + transfer set", {"layer_map": [0, 3]}),
    "l3-kd-no-transfer": ("same student, KD on the labelled train split only (no transfer set)", {"transfer": None}),
    "l3-kd-hidden-attention": ("same student, KD + FitNets hidden (1.0) + TinyBERT attention (1.0) losses",
                               {"losses": {"hidden": 1.0, "attention": 1.0}}),
    "l3-kd-pkd": ("same student, KD + PKD on normalised [CLS] states (weight 100)", {"losses": {"pkd": 100.0}}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, default=ROOT / "runs" / "mr" / "teacher")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "mr" / "students")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated row names")
    parser.add_argument("--seeds", default="13,14,15", help="comma-separated training seeds")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results file to extend")
    parser.add_argument("--merge", type=Path, nargs="*", default=[],
                        help="only merge the runs of these results files (e.g. one per seed, run in parallel) into --results")
    args = parser.parse_args()
    if args.merge:
        merge(args.results, args.merge)
        return

    teacher = ensure_teacher(args.teacher)
    results = read_json(args.results) if args.results.is_file() else {"rows": {}}
    results["teacher"] = teacher_summary(teacher)
    for name in args.rows.split(","):
        description, overrides = ROWS[name]
        row = results["rows"].setdefault(name, {"description": description, "runs": {}})
        row["config"] = {**BASE, **overrides}
        for seed in [int(s) for s in args.seeds.split(",")]:
            if str(seed) in row["runs"]:
                continue
            row["runs"][str(seed)] = distill_once(teacher, args.work / f"{name}-seed{seed}", seed, overrides)
            row["summary"] = summarise(row["runs"].values(), results["teacher"]["accuracy"])
            results["environment"] = describe_environment()
            write_json(args.results, results)
            print(f"{name} seed {seed}: {row['runs'][str(seed)]}", flush=True)
    print_table(results)


def merge(target: Path, sources: list[Path]) -> None:
    """Fold the runs of several partial results files into `target` and recompute every summary."""
    results = read_json(target) if target.is_file() else {"rows": {}}
    for source in sources:
        part = read_json(source)
        results["teacher"], results["environment"] = part["teacher"], part["environment"]
        for name, row in part["rows"].items():
            merged = results["rows"].setdefault(name, {"description": row["description"], "runs": {}})
            merged["config"] = row["config"]
            merged["runs"].update(row["runs"])
    for row in results["rows"].values():
        row["summary"] = summarise(row["runs"].values(), results["teacher"]["accuracy"])
    write_json(target, results)
    print_table(results)


def ensure_teacher(path: Path) -> Path:
    """Fine-tune the MiniLM teacher once; later runs reuse it."""
    if not (path / "metrics.json").is_file():
        from edgedistill.distill.teach import run_teach

        run_teach(TeachConfig(data=DATA, out=path, epochs=3))
    return path


def teacher_summary(teacher: Path) -> dict:
    metrics = read_json(teacher / "metrics.json")
    return {"path": str(teacher.relative_to(ROOT)) if teacher.is_relative_to(ROOT) else str(teacher),
            "accuracy": metrics["teacher"]["accuracy"], "macro_f1": metrics["teacher"]["macro_f1"],
            "params": metrics["teacher"]["params"], "wall_seconds": metrics.get("wall_seconds")}


def distill_once(teacher: Path, out: Path, seed: int, overrides: dict) -> dict:
    from edgedistill.distill.trainer import run_distill

    config = dataclasses.replace(DistillConfig(data=DATA, teacher=teacher, out=out, seed=seed), **{**BASE, **overrides})
    metrics = run_distill(config)
    if out.name != "l3-kd-seed13":  # keep one student per row family for the targets benchmark
        shutil.rmtree(out, ignore_errors=True)
    return {"accuracy": metrics["student"]["accuracy"], "macro_f1": metrics["student"]["macro_f1"],
            "agreement": metrics["agreement"], "params": metrics["student"]["params"],
            "non_embedding_params": metrics["student"]["non_embedding_params"],
            "wall_seconds": round(metrics["wall_seconds"], 1)}


def summarise(runs, teacher_accuracy: float) -> dict:
    """Mean and sd over seeds of each figure the runs have (teach-only rows have no agreement)."""
    runs = list(runs)

    def mean_sd(key):
        values = [run[key] for run in runs if key in run]
        if not values:
            return None
        return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}

    accuracy = mean_sd("accuracy")
    return {"seeds": len(runs), "accuracy": accuracy, "agreement": mean_sd("agreement"),
            "wall_seconds": mean_sd("wall_seconds"), "params": runs[0]["params"],
            "non_embedding_params": runs[0].get("non_embedding_params"),
            "fraction_of_teacher": accuracy["mean"] / teacher_accuracy}


def print_table(results: dict) -> None:
    teacher = results["teacher"]
    print(f"teacher: accuracy {teacher['accuracy']:.4f}, params {teacher['params']:,}")
    print(f"{'row':24} {'seeds':>5} {'accuracy':>16} {'of teacher':>10} {'agreement':>16} {'params':>12} {'wall s':>8}")
    for name, row in results["rows"].items():
        s = row.get("summary")
        if s:
            agreement = f"{s['agreement']['mean']:.4f} ± {s['agreement']['sd']:.4f}" if s["agreement"] else "–"
            print(f"{name:24} {s['seeds']:>5} {s['accuracy']['mean']:.4f} ± {s['accuracy']['sd']:.4f} "
                  f"{s['fraction_of_teacher']:>10.3f} {agreement:>16} {s['params']:>12,} {s['wall_seconds']['mean']:>8.0f}")


if __name__ == "__main__":
    main()
