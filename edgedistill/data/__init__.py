"""Labelled text data: sources, the built-in MR corpus, and deterministic splits."""

from edgedistill.data.dataset import DataSpec, LabelledTexts, Splits
from edgedistill.data.splits import load_splits, load_unlabelled

__all__ = ["DataSpec", "LabelledTexts", "Splits", "load_splits", "load_unlabelled"]
