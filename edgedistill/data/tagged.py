"""Tagged sentences for token classification: CoNLL-style column files, JSON lines, and builtin:conll2003.

CoNLL files hold one token per line with its tag in the last column (the word in the first), a blank line
between sentences, and optional `-DOCSTART-` lines. JSON lines hold {"tokens": [...], "tags": [...]}.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from edgedistill.data.builtin_conll import CONLL_SPLITS, conll2003_path
from edgedistill.data.sources import BUILTIN_PREFIX, numbered_lines
from edgedistill.data.splits import load_transfer
from edgedistill.errors import UserError
from edgedistill.unicode_text import require_text

DOCSTART = "-DOCSTART-"
TAGGED_SUFFIXES = (".conll", ".txt", ".tsv", ".jsonl")


@dataclass
class TaggedSentences:
    """Sentences as word lists, each with one tag per word."""

    tokens: list[list[str]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tokens)

    def append(self, words: list[str], tags: list[str]) -> None:
        self.tokens.append(words)
        self.tags.append(tags)

    def subset(self, rows: list[int]) -> TaggedSentences:
        return TaggedSentences([self.tokens[r] for r in rows], [self.tags[r] for r in rows])


@dataclass
class TaggedSplits:
    train: TaggedSentences
    validation: TaggedSentences
    test: TaggedSentences
    tag_names: list[str]


def load_tagged_splits(source: str, test_source: str | None = None, seed: int = 13,
                       validation_fraction: float = 0.1, test_fraction: float = 0.1) -> TaggedSplits:
    """builtin:conll2003's own train/validation/test, or a user file split at random by sentence (a separate
    `test_source` is then the test split). Tags are ordered O first, then by type and B before I."""
    if source == f"{BUILTIN_PREFIX}conll2003":
        train, validation, test = (read_tagged(conll2003_path(split)) for split in CONLL_SPLITS)
    else:
        sentences = read_tagged(_tagged_path(source))
        rows = list(range(len(sentences)))
        random.Random(seed).shuffle(rows)
        held_test = 0 if test_source else round(len(rows) * test_fraction)
        held_validation = round(len(rows) * validation_fraction)
        if len(rows) - held_test - held_validation < 1 or held_validation < 1:
            raise UserError(f"{source}: {len(rows)} sentence(s) is too few to split into train and validation")
        validation = sentences.subset(rows[:held_validation])
        test = read_tagged(_tagged_path(test_source)) if test_source else sentences.subset(
            rows[held_validation:held_validation + held_test])
        train = sentences.subset(rows[held_validation + held_test:])
    return TaggedSplits(train, validation, test, tag_order(tag for sentence in train.tags for tag in sentence))


def load_transfer_sentences(source: str, text_column: str, limit: int | None, seed: int,
                            held_out: list[list[str]]) -> tuple[list[list[str]], int]:
    """The transfer set as token classification uses it: unlabelled texts split into words at whitespace, minus any
    sentence of the held-out word lists; returns the sentences and how many were dropped."""
    kept, dropped = load_transfer(source, text_column, limit, seed, [" ".join(words) for words in held_out])
    return [text.split() for text in kept if text.split()], dropped


def tag_order(tags) -> list[str]:
    """"O" first, then each type's B- and I- tags, types sorted by name."""
    kinds = sorted({tag.split("-", 1)[1] for tag in tags if tag != "O"})
    return ["O"] + [f"{prefix}-{kind}" for kind in kinds for prefix in ("B", "I")]


def read_tagged(path: Path) -> TaggedSentences:
    """Sentences from a CoNLL-style column file or a JSON-lines file."""
    return _read_jsonl(path) if path.suffix == ".jsonl" else _read_conll(path)


def read_tagged_file(source: str) -> TaggedSentences:
    """A user's tagged file (CoNLL columns or JSON lines), by path."""
    return read_tagged(_tagged_path(source))


def _tagged_path(source: str) -> Path:
    path = Path(source)
    if source.startswith(BUILTIN_PREFIX):
        raise UserError(f"unknown token-classification built-in {source!r}; available: {BUILTIN_PREFIX}conll2003")
    if path.suffix not in TAGGED_SUFFIXES:
        raise UserError(f"{source}: unsupported format for token classification; use CoNLL columns "
                        f"({', '.join(TAGGED_SUFFIXES[:3])}) or JSON lines (.jsonl)")
    return path


def _read_conll(path: Path) -> TaggedSentences:
    sentences, words, tags = TaggedSentences(), [], []
    for number, line in numbered_lines(path):
        columns = line.split()
        if not columns or columns[0] == DOCSTART:
            if words:
                sentences.append(words, tags)
            words, tags = [], []
            continue
        if len(columns) < 2:
            raise UserError(f"{path}: line {number} has one column; CoNLL lines are 'WORD ... TAG'")
        words.append(columns[0])
        tags.append(_checked_tag(columns[-1], path, number))
    if words:
        sentences.append(words, tags)
    return _non_empty(sentences, path)


def _read_jsonl(path: Path) -> TaggedSentences:
    sentences = TaggedSentences()
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise UserError(f"{path}: line {number} is not valid JSON") from None
        words, tags = (row.get("tokens"), row.get("tags")) if isinstance(row, dict) else (None, None)
        if not (isinstance(words, list) and isinstance(tags, list) and words and len(words) == len(tags)
                and all(isinstance(word, str) and word.strip() for word in words)):
            raise UserError(f"{path}: line {number} needs non-empty \"tokens\" and \"tags\" lists of equal length")
        for word in words:
            require_text(word, f"{path}: line {number}'s tokens")
        sentences.append(words, [_checked_tag(tag, path, number) for tag in tags])
    return _non_empty(sentences, path)


def _checked_tag(tag: object, path: Path, number: int) -> str:
    if not isinstance(tag, str) or not (tag == "O" or (tag[:2] in ("B-", "I-") and len(tag) > 2)):
        raise UserError(f"{path}: line {number} has tag {tag!r}; tags must be IOB2 (O, B-TYPE, I-TYPE)")
    return tag


def _non_empty(sentences: TaggedSentences, path: Path) -> TaggedSentences:
    if not sentences:
        raise UserError(f"{path}: no tagged sentences found")
    return sentences
