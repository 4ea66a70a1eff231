"""Run the check on this machine and print its report and per-example logits as one JSON object.

What the emulated arm64 interpreter runs for `check --arch arm64` (check/emulated.py reads its output).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgedistill.check.checker import run_check
from edgedistill.errors import UserError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgedistill.check.json_entry")
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--data")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    args = parser.parse_args(argv)
    try:
        run = run_check(args.bundle, args.data, args.text_column, args.label_column)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump({"report": run.report, "logits": run.logits.tolist()}, sys.stdout, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
