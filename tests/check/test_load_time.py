"""A timed load measures the model: each backend imports its runtime before the clock starts.

Checked in a fresh interpreter, so another test having imported the runtime cannot make it pass.
"""

import subprocess
import sys

import pytest

RUNTIME_MODULES = {"onnxruntime": "onnxruntime", "executorch": "executorch.runtime", "tflite": "ai_edge_litert.interpreter"}
PROBE = """
import sys
from edgedistill.targets.registry import get_target
target = get_target({name!r})
before = {module!r} in sys.modules
target.import_runtime()
sys.exit(0 if not before and {module!r} in sys.modules else 1)
"""


@pytest.mark.parametrize("name", sorted(RUNTIME_MODULES))
def test_import_runtime_leaves_nothing_to_import_at_load(name):
    code = PROBE.format(name=name, module=RUNTIME_MODULES[name])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
