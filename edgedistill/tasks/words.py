"""Sub-tokens back to words: which position speaks for each word, and per-word tags from per-token logits.

Every stage agrees on one rule: a word is represented by its first sub-token. Labels sit there (the
continuation sub-tokens are ignored), the KD loss compares teacher and student there, and an app decodes there. Two tokenizers that split words differently
still agree on words, which is what lets a student with another tokenizer learn from the teacher.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgedistill.tasks.entities import OUTSIDE, Entity, entities, entity_scores

IGNORED = -100


def first_subtokens(word_ids: Sequence[int | None]) -> list[int]:
    """Position of the first sub-token of each word, in word order; special and padding positions have no word."""
    positions: dict[int, int] = {}
    for position, word in enumerate(word_ids):
        if word is not None and word not in positions:
            positions[word] = position
    return [positions[word] for word in sorted(positions)]


def word_tags(logits: np.ndarray, word_ids: Sequence[int | None], tag_names: Sequence[str], num_words: int) -> list[str]:
    """The tag of each of `num_words` words (argmax at its first sub-token) from one sentence's (positions, tags)
    logits; a word truncation cut off gets "O"."""
    if logits.ndim != 2 or logits.shape[1] != len(tag_names):
        raise ValueError(f"expected (positions, {len(tag_names)}) logits, got {logits.shape}")
    return tags_of_words(logits[first_subtokens(word_ids)], tag_names, num_words)


def tags_of_words(word_logits: np.ndarray, tag_names: Sequence[str], num_words: int) -> list[str]:
    """The argmax tag of each word from (kept words, tags) logits; the words truncation cut off are tagged "O"."""
    kept = [tag_names[int(index)] for index in np.argmax(word_logits, axis=-1)] if len(word_logits) else []
    return kept + [OUTSIDE] * (num_words - len(kept))


def word_tag_predictions(word_logits: Sequence[np.ndarray], num_words: Sequence[int],
                         tag_names: Sequence[str]) -> list[list[str]]:
    """Each sentence's tags by argmax over its (kept words, tags) logits; words cut off by truncation are O."""
    return [tags_of_words(logits, tag_names, count) for logits, count in zip(word_logits, num_words)]


def word_metrics(word_logits: Sequence[np.ndarray], num_words: Sequence[int], tags: Sequence[Sequence[str]],
                 tag_names: Sequence[str]) -> dict:
    """Entity-level precision, recall and F1 (conlleval rules) of per-word logits, with per-type figures."""
    scores = entity_scores(tags, word_tag_predictions(word_logits, num_words, tag_names))
    return {"entity_f1": scores.f1, "entity_precision": scores.precision, "entity_recall": scores.recall,
            "per_type": scores.per_type}


def decode_entities(words: Sequence[str], tags: Sequence[str]) -> list[dict]:
    """Entity spans over the original words: {"type", "start", "end", "text"}, end inclusive."""
    return [_span(words, entity) for entity in entities(tags)]


def _span(words: Sequence[str], entity: Entity) -> dict:
    return {"type": entity.kind, "start": entity.start, "end": entity.end,
            "text": " ".join(words[entity.start:entity.end + 1])}
