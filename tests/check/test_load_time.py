"""A timed load measures the model: each backend imports its runtime before the clock starts."""

import sys

import pytest

from edgedistill.targets.registry import get_target, runtime_names


@pytest.mark.parametrize("name", runtime_names())
def test_import_runtime_leaves_nothing_to_import_at_load(name):
    target = get_target(name)
    target.import_runtime()
    runtime_module = {"onnxruntime": "onnxruntime", "executorch": "executorch.runtime",
                      "tflite": "ai_edge_litert.interpreter"}[name]
    assert runtime_module in sys.modules
