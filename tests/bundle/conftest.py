"""A real ONNX Runtime bundle shared by the registry tests."""

from pathlib import Path

import pytest

from edgedistill.cli import main

PROFILE = """name = "registry-test"
description = "onnxruntime fp32 only, for registry tests"
isa = "x86-64"
runtimes = ["onnxruntime"]
threads = 1
precisions = ["fp32"]
[sequence]
policy = "dynamic"
max_length = 64
[budgets]
max_accuracy_drop = 1.0
"""


@pytest.fixture(scope="session")
def bundle(tiny_student_dir, tmp_path_factory) -> Path:
    """One fp32 ONNX Runtime bundle made by `edgedistill export`."""
    root = tmp_path_factory.mktemp("registry-export")
    profile = root / "registry-test.toml"
    profile.write_text(PROFILE)
    assert main(["export", str(tiny_student_dir), "--target", str(profile), "--out", str(root / "bundles")]) == 0
    (made,) = [path for path in (root / "bundles").iterdir() if (path / "manifest.json").is_file()]
    return made
