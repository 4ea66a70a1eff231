import numpy as np

from edgedistill.check.bench import bench_length
from edgedistill.check.runner import encode_examples, input_width
from edgedistill.targets.profiles import SequencePolicy

DYNAMIC = SequencePolicy("dynamic", 16)
FIXED = SequencePolicy("fixed", 64, [8, 32])
LONG = " ".join(["the film was great"] * 10)


def test_widths_follow_the_policy_or_the_artifacts_static_length():
    assert input_width(5, DYNAMIC, None) == 5
    assert input_width(5, FIXED, None) == 8 and input_width(9, FIXED, None) == 32
    assert input_width(5, FIXED, 32) == 32
    assert bench_length(64, DYNAMIC, None) == 16 and bench_length(20, FIXED, None) == 32 and bench_length(8, FIXED, 32) == 32


def test_examples_are_batch_one_truncated_and_padded(tiny_base):
    tokenizer = tiny_base / "tokenizer.json"
    short, long = encode_examples(tokenizer, ["great", LONG], DYNAMIC)
    assert short[0].shape == (1, 3) and long[0].shape == (1, 16) and long[1].all()
    short, long = encode_examples(tokenizer, ["great", LONG], FIXED)
    assert short[0].shape == (1, 8) and short[1].sum() == 3 and long[0].shape == (1, 32) and long[1].sum() == 32
    assert short[0].dtype == np.int64 and short[1].dtype == np.int64
