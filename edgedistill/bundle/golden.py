"""Golden vectors: a few texts at several lengths with their token ids and fp32 student logits.

App teams test their tokenizer and integration against them; `check` uses them for
parity at every length. Shorter texts are padded and longer ones truncated to each
length's token budget; under a `fixed` sequence policy every input is padded to its bucket.
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
    logits: np.ndarray  # (1, classes) float32


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


def build_golden(texts: list[str], tokenizer_json: Path, sequence: SequencePolicy, reference: Reference) -> dict[str, Any]:
    """The golden.json payload; `reference` maps (ids, mask) to the fp32 student's logits."""
    texts = [clip_text(text, sequence.longest) for text in texts]  # the same ids, and no 50 MB text in the file
    cases = []
    for max_tokens in golden_lengths(sequence):
        encoder = TextEncoder(tokenizer_json, max_tokens)
        ids, mask = encoder.encode(texts, pad_to=sequence.width_for(max_tokens))
        logits = reference(ids, mask)
        for row, text in enumerate(texts):
            cases.append({"text": text, "max_tokens": max_tokens, "input_ids": ids[row].tolist(),
                          "attention_mask": mask[row].tolist(), "logits": [float(x) for x in logits[row]]})
    return {
        "schema_version": GOLDEN_SCHEMA_VERSION,
        "description": "Texts truncated to max_tokens, padded to len(input_ids); logits from the fp32 student in PyTorch.",
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
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise UserError(f"{where}: case {number} is malformed ({type(exc).__name__}: {str(exc)[:80]})") from None
        if not isinstance(text, str):
            raise UserError(f"{where}: case {number} has a text that is not a string")
        if ids.shape != mask.shape or ids.ndim != 2:
            raise UserError(f"{where}: case {number} has input_ids and attention_mask of different shapes")
        if logits.ndim != 2 or logits.shape[1] < 2 or (parsed and logits.shape[1] != parsed[0].logits.shape[1]):
            raise UserError(f"{where}: case {number} has {logits.shape[-1]} logits; every case needs one per label")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 2 <= max_tokens <= ids.shape[1]:
            raise UserError(f"{where}: case {number} has max_tokens {max_tokens!r}; expected 2..{ids.shape[1]}")
        if ids.min(initial=0) < 0 or not set(np.unique(mask)) <= {0, 1} or not np.isfinite(logits).all():
            raise UserError(f"{where}: case {number} has negative ids, a mask other than 0/1, or non-finite logits")
        parsed.append(GoldenCase(text, max_tokens, ids, mask, logits))
    return parsed
