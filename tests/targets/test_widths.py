"""One width rule: every session reads its widths from its artifact and asks SequencePolicy, so an input fits,
is padded (mask 0) to the smallest width that holds it, or, longer than the longest, is cut to it."""

from __future__ import annotations

import numpy as np
import pytest

from edgedistill.targets.registry import get_target
from tests.targets.device_profiles import SMALL_BUCKET, STATIC_LENGTH, TWO_BUCKETS

pytestmark = pytest.mark.slow  # real exports in each runtime

# The tiny student's fp32 exports the rows run on: ONNX Runtime's dynamic graph up to 64 tokens (ort_profile),
# ExecuTorch's methods for buckets 16 and 64, litert-torch's signatures for 16 and 48.
ARTIFACTS = {
    "onnxruntime": ("ort_export", ("fp32",)),
    "executorch": ("et_export", ("fp32", TWO_BUCKETS)),
    "tflite": ("tflite_export", ("litert-torch", "fp32")),
}
WIDTHS = [  # runtime, tokens in, the width the session runs them at
    pytest.param("onnxruntime", 64, 64, id="onnxruntime-fits"),
    pytest.param("onnxruntime", 10, 10, id="onnxruntime-dynamic-runs-unpadded"),
    pytest.param("onnxruntime", 80, 64, id="onnxruntime-too-long-is-cut"),
    pytest.param("executorch", SMALL_BUCKET, SMALL_BUCKET, id="executorch-fits"),
    pytest.param("executorch", 10, SMALL_BUCKET, id="executorch-pads-to-the-small-bucket"),
    pytest.param("executorch", SMALL_BUCKET + 1, 64, id="executorch-pads-to-the-large-bucket"),
    pytest.param("executorch", 80, 64, id="executorch-too-long-is-cut"),
    pytest.param("tflite", STATIC_LENGTH, STATIC_LENGTH, id="tflite-fits"),
    pytest.param("tflite", 10, SMALL_BUCKET, id="tflite-pads-to-the-small-bucket"),
    pytest.param("tflite", SMALL_BUCKET + 1, STATIC_LENGTH, id="tflite-pads-to-the-large-bucket"),
    pytest.param("tflite", 60, STATIC_LENGTH, id="tflite-too-long-is-cut"),
]


@pytest.mark.parametrize(("runtime", "tokens", "width"), WIDTHS)
def test_every_session_runs_an_input_at_the_width_its_policy_gives(request, runtime, tokens, width):
    target = get_target(runtime)
    problem = target.available()
    if problem:
        pytest.skip(problem)
    fixture, args = ARTIFACTS[runtime]
    session = target.load(request.getfixturevalue(fixture)(*args).artifact, threads=1)
    assert session.sequence.width_for(tokens) == width

    rng = np.random.default_rng(tokens)
    ids = rng.integers(5, 41, (2, tokens), dtype=np.int64)  # within the tiny vocabulary
    mask = np.ones_like(ids)
    mask[1, tokens // 2:] = 0
    kept = min(tokens, width)
    pad = ((0, 0), (0, width - kept))
    at_width = np.pad(ids[:, :kept], pad), np.pad(mask[:, :kept], pad)
    np.testing.assert_array_equal(session.run(ids, mask), session.run(*at_width))
