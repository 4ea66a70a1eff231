"""JSON files written atomically and read with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_write_text

# The JSON files edgedistill writes (manifests, golden vectors, indexes, metrics) are kilobytes to a few MB;
# a bound keeps a crafted one (a 120 MB golden.json) from being parsed into gigabytes of Python objects.
MAX_JSON_BYTES = 64 * 1024 * 1024


def write_json(path: Path, payload: Any) -> None:
    """Write indented JSON atomically."""
    atomic_write_text(Path(path), dump_json(payload))


def read_json(path: Path, what: str = "file") -> Any:
    """Read a JSON file, turning a missing, oversized or malformed file into a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} not found")
    check_json_size(path.stat().st_size, what, str(path))
    return parse_json(path.read_bytes(), what, str(path))


def check_json_size(size: int, what: str, where: str) -> None:
    """Refuse a JSON file larger than any edgedistill writes, before it is read."""
    if size > MAX_JSON_BYTES:
        raise json_too_large(what, where, f"{size:,} bytes")


def json_too_large(what: str, where: str, size: str) -> UserError:
    return UserError(f"{what} {where} is {size}; edgedistill reads JSON files of at most {MAX_JSON_BYTES >> 20} MiB "
                     f"({MAX_JSON_BYTES:,} bytes) and writes none that large, so it was not written by this tool")


def parse_json(data: bytes, what: str, where: str) -> Any:
    """Parse UTF-8 JSON bytes read from `where`, turning a malformed file into a UserError."""
    check_json_size(len(data), what, where)
    try:
        return json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{what} {where} is not valid JSON: {exc}") from None
    except RecursionError:
        raise UserError(f"{what} {where} nests too deeply to be a file edgedistill wrote") from None


def dump_json(payload: Any) -> str:
    """Indented JSON text, as every JSON file edgedistill writes is laid out."""
    return json.dumps(payload, indent=2, sort_keys=False) + "\n"


def jsonable(payload: Any) -> Any:
    """Backend reports and recipe options may hold paths or numpy scalars; JSON gets their plain form."""
    def plain(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        return str(value)

    return json.loads(json.dumps(payload, default=plain))
