"""Bad input across every command, counted: the cases of tests/reliability run once, and the tally recorded.

Builds the tiny world of tests/reliability/world.py, runs every generated case through the CLI entry point,
and writes how many were tried and how many were clean (one `error:` line, non-zero exit, nothing touched,
no hang), per category and per command, to benchmarks/results/reliability.json. The tests assert the same
cases one by one; this script is what records the counts.

    .venv/bin/python benchmarks/reliability.py                    # about a minute on 2 cores
    .venv/bin/python benchmarks/reliability.py --only manifests/  # a subset, printed, nothing recorded
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from environment import describe_environment  # noqa: E402

from edgedistill.jsonio import write_json  # noqa: E402
from tests.reliability.cases import all_cases  # noqa: E402
from tests.reliability.harness import run_case, warm_imports  # noqa: E402
from tests.reliability.world import build_world  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "reliability.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the cases whose name contains this text (nothing is recorded)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--slowest", type=int, default=10, help="print this many of the slowest cases")
    args = parser.parse_args()
    cases = [case for case in all_cases() if not args.only or args.only in case.name]
    with tempfile.TemporaryDirectory(prefix="edgedistill-reliability-") as scratch:
        os.environ["EDGEDISTILL_CACHE"] = str(Path(scratch) / "cache")
        world = build_world(Path(scratch) / "world")
        warm_imports()
        started = time.perf_counter()
        outcomes = [run_case(case, world, Path(scratch) / f"case-{number}", keep=False)
                    for number, case in enumerate(cases)]
        seconds = time.perf_counter() - started
    for outcome in outcomes:
        if not outcome.clean:
            print("NOT CLEAN", outcome.describe(), file=sys.stderr)
    for outcome in sorted(outcomes, key=lambda o: -o.seconds)[:args.slowest]:
        print(f"{outcome.seconds:6.2f} s  {outcome.case.name}", file=sys.stderr)
    print(f"{sum(o.clean for o in outcomes)}/{len(outcomes)} clean in {seconds:.0f} s", file=sys.stderr)
    if not args.only:
        write_json(args.results, tally(outcomes, seconds))


def tally(outcomes, seconds: float) -> dict:
    def counts(key) -> dict:
        tried, clean = Counter(key(o) for o in outcomes), Counter(key(o) for o in outcomes if o.clean)
        return {name: {"tried": tried[name], "clean": clean[name]} for name in sorted(tried)}

    return {
        "description": "Generated bad input across every command (tests/reliability): each case must end in one "
                       "'error:' line with a non-zero exit, no traceback, no hang, and no file written or deleted; "
                       "the 'ok' regressions must succeed and read their input right.",
        "command": ["python", "benchmarks/reliability.py"],
        "environment": describe_environment(),
        "cases_tried": len(outcomes),
        "cases_clean": sum(o.clean for o in outcomes),
        # A clean error case may print progress before its error (teach: "teach: base on 64 train / 8 validation
        # texts"); its error is still the one last line.
        "clean_with_progress_lines_first": sum(o.clean and o.progress_lines > 0 for o in outcomes),
        "regressions": counts(lambda o: "issue 10 'Why' list" if o.case.name.startswith("why/") else "generated"),
        "by_category": counts(lambda o: o.case.category),
        "by_command": counts(lambda o: o.case.command),
        "not_clean": [o.describe() for o in outcomes if not o.clean],
        "seconds": round(seconds, 1),
        "slowest_case_s": round(max((o.seconds for o in outcomes), default=0.0), 2),
    }


if __name__ == "__main__":
    main()
