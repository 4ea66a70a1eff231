"""The published JSON Schemas edgedistill's files are checked against on write and on read.

`schemas/manifest-v4.json` describes the current `manifest.json` (`manifest-v3.json` and `-v2.json` older ones) and
`schemas/bench-result-v1.json` what `bench --out` writes. App teams validate their copies in their own builds
against the same files; `edgedistill manifest-schema` prints the manifest's. The files are read as package
resources, so they are found when edgedistill runs from a zip on a board's PYTHONPATH (`bench --ssh`).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from edgedistill.errors import UserError

SCHEMAS = resources.files(__package__).joinpath("schemas")
MANIFEST_SCHEMA_VERSION = 4
# Manifest versions with a published schema; version 1 predates it.
MANIFEST_SCHEMAS = {2: "manifest-v2.json", 3: "manifest-v3.json", 4: "manifest-v4.json"}
SCHEMA_FILE = SCHEMAS.joinpath(MANIFEST_SCHEMAS[MANIFEST_SCHEMA_VERSION])


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(SCHEMAS.joinpath(name).read_text(encoding="utf-8"))


def manifest_schema() -> dict[str, Any]:
    """The schema of the manifests this edgedistill writes."""
    return load_schema(MANIFEST_SCHEMAS[MANIFEST_SCHEMA_VERSION])


@functools.cache
def _validator(name: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


def check_against_schema(mapping: Any, where: str, name: str = MANIFEST_SCHEMAS[MANIFEST_SCHEMA_VERSION],
                         what: str = "the manifest schema") -> None:
    """Raise a one-line UserError naming the first place `mapping` breaks the schema in file `name`."""
    from jsonschema.exceptions import best_match

    try:
        error = best_match(_validator(name).iter_errors(mapping))
    except RecursionError:
        raise UserError(f"{where}: nests too deeply to be a file edgedistill wrote") from None
    if error is not None:
        message = " ".join(error.message.split())[:200]
        raise UserError(f"{where}: does not match {what} at {error.json_path}: {message}")
