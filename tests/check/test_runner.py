import numpy as np

from edgedistill.check.runner import encode_examples
from edgedistill.profiles import SequencePolicy

DYNAMIC = SequencePolicy("dynamic", 16)
FIXED = SequencePolicy("fixed", 64, [8, 32])
LONG = " ".join(["the film was great"] * 10)


def test_widths_follow_the_policy_or_the_artifacts_static_length():
    assert DYNAMIC.width_for(5) == 5 and DYNAMIC.width_for(64) == 16 and DYNAMIC.longest == 16
    assert FIXED.width_for(5) == 8 and FIXED.width_for(9) == 32 and FIXED.longest == 32
    assert FIXED.width_for(5, static_length=32) == 32 and DYNAMIC.width_for(5, static_length=16) == 16


def test_examples_are_batch_one_truncated_and_padded(tiny_base):
    tokenizer = tiny_base / "tokenizer.json"
    short, long = encode_examples(tokenizer, ["great", LONG], DYNAMIC)
    assert short[0].shape == (1, 3) and long[0].shape == (1, 16) and long[1].all()
    short, long = encode_examples(tokenizer, ["great", LONG], FIXED)
    assert short[0].shape == (1, 8) and short[1].sum() == 3 and long[0].shape == (1, 32) and long[1].sum() == 32
    assert short[0].dtype == np.int64 and short[1].dtype == np.int64
