"""Classification figures from logits (numpy only)."""

from __future__ import annotations

import numpy as np


def accuracy(logits: np.ndarray, labels: list[int] | np.ndarray) -> float:
    """Fraction of rows whose argmax is the label."""
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels)))


def macro_f1(logits: np.ndarray, labels: list[int] | np.ndarray, num_classes: int) -> float:
    """Unweighted mean of per-class F1; a class never predicted nor present scores 0."""
    predicted = np.argmax(logits, axis=-1)
    truth = np.asarray(labels)
    scores = []
    for cls in range(num_classes):
        true_pos = np.sum((predicted == cls) & (truth == cls))
        denominator = np.sum(predicted == cls) + np.sum(truth == cls)
        scores.append(2.0 * true_pos / denominator if denominator else 0.0)
    return float(np.mean(scores))


def agreement(logits: np.ndarray, reference: np.ndarray) -> float:
    """Fraction of rows where the artifact and the reference predict the same class."""
    return float(np.mean(np.argmax(logits, axis=-1) == np.argmax(reference, axis=-1)))


def max_abs_logit_diff(logits: np.ndarray, reference: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(logits, dtype=np.float64) - np.asarray(reference, dtype=np.float64))))


def drop_points(measured: float, reference: float) -> float:
    """How far `measured` falls below `reference`, in points: hundredths of a share such as accuracy or F1."""
    return (reference - measured) * 100.0


def accuracy_drop_interval(logits: np.ndarray, reference: np.ndarray, labels: list[int] | np.ndarray,
                           resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Paired bootstrap 95% interval of the accuracy drop (reference minus artifact), in points.

    Both models are scored on the same resampled rows, so the interval reflects how many texts
    actually flip; on 400 texts one flip is 0.25 points.
    """
    truth = np.asarray(labels)
    right = (np.argmax(logits, axis=-1) == truth).astype(np.float64)
    reference_right = (np.argmax(reference, axis=-1) == truth).astype(np.float64)
    rows = np.random.default_rng(seed).integers(0, len(truth), (resamples, len(truth)))
    low, high = np.percentile(drop_points(right[rows].mean(axis=1), reference_right[rows].mean(axis=1)), [2.5, 97.5])
    return float(low), float(high)
