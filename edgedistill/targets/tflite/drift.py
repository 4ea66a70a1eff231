"""How far a converted `.tflite` strays from the model it was converted from, on a few probe inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgedistill.metrics import max_abs_logit_diff
from edgedistill.targets.tflite.runtime import TFLiteSession

PROBES = 6


def probe_inputs(vocab_size: int, length: int, count: int = PROBES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random token ids with real lengths spread from 2 tokens to the full static length, padding after."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab_size, (count, length), dtype=np.int64)
    mask = np.zeros((count, length), dtype=np.int64)
    for row, real in enumerate(np.linspace(2, length, count).astype(int)):
        mask[row, :real] = 1
    return ids * mask, mask


def max_abs_diff(artifact: Path, ids: np.ndarray, mask: np.ndarray, reference: np.ndarray) -> float:
    """Largest absolute logit difference between the artifact in LiteRT and `reference`."""
    return max_abs_logit_diff(TFLiteSession(artifact, threads=1).run(ids, mask), reference)
