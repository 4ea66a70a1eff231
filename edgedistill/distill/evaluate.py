"""Classification figures computed from logits: accuracy, macro-F1 and argmax agreement (numpy only)."""

from __future__ import annotations

import numpy as np


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(predictions) == np.asarray(labels)))


def macro_f1(predictions: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """Unweighted mean of per-class F1; a class never predicted nor present counts as 0."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    scores = []
    for cls in range(num_classes):
        true_positive = np.sum((predictions == cls) & (labels == cls))
        predicted, actual = np.sum(predictions == cls), np.sum(labels == cls)
        denominator = predicted + actual
        scores.append(2 * true_positive / denominator if denominator else 0.0)
    return float(np.mean(scores))


def agreement(first_logits: np.ndarray, second_logits: np.ndarray) -> float:
    """Fraction of rows where two models predict the same class."""
    return float(np.mean(first_logits.argmax(-1) == second_logits.argmax(-1)))


def classification_metrics(logits: np.ndarray, labels: list[int]) -> dict[str, float]:
    """Accuracy and macro-F1 of `logits` against integer `labels`."""
    predictions = logits.argmax(-1)
    return {"accuracy": accuracy(predictions, np.asarray(labels)),
            "macro_f1": macro_f1(predictions, np.asarray(labels), logits.shape[-1])}
