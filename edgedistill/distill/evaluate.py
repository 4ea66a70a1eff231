"""The figures teach and distill report, from the same numpy functions `check` uses on devices."""

from __future__ import annotations

import numpy as np

from edgedistill.distill.batches import EncodedTexts
from edgedistill.distill.predict import predict_logits
from edgedistill.distill.training import Validator
from edgedistill.metrics import accuracy, macro_f1


def classification_metrics(logits: np.ndarray, labels: list[int]) -> dict[str, float]:
    """Accuracy and macro-F1 of `logits` against integer `labels`."""
    return {"accuracy": accuracy(logits, labels), "macro_f1": macro_f1(logits, labels, logits.shape[-1])}


def text_validator(encoded: EncodedTexts, labels: list[int]) -> Validator:
    """Epochs of a text classifier are scored, and the best picked, by validation accuracy."""
    return Validator("accuracy", lambda model: classification_metrics(predict_logits(model, encoded), labels))
