"""Pin this process to the cores a device profile names, where they exist here."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def pinned_to(cores: list[int]) -> Iterator[list[int]]:
    """Pin to the requested cores that exist on this machine; yield the ones applied, restore on exit."""
    if not cores or not hasattr(os, "sched_setaffinity"):
        yield []
        return
    previous = os.sched_getaffinity(0)
    applied = sorted(set(cores) & previous)
    if not applied:
        yield []
        return
    os.sched_setaffinity(0, applied)
    try:
        yield applied
    finally:
        os.sched_setaffinity(0, previous)
