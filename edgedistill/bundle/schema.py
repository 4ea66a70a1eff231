"""The published JSON Schema of `manifest.json` (schemas/manifest-v2.json), checked on write and on read.

App teams validate manifests in their own builds against the same file; `edgedistill manifest-schema` prints it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from edgedistill.errors import UserError

SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "manifest-v2.json"


@functools.cache
def manifest_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@functools.cache
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(manifest_schema())


def check_against_schema(mapping: Any, where: str) -> None:
    """Raise a one-line UserError naming the first place `mapping` breaks the schema."""
    from jsonschema.exceptions import best_match

    try:
        error = best_match(_validator().iter_errors(mapping))
    except RecursionError:
        raise UserError(f"{where}: nests too deeply to be a manifest") from None
    if error is not None:
        message = " ".join(error.message.split())[:200]
        raise UserError(f"{where}: does not match the manifest schema at {error.json_path}: {message}")
