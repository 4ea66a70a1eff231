"""Typed reads of the JSON objects `report` takes from files anyone may edit (export_report.json, checks.json).

Every read checks the value's type, as `parse_manifest` checks a manifest's, and a wrong one is a one-line error
naming the file and the field ("runtimes.onnxruntime.candidates[0].export_s must be a number (got 'abc')"), not
a crash deep in a plot. A field the writer may leave out reads as None.
"""

from __future__ import annotations

import math
import re
from typing import Any

from edgedistill.errors import UserError

# A lone surrogate comes from a "\ud800" escape; it cannot be written to a page or drawn, so it is no text.
_SURROGATE = re.compile("[\ud800-\udfff]")


class Fields:
    """One JSON object of file `where`, found at `field` in it ("" for the whole file)."""

    def __init__(self, value: Any, where: str, field: str = ""):
        if not isinstance(value, dict):
            raise self._wrong(field, "a JSON object", value, where)
        self.value, self.where, self.field = value, where, field

    def text(self, key: str, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is not None and (not isinstance(value, str) or _SURROGATE.search(value)):
            raise self._wrong(self._name(key), "text", value)
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        value = self._get(key)
        if value is not None and value not in choices:
            raise self._wrong(self._name(key), f"one of {', '.join(choices)}", value)
        return value

    def number(self, key: str, required: bool = False) -> float | None:
        value = self._get(key, required)
        if value is not None and not is_number(value):
            raise self._wrong(self._name(key), "a finite number", value)
        return value

    def flag(self, key: str) -> bool | None:
        value = self._get(key)
        if value is not None and not isinstance(value, bool):
            raise self._wrong(self._name(key), "true or false", value)
        return value

    def table(self, key: str, required: bool = False) -> Fields | None:
        value = self._get(key, required)
        return None if value is None else Fields(value, self.where, self._name(key))

    def items(self, key: str) -> list[Any]:
        value = self._get(key, required=True)
        if not isinstance(value, list):
            raise self._wrong(self._name(key), "a list", value)
        return value

    def entries(self) -> list[tuple[str, Any]]:
        """The object's own keys and values, every key text."""
        for key in self.value:
            if _SURROGATE.search(key):
                raise self._wrong(self._name(key), "named by text", key)
        return list(self.value.items())

    def _get(self, key: str, required: bool = False) -> Any:
        value = self.value.get(key)
        if value is None and required:
            raise UserError(f"{self.where}: {self._name(key)} is missing; this is not a file edgedistill wrote")
        return value

    def _name(self, key: str) -> str:
        return f"{self.field}.{key}" if self.field else key

    def _wrong(self, field: str, kind: str, value: Any, where: str | None = None) -> UserError:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return UserError(f"{where or self.where}: {field or 'the file'} must be {kind} (got {shown})")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
