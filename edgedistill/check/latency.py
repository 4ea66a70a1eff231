"""Timing loops and latency percentiles in milliseconds."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def elapsed_ms(fn: Callable[[], object]) -> tuple[object, float]:
    """Call `fn` once and return its result with the wall time it took."""
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1e3


def summarize(samples_ms: list[float]) -> dict[str, float]:
    """p50/p90/p99/mean/min/max of timing samples."""
    if not samples_ms:
        raise ValueError("no timing samples")
    values = np.asarray(samples_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "mean": float(values.mean()),
            "min": float(values.min()), "max": float(values.max()), "runs": int(values.size)}


def time_steady_state(fn: Callable[[], object], min_runs: int, min_seconds: float) -> list[float]:
    """Time `fn` until both at least `min_runs` calls and `min_seconds` have passed."""
    samples: list[float] = []
    deadline = time.perf_counter() + min_seconds
    while len(samples) < min_runs or time.perf_counter() < deadline:
        samples.append(elapsed_ms(fn)[1])
    return samples
