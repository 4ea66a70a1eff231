"""Resident memory of this process, and the peak an artifact adds to it.

Linux keeps a high-water mark (VmHWM) that writing "5" to /proc/self/clear_refs resets,
so a measurement taken after loading torch still shows the artifact's own peak.
Elsewhere `ru_maxrss` is the whole process's lifetime peak, reported as such.
"""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_mb(field: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def current_rss_mb() -> float | None:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident memory since start or since the last `reset_peak`."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024.0 * 1024.0) if sys.platform == "darwin" else maxrss / 1024.0


def reset_peak() -> bool:
    """Reset the high-water mark to the current RSS; False where the OS does not support it."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


@dataclass
class PeakMemory:
    """Context manager: the peak RSS while the block ran, and how far above the starting RSS it went."""

    baseline_mb: float | None = None
    peak_mb: float | None = None
    peak_reset: bool = False

    def __enter__(self) -> PeakMemory:
        self.baseline_mb = current_rss_mb()
        self.peak_reset = reset_peak()
        return self

    def __exit__(self, *exc_info) -> None:
        self.peak_mb = peak_rss_mb()

    def as_dict(self) -> dict[str, float | bool | None]:
        delta = None if self.baseline_mb is None or self.peak_mb is None else max(0.0, self.peak_mb - self.baseline_mb)
        return {"peak_rss_mb": _round(self.peak_mb), "peak_rss_delta_mb": _round(delta),
                "baseline_rss_mb": _round(self.baseline_mb), "peak_reset": self.peak_reset}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
