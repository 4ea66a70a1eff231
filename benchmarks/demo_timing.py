"""Record what `make demo` (`edgedistill run builtin:mr --out runs/demo`) took, stage by stage, and what it kept.

Reads the run folder's stage records (RUN/stages/*.json) and each profile's export_report.json; run it after
`make demo`. Stages a resumed run skipped keep the time of the sitting that ran them.

    .venv/bin/python benchmarks/demo_timing.py                 # runs/demo -> benchmarks/results/demo.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from environment import describe_environment  # noqa: E402

from edgedistill.jsonio import read_json, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "demo")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "demo.json")
    args = parser.parse_args()
    stages = {path.stem: read_json(path, "stage record")["elapsed_s"] for path in sorted((args.run / "stages").glob("*.json"))}
    kept = {}
    for report_path in sorted((args.run / "bundles").glob("*/export_report.json")):
        report = read_json(report_path, "export report")
        for runtime, outcome in report["runtimes"].items():
            entry = next(e for e in outcome["candidates"] if e["status"] == "kept")
            kept[f"{report['profile']}/{runtime}"] = {
                "recipe": outcome["kept"], "basis": outcome["selection"]["basis"],
                "test_accuracy": entry["metrics"]["accuracy"], "fp32_test_accuracy": entry["metrics"]["reference_accuracy"],
                "size_bytes": entry["metrics"]["size_bytes"]}
    total = round(sum(stages.values()), 1)
    write_json(args.results, {"command": "make demo (edgedistill run builtin:mr --out runs/demo)", "stage_seconds": stages,
                              "total_seconds": total, "goal_seconds": 900, "kept": kept,
                              "environment": describe_environment()})
    print(f"{total / 60:.1f} minutes over {len(stages)} stages -> {args.results}")


if __name__ == "__main__":
    main()
