"""`edgedistill predict`: classify texts with a bundle in its own runtime (no torch): the reference client an app
team mirrors, and the first check on a new board ("does it say positive for a positive sentence?").

A token classifier's text is split into words at whitespace; each word is tagged at its first sub-token and the
tags are read as entity spans over those words (edgedistill.tasks.words)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.bundle.reader import Bundle, open_bundle
from edgedistill.check.runner import encode_examples, load_session, padded_example
from edgedistill.errors import UserError
from edgedistill.targets.base import Session
from edgedistill.targets.registry import get_target
from edgedistill.tasks.kinds import TOKEN_TASK
from edgedistill.tasks.words import decode_entities, word_tags
from edgedistill.text.encode import TextEncoder
from edgedistill.unicode_text import require_text


def predict_texts(bundle: Path, texts: list[str]) -> list[dict[str, Any]]:
    """Label and class probabilities of each text (or, for a token classifier, its words' tags and entity spans),
    tokenized and padded as the bundle's manifest says."""
    if not texts:
        raise UserError("no texts to classify: pass them as arguments or as JSON lines on stdin")
    for number, text in enumerate(texts, start=1):
        require_text(text, f"text {number}")
    opened = open_bundle(bundle)
    manifest = opened.manifest
    session, _ = load_session(get_target(manifest.runtime), opened.model_path, manifest.threads)
    if manifest.task_kind == TOKEN_TASK:
        return [_tag_words(opened, session, text) for text in texts]
    results = []
    examples = encode_examples(opened.tokenizer_json, texts, manifest.sequence_policy(), session.fixed_length)
    for text, (ids, mask) in zip(texts, examples):
        logits = np.asarray(session.run(ids, mask), dtype=np.float64)[0]
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        results.append({"text": text, "label": opened.labels[int(probabilities.argmax())],
                        "probabilities": {label: float(p) for label, p in zip(opened.labels, probabilities)}})
    return results


def _tag_words(opened: Bundle, session: Session, text: str) -> dict[str, Any]:
    """One text's words, their tags and the entity spans they form (the decoder an app mirrors: per-token logits
    and word ids to tags, `tasks.words.word_tags`)."""
    words = text.split()
    if not words:
        return {"text": text, "words": [], "tags": [], "entities": []}
    sequence = opened.manifest.sequence_policy()
    encoder = TextEncoder(opened.tokenizer_json, session.fixed_length or sequence.longest)
    ids, mask, (word_ids,) = encoder.encode_words([words])
    logits = np.asarray(session.run(*padded_example(encoder, ids, mask, sequence, session.fixed_length)))[0]
    tags = word_tags(logits, word_ids, opened.labels, len(words))
    return {"text": text, "words": words, "tags": tags, "entities": decode_entities(words, tags)}
