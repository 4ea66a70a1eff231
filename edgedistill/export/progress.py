"""Export's progress lines on stderr, one per step, shared by the pipeline's modules."""

from __future__ import annotations

from edgedistill.terminal import TextConsole

console = TextConsole(stderr=True, highlight=False, soft_wrap=True)


def say(text: str, style: str | None = None) -> None:
    """A progress line on stderr; markup off because recipe descriptions may contain brackets."""
    console.print(text, style=style, markup=False)
