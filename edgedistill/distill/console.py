"""Progress bars and one-line status messages on stderr, shown by the main process only."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def log(message: str, enabled: bool = True) -> None:
    """Print a status line to stderr (stdout carries the metrics JSON)."""
    if enabled:
        print(message, file=sys.stderr, flush=True)


def progress(items: Iterable[T], description: str, total: int | None = None, enabled: bool = True) -> Iterator[T]:
    """Wrap `items` in a progress bar on stderr; a log file gets an update every few seconds, not every step."""
    interactive = sys.stderr.isatty()
    return iter(tqdm(items, desc=description, total=total, disable=not enabled, leave=False, file=sys.stderr,
                     mininterval=0.1 if interactive else 5.0, dynamic_ncols=True))
