"""Golden-vector parity: the artifact against the fp32 student's stored logits, per sequence length."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from edgedistill.bundle.golden import GoldenCase
from edgedistill.errors import UserError, first_line
from edgedistill.metrics import agreement, max_abs_logit_diff
from edgedistill.targets.base import Session
from edgedistill.text.encode import TextEncoder


def golden_parity(session: Session, cases: list[GoldenCase], tolerance: float | None) -> dict:
    """Max abs logit diff and argmax agreement at each golden length.

    With a tolerance (fp32/fp16) every length must stay within it; without one (int8)
    the figures are reported and the accuracy budget is the gate.
    """
    by_length: dict[int, list[GoldenCase]] = defaultdict(list)
    for case in cases:
        by_length[case.max_tokens].append(case)
    lengths = []
    for max_tokens, group in sorted(by_length.items()):
        width = group[0].input_ids.shape[1]
        if session.fixed_length and width > session.fixed_length:
            # Narrower cases are fine: a static-shape session pads them to its length with mask 0.
            raise UserError(f"golden vectors at width {width} do not fit this artifact's static length "
                            f"{session.fixed_length}; export the bundle again")
        pairs = [_comparable(case, _run_golden(session, case)) for case in group]
        logits, expected = (np.concatenate(side) for side in zip(*pairs))
        diff = max_abs_logit_diff(logits, expected)
        lengths.append({"max_tokens": max_tokens, "width": width, "cases": len(group), "max_abs_logit_diff": diff,
                        "agreement": agreement(logits, expected),
                        "passed": None if tolerance is None else diff <= tolerance})
    gated = [entry["passed"] for entry in lengths if entry["passed"] is not None]
    return {"tolerance": tolerance, "lengths": lengths, "passed": all(gated) if gated else None}


def _comparable(case: GoldenCase, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The artifact's and the golden logits as matching rows: the case's one row of class logits, or for words
    a row per real token (a static-shape artifact's extra padded positions are dropped)."""
    if case.words is None:
        output, expected = output.reshape(1, -1), case.logits
    else:
        width = case.input_ids.shape[1]
        real = case.attention_mask[0] == 1
        if output.ndim != 3 or output.shape[1] < width:
            raise UserError(f"golden vectors hold per-token logits but the artifact gives shape {list(output.shape)}; "
                            "export the bundle again")
        output, expected = output[0, :width][real], case.logits[0][real]
    if output.shape != expected.shape:
        raise UserError(f"golden vectors hold {expected.shape[-1]} logits per row but the artifact gives "
                        f"{output.shape[-1]}; export the bundle again")
    return output, expected


def _run_golden(session: Session, case: GoldenCase) -> np.ndarray:
    """One golden case's logits; inputs the runtime rejects (ids past the vocabulary) are a bad golden.json."""
    try:
        return np.asarray(session.run(case.input_ids, case.attention_mask), dtype=np.float32)
    except Exception as exc:  # each runtime raises its own type for inputs it cannot take
        raise UserError(f"a golden case at max_tokens {case.max_tokens} does not run in this artifact "
                        f"({first_line(exc, tail=True)}); export the bundle again") from None


def tokenizer_matches(tokenizer_json, cases: list[GoldenCase]) -> bool:
    """Whether this machine's tokenizer reproduces the golden token ids."""
    for case in cases:
        width = case.input_ids.shape[1]
        encoder = TextEncoder(tokenizer_json, case.max_tokens)
        if case.words is None:
            (ids, mask), word_ids = encoder.encode([case.text], pad_to=width), None
        else:
            ids, mask, (word_ids,) = encoder.encode_words([case.words], pad_to=width)
        if not (np.array_equal(ids, case.input_ids) and np.array_equal(mask, case.attention_mask)
                and word_ids == case.word_ids):
            return False
    return True
