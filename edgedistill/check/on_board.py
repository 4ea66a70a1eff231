"""The board's half of `bench --ssh`: run from the edgedistill zip the build machine sent, print one result.

The bootstrap in `check/remote.py` (standard library only) unpacks the zip and the bundle into a scratch
directory, puts the zip on sys.path and calls `main`. Only the torch-free bench is imported, and not the CLI, so a
board needs Python 3.11+, the packages in BOARD_MODULES and the bundle's runtime; the bench says which runtime
package is missing and how to install it.
"""

from __future__ import annotations

import importlib.util
import json
import sys

# The oldest Python edgedistill runs on (typed_config reads TOML with tomllib).
BOARD_PYTHON = (3, 11)
# Module -> the pip package a board installs for it: what bench imports besides the runtime.
BOARD_MODULES = {"numpy": "numpy", "tokenizers": "tokenizers", "jsonschema": "jsonschema", "yaml": "pyyaml"}


def main(bundle: str, settings_json: str) -> int:
    """Bench `bundle` with the given settings and print the result document as one JSON line on stdout."""
    missing = [package for module, package in BOARD_MODULES.items() if importlib.util.find_spec(module) is None]
    if missing:
        return _fail(f"{sys.executable} lacks {', '.join(missing)}; install them there: "
                     f"{sys.executable} -m pip install {' '.join(missing)}")
    from edgedistill.check.bench import BenchSettings, bench_with_identity
    from edgedistill.errors import UserError

    try:
        result = bench_with_identity(bundle, BenchSettings(**json.loads(settings_json)))
    except UserError as exc:
        return _fail(str(exc))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2
