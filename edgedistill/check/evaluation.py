"""What a bundle is scored on, per task, with no torch: texts by accuracy, or sentences of words by entity F1.

Export and check share it. Each encodes its items into batch-1 examples the way a device does, turns the
runtime's raw outputs into rows that can be compared (a text's class logits; a sentence's logits at each word's
first sub-token, see edgedistill.tasks.words), and scores those rows against the labels and the fp32 student.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgedistill.check.runner import Example, encode_examples, padded_example, stacked
from edgedistill.data.dataset import DataSpec, LabelledTexts, Splits
from edgedistill.data.splits import load_splits
from edgedistill.data.tagged import TaggedSentences, TaggedSplits, load_tagged_splits
from edgedistill.errors import UserError
from edgedistill.metrics import (
    accuracy,
    accuracy_drop_interval,
    agreement,
    macro_f1,
    max_abs_logit_diff,
)
from edgedistill.profiles import SequencePolicy
from edgedistill.tasks.kinds import SEQUENCE_TASK, TASK_METRICS, TOKEN_TASK
from edgedistill.tasks.words import first_subtokens, word_metrics
from edgedistill.text.encode import TextEncoder

# A split's rows: (texts, classes) logits for text tasks; one (kept words, tags) array per sentence for words.
Rows = Any
Split = Any  # LabelledTexts or TaggedSentences


@dataclass
class Encoded:
    """Batch-1 examples and, for words, each sentence's first-sub-token positions (None for texts)."""

    examples: list[Example]
    word_positions: list[list[int]] | None = None

    def rows(self, outputs: list[np.ndarray]) -> Rows:
        """The comparable rows of the raw per-example outputs (a static-shape runtime's extra positions are
        never read: every word position lies inside its example's own width)."""
        if self.word_positions is None:
            return stacked(outputs)
        return [np.asarray(out, dtype=np.float32)[0][positions] for out, positions in zip(outputs, self.word_positions)]


class TaskScoring(ABC):
    """One task's items, encoding and scores."""

    task: ClassVar[str]

    def __init__(self, labels: list[str]):
        self.labels = list(labels)

    @property
    def metric(self) -> str:
        return TASK_METRICS[self.task]

    @abstractmethod
    def items(self, split: Split) -> list:
        """What is fed to the model: texts, or word lists."""

    @abstractmethod
    def encode(self, tokenizer_json: Path, items: list, sequence: SequencePolicy,
               fixed_length: int | None = None) -> Encoded:
        """One example per item, truncated and padded as the sequence policy says."""

    @abstractmethod
    def score(self, rows: Rows, split: Split) -> dict[str, Any]:
        """The task metric (and its companions) of `rows` against the split's labels."""

    @abstractmethod
    def flat(self, rows: Rows) -> np.ndarray:
        """Rows as one (N, classes) array, for agreement and logit differences."""

    def compare(self, rows: Rows, reference: Rows) -> dict[str, float]:
        """Argmax agreement and max abs logit difference against the fp32 student's rows."""
        ours, theirs = self.flat(rows), self.flat(reference)
        return {"agreement": agreement(ours, theirs), "max_abs_logit_diff": max_abs_logit_diff(ours, theirs)}

    def figures(self, rows: Rows, reference: Rows, split: Split) -> dict[str, Any]:
        """Everything export records for one labelled split: scores, the fp32 student's, and the comparison."""
        return {**self.score(rows, split), f"reference_{self.metric}": self.score(reference, split)[self.metric],
                **self.compare(rows, reference), "examples": len(split)}


class TextScoring(TaskScoring):
    """One label per text, scored by accuracy."""

    task = SEQUENCE_TASK

    def items(self, split: LabelledTexts) -> list[str]:
        return split.texts

    def encode(self, tokenizer_json, items, sequence, fixed_length=None) -> Encoded:
        return Encoded(encode_examples(tokenizer_json, items, sequence, fixed_length))

    def score(self, rows, split: LabelledTexts) -> dict[str, Any]:
        return {"accuracy": accuracy(rows, split.labels), "macro_f1": macro_f1(rows, split.labels, len(self.labels))}

    def flat(self, rows) -> np.ndarray:
        return rows

    def figures(self, rows, reference, split: LabelledTexts) -> dict[str, Any]:
        return {**super().figures(rows, reference, split),
                "accuracy_drop_ci95_points": list(accuracy_drop_interval(rows, reference, split.labels))}


class WordScoring(TaskScoring):
    """One tag per word, scored by entity-level F1 (conlleval rules) over the words each sentence keeps."""

    task = TOKEN_TASK

    def items(self, split: TaggedSentences) -> list[list[str]]:
        return split.tokens

    def encode(self, tokenizer_json, items, sequence, fixed_length=None) -> Encoded:
        encoder = TextEncoder(tokenizer_json, fixed_length or sequence.longest)
        examples, positions = [], []
        for words in items:
            ids, mask, (word_ids,) = encoder.encode_words([words])
            examples.append(padded_example(encoder, ids, mask, sequence, fixed_length))
            positions.append(first_subtokens(word_ids))
        return Encoded(examples, positions)

    def score(self, rows, split: TaggedSentences) -> dict[str, Any]:
        return word_metrics(rows, [len(words) for words in split.tokens], split.tags, self.labels)

    def flat(self, rows) -> np.ndarray:
        return np.concatenate([row for row in rows if len(row)]) if any(len(row) for row in rows) else \
            np.zeros((0, len(self.labels)), np.float32)

    def figures(self, rows, reference, split: TaggedSentences) -> dict[str, Any]:
        return {**super().figures(rows, reference, split), "words": sum(len(row) for row in rows)}


SCORINGS: dict[str, type[TaskScoring]] = {SEQUENCE_TASK: TextScoring, TOKEN_TASK: WordScoring}


def scoring_for(task: str, labels: list[str]) -> TaskScoring:
    if task not in SCORINGS:
        raise UserError(f"unknown task {task!r}; expected one of: {', '.join(SCORINGS)}")
    return SCORINGS[task](labels)


def load_task_splits(spec: DataSpec, task: str, labels: list[str]) -> Splits | TaggedSplits:
    """The train/validation/test splits a model was trained on, re-derived from its data spec."""
    if task == SEQUENCE_TASK:
        return load_splits(spec, label_names=labels)
    splits = load_tagged_splits(spec.source, spec.test_source, spec.seed, spec.validation_fraction, spec.test_fraction)
    unknown = sorted({tag for tags in splits.train.tags + splits.test.tags for tag in tags} - set(labels))
    if unknown:
        raise UserError(f"{spec.source}: tag {unknown[0]!r} is not one of the model's tags ({', '.join(labels)})")
    return TaggedSplits(splits.train, splits.validation, splits.test, list(labels))

