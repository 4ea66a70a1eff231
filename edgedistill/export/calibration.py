"""Calibration texts for static quantization: a shipped set, a user file, or the student's train split.

Never the validation or test split: calibrating on the texts an artifact is measured on
would flatter its accuracy. Format and knobs: calibration/README.md.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from edgedistill.data.dataset import LabelledTexts
from edgedistill.data.sources import read_unlabelled
from edgedistill.data.tagged import TaggedSentences
from edgedistill.errors import UserError
from edgedistill.fsutil import NAME

DEFAULT_LIMIT = 200
SAMPLE_SEED = 0
FILE_SUFFIXES = (".jsonl", ".txt")


def calibration_dir() -> Path:
    """The shipped calibration sets: `calibration/` beside the package."""
    return Path(__file__).resolve().parents[2] / "calibration"


def shipped_names() -> list[str]:
    return sorted(path.stem for path in calibration_dir().glob("*.jsonl"))


def stratified_sample(texts: list[str], labels: list[int], limit: int, seed: int = SAMPLE_SEED) -> list[str]:
    """Up to `limit` texts with each class in proportion to its share, in a seeded order."""
    if len(texts) <= limit:
        return list(texts)
    by_class: dict[int, list[str]] = defaultdict(list)
    for text, label in zip(texts, labels):
        by_class[label].append(text)
    rng = random.Random(seed)
    chosen = []
    for label, members in sorted(by_class.items()):
        share = max(1, round(limit * len(members) / len(texts)))
        chosen += rng.sample(members, min(share, len(members)))
    rng.shuffle(chosen)
    return chosen[:limit]


def calibration_texts(source: str | None, train: LabelledTexts | TaggedSentences,
                      limit: int = DEFAULT_LIMIT) -> list[str]:
    """Texts from a .jsonl/.txt file, a shipped set by name, or (None) a sample of the student's train split."""
    if source is None:
        return train_sample(train, limit)
    texts = read_calibration_set(source)
    return random.Random(SAMPLE_SEED).sample(texts, limit) if len(texts) > limit else texts


def read_calibration_set(source: str) -> list[str]:
    """Every text of a .jsonl/.txt file or of a shipped set by name."""
    path = Path(source)
    if path.suffix not in FILE_SUFFIXES:
        path = calibration_dir() / f"{source}.jsonl"
        if not NAME.fullmatch(source) or not path.is_file():  # a name, never a way out of the folder
            raise UserError(f"unknown calibration set {source!r}; use a .jsonl/.txt file or one of: "
                            f"{', '.join(shipped_names()) or '(none shipped)'}")
    texts = read_unlabelled(str(path), "text")
    if not texts:
        raise UserError(f"calibration file {path} has no texts")
    return texts


def train_sample(train: LabelledTexts | TaggedSentences, limit: int) -> list[str]:
    """A stratified sample of the train texts; a token classifier's sentences, joined by spaces, in a seeded one."""
    if isinstance(train, TaggedSentences):
        texts = [" ".join(words) for words in train.tokens]
        return random.Random(SAMPLE_SEED).sample(texts, min(limit, len(texts)))
    return stratified_sample(train.texts, train.labels, limit)
