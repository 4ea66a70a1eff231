"""Build or locate a tool environment: python -m edgedistill.toolenvs --create NAME | --where NAME."""

from __future__ import annotations

import argparse
import sys

from edgedistill.errors import UserError
from edgedistill.toolenvs.known import KNOWN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgedistill.toolenvs", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--create", metavar="NAME", choices=sorted(KNOWN), help="build it unless already complete")
    action.add_argument("--where", metavar="NAME", choices=sorted(KNOWN), help="print its path")
    args = parser.parse_args(argv)
    try:
        print(KNOWN[args.create].create() if args.create else KNOWN[args.where].path())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
