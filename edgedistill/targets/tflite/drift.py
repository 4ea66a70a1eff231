"""How far a converted `.tflite` strays from the model it was converted from, on a few probe inputs per static length."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgedistill.metrics import max_abs_logit_diff
from edgedistill.targets.tflite.runtime import TFLiteSession

PROBES = 6

# (input_ids, attention_mask) -> the logits of the model the artifact was converted from.
Reference = Callable[[np.ndarray, np.ndarray], np.ndarray]


def probe_inputs(vocab_size: int, length: int, count: int = PROBES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random token ids with real lengths spread from 2 tokens to the full static length, padding after."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab_size, (count, length), dtype=np.int64)
    mask = np.zeros((count, length), dtype=np.int64)
    for row, real in enumerate(np.linspace(2, length, count).astype(int)):
        mask[row, :real] = 1
    return ids * mask, mask


def max_abs_diff_by_length(artifact: Path, vocab_size: int, lengths: list[int], reference: Reference) -> dict[int, float]:
    """Largest absolute logit difference between the artifact in LiteRT and `reference`, probed at each
    static length, so every signature of a bucketed file runs."""
    session = TFLiteSession(artifact, threads=1)
    diffs = {}
    for length in lengths:
        ids, mask = probe_inputs(vocab_size, length)
        diffs[length] = max_abs_logit_diff(session.run(ids, mask), reference(ids, mask))
    return diffs
