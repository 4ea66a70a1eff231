"""Golden vectors: a few texts at several lengths with their token ids and fp32 student logits.

App teams test their tokenizer and integration against them; `check` uses them for
parity at every length. Shorter texts are padded and longer ones truncated to each
length's token budget; under a `fixed` sequence policy every input is padded to its bucket.
A token classifier's cases are sentences of words: they add the words, each position's word index
(`word_ids`, null for special tokens and padding) and the logits of every position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.errors import UserError
from edgedistill.profiles import SequencePolicy
from edgedistill.text.encode import TextEncoder, clip_text
from edgedistill.unicode_text import require_text

GOLDEN_FILE = "golden.json"
GOLDEN_SCHEMA_VERSION = 1
GOLDEN_TEXT_COUNT = 6
BASE_LENGTHS = (8, 16, 32)

Reference = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class GoldenCase:
    text: str
    max_tokens: int
    input_ids: np.ndarray  # (1, width) int64
    attention_mask: np.ndarray  # (1, width) int64
    logits: np.ndarray  # (1, classes) float32; (1, width, tags) for words
    words: list[str] | None = None
    word_ids: list[int | None] | None = None


def golden_lengths(sequence: SequencePolicy) -> list[int]:
    """Token budgets to test: 8, 16, 32 and the longest input the policy allows (plus every bucket)."""
    longest = sequence.longest
    lengths = {n for n in BASE_LENGTHS if n < longest} | {longest}
    if sequence.policy == "fixed":
        lengths |= set(sequence.buckets)
    return sorted(lengths)


def pick_golden_texts(texts: list[str], count: int = GOLDEN_TEXT_COUNT) -> list[str]:
    """`count` distinct texts spread from shortest to longest, so both padding and truncation show."""
    ordered = sorted(set(texts), key=lambda text: (len(text), text))
    if len(ordered) <= count:
        return ordered
    positions = np.linspace(0, len(ordered) - 1, count).round().astype(int)
    return [ordered[i] for i in positions]


def pick_golden_sentences(sentences: list[list[str]], count: int = GOLDEN_TEXT_COUNT) -> list[list[str]]:
    """`pick_golden_texts` for sentences of words, by their space-joined text."""
    by_text = {" ".join(words): words for words in sentences}
    return [by_text[text] for text in pick_golden_texts(list(by_text), count)]


def build_golden(items: list[str] | list[list[str]], tokenizer_json: Path, sequence: SequencePolicy,
                 reference: Reference, words: bool = False) -> dict[str, Any]:
    """The golden.json payload of texts, or with `words` of sentences of words; `reference` maps (ids, mask) to
    the fp32 student's logits."""
    if not words:
        items = [clip_text(text, sequence.longest) for text in items]  # the same ids, and no 50 MB text in the file
    cases = []
    for max_tokens in golden_lengths(sequence):
        encoder = TextEncoder(tokenizer_json, max_tokens)
        width = sequence.width_for(max_tokens)
        if words:
            ids, mask, word_ids = encoder.encode_words(items, pad_to=width)
        else:
            (ids, mask), word_ids = encoder.encode(items, pad_to=width), None
        logits = np.asarray(reference(ids, mask), dtype=np.float64)
        for row, item in enumerate(items):
            case = {"text": " ".join(item) if words else item, "max_tokens": max_tokens,
                    "input_ids": ids[row].tolist(), "attention_mask": mask[row].tolist(), "logits": logits[row].tolist()}
            if words:
                case.update(words=list(item), word_ids=word_ids[row])
            cases.append(case)
    return {
        "schema_version": GOLDEN_SCHEMA_VERSION,
        "description": ("Texts truncated to max_tokens, padded to len(input_ids); logits from the fp32 student in PyTorch"
                        + (", one row per position; word_ids maps positions to words." if words else ".")),
        "sequence": {"policy": sequence.policy, "max_length": sequence.max_length, "buckets": list(sequence.buckets)},
        "lengths": golden_lengths(sequence),
        "cases": cases,
    }


def parse_golden(payload: Any, where: str) -> list[GoldenCase]:
    """The cases of a golden.json payload as arrays."""
    cases = payload.get("cases") if isinstance(payload, dict) else None
    if not isinstance(cases, list) or not cases:
        raise UserError(f"{where}: expected {{\"cases\": [...]}} with at least one case")
    parsed = []
    for number, case in enumerate(cases):
        try:
            ids = np.asarray([case["input_ids"]], dtype=np.int64)
            mask = np.asarray([case["attention_mask"]], dtype=np.int64)
            logits = np.asarray([case["logits"]], dtype=np.float32)
            max_tokens, text = case["max_tokens"], case["text"]
            words, word_ids = case.get("words"), case.get("word_ids")
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
            raise UserError(f"{where}: case {number} is malformed ({type(exc).__name__}: {str(exc)[:80]})") from None
        if not isinstance(text, str):
            raise UserError(f"{where}: case {number} has a text that is not a string")
        if ids.shape != mask.shape or ids.ndim != 2:
            raise UserError(f"{where}: case {number} has input_ids and attention_mask of different shapes")
        dims = 3 if words is not None else 2
        if (logits.ndim != dims or logits.shape[-1] < 2 or (dims == 3 and logits.shape[1] != ids.shape[1])
                or (parsed and logits.shape[-1] != parsed[0].logits.shape[-1])):
            raise UserError(f"{where}: case {number} has logits of shape {list(logits.shape[1:])}; every case needs "
                            "one per label" + (", at every position" if dims == 3 else ""))
        if words is not None and not _valid_words(words, word_ids, ids.shape[1]):
            raise UserError(f"{where}: case {number} needs words (strings) and one word id (an index or null) "
                            "per position")
        for item in (text, *(words or ())):
            require_text(item, f"{where}: case {number}'s text")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 2 <= max_tokens <= ids.shape[1]:
            raise UserError(f"{where}: case {number} has max_tokens {max_tokens!r}; expected 2..{ids.shape[1]}")
        if ids.min(initial=0) < 0 or not set(np.unique(mask)) <= {0, 1} or not np.isfinite(logits).all():
            raise UserError(f"{where}: case {number} has negative ids, a mask other than 0/1, or non-finite logits")
        parsed.append(GoldenCase(text, max_tokens, ids, mask, logits, words, word_ids))
    if len({case.words is None for case in parsed}) > 1:
        raise UserError(f"{where}: mixes cases of texts and of words")
    return parsed


def _valid_words(words: Any, word_ids: Any, width: int) -> bool:
    return (isinstance(words, list) and all(isinstance(word, str) for word in words) and isinstance(word_ids, list)
            and len(word_ids) == width and all(index is None or (type(index) is int and 0 <= index < len(words))
                                               for index in word_ids))
