"""`edgedistill export` keeps the libraries' warnings off the screen and in OUT/warnings.log.

The lines `make demo` repeated for every candidate: torch's exporter on torchvision and its FutureWarning, ONNX
Runtime's quantizer on pre-processing, and ExecuTorch's native threadpool message (written to fd 2 by C++).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from edgedistill.third_party import LOG_FILE

pytestmark = pytest.mark.slow  # real ONNX Runtime and ExecuTorch exports, in a fresh process

# Three threads: ExecuTorch resets its pool (and says so) only when the count differs from the one it started with.
PROFILE = """name = "quiet"
description = "test profile"
isa = "x86-64"
runtimes = ["onnxruntime", "executorch"]
threads = 3
precisions = ["int8"]
[sequence]
policy = "fixed"
max_length = 64
buckets = [64]
[budgets]
max_accuracy_drop = 6.0
"""
KNOWN_LINES = ["torchvision is not installed. Skipping torchvision::", "FutureWarning",
               "Please consider to run pre-processing before quantization", "Resetting threadpool to 3 threads"]


def test_export_sends_known_library_warnings_to_the_log_not_the_screen(tiny_student_dir, tmp_path):
    profile = tmp_path / "quiet.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "out"
    completed = subprocess.run([sys.executable, "-m", "edgedistill", "export", str(tiny_student_dir), "--target",
                                str(profile), "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "onnxruntime: kept" in completed.stderr and "executorch: kept" in completed.stderr
    log = (out / LOG_FILE).read_text()
    for line in KNOWN_LINES:
        assert line not in completed.stderr and line not in completed.stdout, line
        assert line in log, line
