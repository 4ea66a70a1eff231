import numpy as np
import pytest

from edgedistill.bundle.golden import build_golden, golden_lengths, parse_golden, pick_golden_texts
from edgedistill.errors import UserError
from edgedistill.profiles import SequencePolicy

DYNAMIC = SequencePolicy("dynamic", 128)
FIXED = SequencePolicy("fixed", 64, [24, 64])


def test_lengths_cover_short_medium_long_and_every_bucket():
    assert golden_lengths(DYNAMIC) == [8, 16, 32, 128]
    assert golden_lengths(SequencePolicy("fixed", 64, [64])) == [8, 16, 32, 64]
    assert golden_lengths(FIXED) == [8, 16, 24, 32, 64]
    assert golden_lengths(SequencePolicy("dynamic", 12)) == [8, 12]
    assert [FIXED.width_for(n) for n in (8, 24, 32)] == [24, 24, 64]


def test_picked_texts_span_short_to_long():
    texts = [f"text {'x' * n}" for n in range(20)] + ["text xxx"]
    picked = pick_golden_texts(texts, 4)
    assert len(picked) == 4 == len(set(picked))
    assert picked[0] == min(texts, key=len) and picked[-1] == max(texts, key=len)


def test_build_truncates_pads_and_round_trips(tiny_base):
    texts = ["great", " ".join(["the film was really quite great"] * 12)]
    payload = build_golden(texts, tiny_base / "tokenizer.json", FIXED,
                           lambda ids, mask: np.stack([ids.sum(1), mask.sum(1)], axis=1).astype(np.float32))
    cases = parse_golden(payload, "golden.json")
    assert len(cases) == len(texts) * len(golden_lengths(FIXED))
    for case in cases:
        assert case.input_ids.shape == (1, FIXED.width_for(case.max_tokens))
        assert case.attention_mask.sum() <= case.max_tokens
        assert case.logits[0, 1] == case.attention_mask.sum()
    long_cases = [c for c in cases if c.text == texts[1]]
    assert [int(c.attention_mask.sum()) for c in long_cases] == golden_lengths(FIXED)  # truncated to each budget
    assert all(int(c.attention_mask.sum()) == 3 for c in cases if c.text == "great")  # [CLS] great [SEP], padded


def test_malformed_golden_is_a_user_error():
    with pytest.raises(UserError, match="case 0 is malformed"):
        parse_golden({"cases": [{"text": "x"}]}, "golden.json")
    with pytest.raises(UserError, match="at least one case"):
        parse_golden({"cases": []}, "golden.json")
