"""Timing loops and latency percentiles in milliseconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# The percentiles a latency distribution keeps: 21 numbers draw its shape in a report, where a thousand
# samples per candidate would swell export_report.json.
DISTRIBUTION_PERCENTILES = tuple(range(0, 101, 5))


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


@dataclass(frozen=True)
class LatencyDistribution:
    """Timing samples summarised by their percentiles (`ms[i]` is the `percentiles[i]`th percentile)."""

    percentiles: list[int]
    ms: list[float]

    @classmethod
    def of(cls, samples_ms: list[float]) -> LatencyDistribution:
        if not samples_ms:
            raise ValueError("no timing samples")
        values = np.percentile(np.asarray(samples_ms, dtype=np.float64), DISTRIBUTION_PERCENTILES)
        return cls(list(DISTRIBUTION_PERCENTILES), [float(value) for value in values])

    def at(self, percentile: int) -> float:
        """The recorded percentile `percentile` (one of `percentiles`)."""
        return self.ms[self.percentiles.index(percentile)]


def time_steady_state(fn: Callable[[], object], min_runs: int, min_seconds: float) -> list[float]:
    """Time `fn` until both at least `min_runs` calls and `min_seconds` have passed."""
    samples: list[float] = []
    deadline = time.perf_counter() + min_seconds
    while len(samples) < min_runs or time.perf_counter() < deadline:
        samples.append(elapsed_ms(fn)[1])
    return samples
