"""Progress lines on stderr, from the one console that export, run and report share (stdout carries results)."""

from __future__ import annotations

from edgedistill.terminal import TextConsole

console = TextConsole(stderr=True, highlight=False, soft_wrap=True)


def say(text: str, style: str | None = None) -> None:
    """A progress line on stderr; markup off because recipe descriptions and paths may contain brackets."""
    console.print(text, style=style, markup=False)
