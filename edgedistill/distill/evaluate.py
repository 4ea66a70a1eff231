"""The figures teach and distill report, from the same numpy functions `check` uses on devices."""

from __future__ import annotations

import numpy as np

from edgedistill.distill.batches import EncodedTexts
from edgedistill.distill.predict import predict_logits
from edgedistill.distill.training import Validator
from edgedistill.metrics import accuracy, agreement, macro_f1


def classification_metrics(logits: np.ndarray, labels: list[int]) -> dict[str, float]:
    """Accuracy and macro-F1 of `logits` against integer `labels`."""
    return {"accuracy": accuracy(logits, labels), "macro_f1": macro_f1(logits, labels, logits.shape[-1])}


def text_validator(encoded: EncodedTexts, labels: list[int], teacher_logits: np.ndarray | None = None) -> Validator:
    """A text classifier is scored, and the best weights picked, by validation accuracy; with the teacher's
    validation logits, agreement with the teacher breaks ties."""
    def measure(model) -> dict[str, float]:
        logits = predict_logits(model, encoded)
        scores = classification_metrics(logits, labels)
        return scores if teacher_logits is None else {**scores, "teacher_agreement": agreement(logits, teacher_logits)}

    return Validator("accuracy", measure, tie_breaker=None if teacher_logits is None else "teacher_agreement")
