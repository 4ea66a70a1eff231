"""Texts are Unicode: one holding a lone surrogate is refused where it enters, with one line naming where.

A lone surrogate is what a JSON "\\ud800" escape decodes to, and what Python makes of argument bytes that are not
UTF-8 (`$'\\xff'`); the tokenizers cannot take one (a TypeError). It is refused rather than replaced with U+FFFD:
a replaced text would be classified or measured as a text other than the one given, with nothing to say so.
"""

from __future__ import annotations

import re

from edgedistill.errors import UserError

_SURROGATE = re.compile("[\ud800-\udfff]")


def require_text(text: str, where: str) -> str:
    """`text`, where it holds no lone surrogate; else one line naming `where` ("data.jsonl line 3", "text 2")."""
    found = _SURROGATE.search(text)
    if found is not None:
        code = ord(found.group())
        raise UserError(f"{where} holds U+{code:04X} at character {found.start()}, a lone surrogate, which is not "
                        f"text (a \\u{code:04x} escape in JSON, or bytes that are not UTF-8 in an argument); fix or "
                        "remove it")
    return text
