"""Vocabulary pruning on MR: bundle size and accuracy with and without `--prune-vocab`, per runtime.

The student is the 3-layer MiniLM KD student of `distill_large_mr.py` (seed 13, kept under runs/large/). Each
runtime of x86-64-host exports its int8-dynamic recipe twice, from the student and with its vocabulary pruned to
the tokens of the training split and the transfer texts it was distilled on; ONNX Runtime also exports its
int4-weights recipe both ways. `--min-counts 1,3` also prunes to the tokens those texts produce at least 3 times
(rows named .../pruned-min3). Results go to benchmarks/results/vocab_prune_mr.json; a run of some runtimes keeps the
rows of the others.

    .venv/bin/python benchmarks/vocab_prune_mr.py
    .venv/bin/python benchmarks/vocab_prune_mr.py --runtimes onnxruntime
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from environment import describe_environment  # noqa: E402

from edgedistill.bundle.reader import open_bundle  # noqa: E402
from edgedistill.errors import UserError  # noqa: E402
from edgedistill.export.pipeline import ExportRequest, run_export  # noqa: E402
from edgedistill.jsonio import read_json, write_json  # noqa: E402
from edgedistill.metrics import drop_points  # noqa: E402
from edgedistill.targets.registry import get_target, load_profile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "vocab_prune_mr.json"
PROFILE = "x86-64-host"
RECIPE = "int8-dynamic"
# Recipes beyond RECIPE, per runtime: their rows are named runtime/recipe/full|pruned.
MORE_RECIPES = {"onnxruntime": ("int4-weights",)}
# The goal: the smallest int8 bundle at most 6 MB, within 1.5 points of the fp32 student.
GOALS = {"max_bundle_mb": 6.0, "max_drop_points_vs_unpruned_fp32": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", type=Path, default=ROOT / "runs" / "large" / "minilm-l3-kd@transfer8000-seed13")
    parser.add_argument("--runtimes", default=",".join(load_profile(PROFILE).runtimes))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--min-counts", default="1", help="comma-separated pruning min counts (1: every token seen)")
    parser.add_argument("--recipes", default=None, help="only these recipes (comma-separated); default: all")
    args = parser.parse_args()
    profile = load_profile(PROFILE)
    earlier = read_json(args.results) if args.results.is_file() else {}
    rows, pruning = dict(earlier.get("rows", {})), earlier.get("vocab_prune")
    with tempfile.TemporaryDirectory(prefix="vocab-prune-") as scratch:
        for runtime in args.runtimes.split(","):
            chosen = (RECIPE, *MORE_RECIPES.get(runtime, ()))
            for recipe_name in [name for name in chosen if args.recipes is None or name in args.recipes.split(",")]:
                for prune, min_count in [(False, 1)] + [(True, int(n)) for n in args.min_counts.split(",")]:
                    kind = ("pruned" + (f"-min{min_count}" if min_count > 1 else "")) if prune else "full"
                    name = "/".join([runtime, *([recipe_name] if recipe_name != RECIPE else []), kind])
                    recipe = get_target(runtime).recipe(recipe_name, profile)
                    try:
                        report = run_export(ExportRequest(args.student, PROFILE, Path(scratch) / name.replace("/", "-"),
                                                          runtime=runtime, recipes=[recipe], prune_vocab=prune,
                                                          prune_min_count=min_count))
                    except UserError as exc:  # a recipe over the profile's budgets is a finding, not a crash
                        rows[name] = {"recipe": recipe_name, "prune_min_count": min_count if prune else None,
                                      "error": str(exc)}
                        print(name, rows[name], flush=True)
                        continue
                    if prune and min_count == 1:
                        pruning = report["vocab_prune"]
                    rows[name] = {"recipe": recipe_name, "prune_min_count": min_count if prune else None,
                                  "tokens": report["vocab_prune"]["tokens_after"] if prune else None,
                                  **describe(open_bundle(Path(report["runtimes"][runtime]["bundle"])))}
                    print(name, rows[name], flush=True)
    unpruned_fp32 = pruning["test_accuracy_before"]
    # The unpruned student's fp32 validation accuracy, as export measured it beside its full bundles.
    unpruned_validation = rows[f"onnxruntime/{MORE_RECIPES['onnxruntime'][0]}/full"].get("fp32_student_validation_accuracy")

    def within(row: dict) -> bool:
        """Within the goal's drop of the unpruned fp32 student on test, and on validation where measured."""
        test_ok = drop_points(row["test_accuracy"], unpruned_fp32) <= GOALS["max_drop_points_vs_unpruned_fp32"]
        validation = row.get("validation_accuracy")
        return test_ok and (validation is None or unpruned_validation is None or
                            drop_points(validation, unpruned_validation) <= GOALS["max_drop_points_vs_unpruned_fp32"])

    measured = [row for row in rows.values() if "bundle_mb" in row]
    smallest = min([row for row in measured if within(row)] or measured, key=lambda row: row["bundle_mb"])
    results = {
        "student": str(args.student.relative_to(ROOT)) if args.student.is_relative_to(ROOT) else str(args.student),
        "profile": PROFILE, "recipe": RECIPE, "vocab_prune": pruning, "rows": rows,
        "goals": {**GOALS, "smallest_bundle": smallest,
                  "unpruned_fp32_validation_accuracy": unpruned_validation,
                  "met": smallest["bundle_mb"] <= GOALS["max_bundle_mb"] and within(smallest),
                  "missed_by_mb": round(max(0.0, smallest["bundle_mb"] - GOALS["max_bundle_mb"]), 2)},
        "environment": describe_environment(),
    }
    write_json(args.results, results)
    print(f"wrote {args.results}")


def describe(bundle) -> dict:
    """Size and test figures of one bundle, from its manifest."""
    metrics = bundle.manifest.metrics
    size = sum(path.stat().st_size for path in bundle.path.iterdir() if path.is_file())
    return {"bundle_mb": round(size / 1e6, 2), "model_mb": round(metrics["size_bytes"] / 1e6, 2),
            "test_accuracy": metrics["accuracy"], "fp32_student_accuracy": metrics["reference_accuracy"],
            "validation_accuracy": metrics["validation"]["accuracy"],
            "fp32_student_validation_accuracy": metrics["validation"]["reference_accuracy"],
            "drop_points": round(drop_points(metrics["accuracy"], metrics["reference_accuracy"]), 2),
            "agreement": metrics["agreement"]}


if __name__ == "__main__":
    main()
