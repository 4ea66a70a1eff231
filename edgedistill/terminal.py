"""What edgedistill prints: text from a file, a registry, a board or a model is shown on the terminal, never obeyed.

Any of those may hold control characters. ESC starts a sequence that clears the screen or hides what follows
(an index entry's runtime of "\\x1b[2J\\x1b[8m" did both under `bundles`), CR and BS overwrite what was printed,
and a newline forges a line of its own; a lone surrogate cannot be written as UTF-8 at all. `printable` escapes
each as Python writes it in a string (`\\x1b`, `\\n`, `\\ud800`). Every line edgedistill prints passes through it:
rich output through `TextConsole` (every string rich prints, table cells and titles included, goes through
`render_str`), plain lines by calling it, and JSON through `json_text`. Rich markup in a value is a separate
matter, escaped where markup is on (tables.py).
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from edgedistill.errors import UserError

# C0, DEL and C1 (0x80-0x9f: 0x9b alone starts a sequence on some terminals), then the lone surrogates.
_CONTROLS = (*range(0x20), *range(0x7F, 0xA0))
_SURROGATES = range(0xD800, 0xE000)
_ESCAPES = {**{code: f"\\x{code:02x}" for code in _CONTROLS}, **{code: f"\\u{code:04x}" for code in _SURROGATES},
            ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"}
# json.dumps escapes C0 itself; with ensure_ascii=False it leaves DEL, C1 and lone surrogates as they are.
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in (*range(0x7F, 0xA0), *_SURROGATES)}


def printable(value: object) -> str:
    """`value` as text with every control character and lone surrogate escaped: one line, inert on a terminal."""
    return str(value).translate(_ESCAPES)


def json_text(payload: Any, **options: Any) -> str:
    """JSON that keeps non-ASCII text readable (ensure_ascii=False) yet holds no raw control character."""
    return json.dumps(payload, ensure_ascii=False, **options).translate(_JSON_ESCAPES)


class TextConsole(Console):
    """A rich console that prints every string it is given through `printable`, before rich measures it."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(printable(text), **options)


class GuardedOutput:
    """Standard output for one command, where a failed write (a full disk, `> /dev/full`, a closed pipe) is one
    line of error instead of a traceback. What is still buffered then goes to /dev/null, so the interpreter's
    own flush at exit cannot fail a second time."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise self._failed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._failed(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _failed(self, exc: OSError) -> UserError:
        discard = os.open(os.devnull, os.O_WRONLY)
        os.dup2(discard, self._stream.fileno())
        os.close(discard)
        return UserError(f"cannot write to standard output ({exc.strerror or exc}); the output is incomplete")
