"""Sub-tokens back to words: which position speaks for each word, and per-word tags from per-token logits.

Every stage agrees on one rule: a word is represented by its first sub-token. Labels sit there (the
continuation sub-tokens are ignored, or carry the word's label under `label_all_subtokens`), the KD loss
compares teacher and student there, and an app decodes there. Two tokenizers that split words differently
still agree on words, which is what lets a student with another tokenizer learn from the teacher.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgedistill.tasks.entities import OUTSIDE, Entity, entities

IGNORED = -100


def first_subtokens(word_ids: Sequence[int | None]) -> list[int]:
    """Position of the first sub-token of each word, in word order; special and padding positions have no word."""
    positions: dict[int, int] = {}
    for position, word in enumerate(word_ids):
        if word is not None and word not in positions:
            positions[word] = position
    return [positions[word] for word in sorted(positions)]


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int], label_all_subtokens: bool = False) -> list[int]:
    """Per-position label ids: the word's label at its first sub-token, IGNORED elsewhere (or the word's label on
    every sub-token with `label_all_subtokens`). Words cut off by truncation simply get no position."""
    aligned, previous = [], None
    for word in word_ids:
        if word is None:
            aligned.append(IGNORED)
        elif word != previous or label_all_subtokens:
            aligned.append(word_labels[word])
        else:
            aligned.append(IGNORED)
        previous = word
    return aligned


def word_tags(logits: np.ndarray, word_ids: Sequence[int | None], tag_names: Sequence[str], num_words: int) -> list[str]:
    """The tag of each of `num_words` words (argmax at its first sub-token) from one sentence's (positions, tags)
    logits; a word truncation cut off gets "O"."""
    if logits.ndim != 2 or logits.shape[1] != len(tag_names):
        raise ValueError(f"expected (positions, {len(tag_names)}) logits, got {logits.shape}")
    tags = [OUTSIDE] * num_words
    for word, position in enumerate(first_subtokens(word_ids)):
        tags[word] = tag_names[int(np.argmax(logits[position]))]
    return tags


def decode_entities(words: Sequence[str], tags: Sequence[str]) -> list[dict]:
    """Entity spans over the original words: {"type", "start", "end", "text"}, end inclusive."""
    return [_span(words, entity) for entity in entities(tags)]


def _span(words: Sequence[str], entity: Entity) -> dict:
    return {"type": entity.kind, "start": entity.start, "end": entity.end,
            "text": " ".join(words[entity.start:entity.end + 1])}
