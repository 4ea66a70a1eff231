"""Crafted manifests and golden vectors: every one ends in one line of error and exit 2, never a traceback."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from edgedistill.bundle.manifest import file_entry
from edgedistill.cli import main

pytestmark = pytest.mark.slow  # one real ONNX Runtime export (the shared bundle)

MANIFEST_EDITS = {
    "max_length -1": lambda m: m["sequence"].update(max_length=-1),
    "fixed policy without buckets": lambda m: m["sequence"].update(policy="fixed", buckets=[]),
    "bucket past max_length": lambda m: m["sequence"].update(policy="fixed", buckets=[10_000]),
    "reference_accuracy 'high'": lambda m: m["metrics"].update(reference_accuracy="high"),
    "accuracy above 1": lambda m: m["metrics"].update(accuracy=7),
    "negative budget": lambda m: m["budgets"].update(max_accuracy_drop=-1),
    "size_bytes as text": lambda m: m["metrics"].update(size_bytes="big"),
    "file name with a slash": lambda m: m["files"].update({"../x": {"sha256": "0" * 64, "size": 1}}),
}
GOLDEN_EDITS = {
    "ids of 10^30": lambda case: case.update(input_ids=[10**30] * len(case["input_ids"])),
    "max_tokens -1": lambda case: case.update(max_tokens=-1),
    "max_tokens as a float": lambda case: case.update(max_tokens=1e309),
    "negative ids": lambda case: case.update(input_ids=[-5] * len(case["input_ids"])),
    "mask of 2": lambda case: case.update(attention_mask=[2] * len(case["attention_mask"])),
}


def _one_line_error(argv, capsys) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "\n" not in error and "Traceback" not in error, error
    return error


@pytest.mark.parametrize("edit", sorted(MANIFEST_EDITS))
def test_crafted_manifest(bundle, tmp_path, capsys, edit):
    copy = shutil.copytree(bundle, tmp_path / bundle.name)
    manifest = json.loads((copy / "manifest.json").read_text())
    MANIFEST_EDITS[edit](manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    _one_line_error(["check", str(copy)], capsys)
    _one_line_error(["bench", str(copy), "--runs", "1", "--seconds", "0"], capsys)


@pytest.mark.parametrize("edit", sorted(GOLDEN_EDITS))
def test_crafted_golden_vectors(bundle, tmp_path, capsys, edit):
    copy = shutil.copytree(bundle, tmp_path / bundle.name)
    golden = json.loads((copy / "golden.json").read_text())
    GOLDEN_EDITS[edit](golden["cases"][0])
    (copy / "golden.json").write_text(json.dumps(golden).replace("Infinity", "1e999"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["golden.json"] = dataclasses.asdict(file_entry(copy / "golden.json"))  # a consistent forgery
    (copy / "manifest.json").write_text(json.dumps(manifest))
    _one_line_error(["check", str(copy)], capsys)
