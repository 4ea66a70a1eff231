"""`export --prune-vocab`: the bundle ships the pruned tokenizer and embedding table, and passes its own check."""

from __future__ import annotations

import json

import pytest

from edgedistill.bundle.reader import open_bundle
from edgedistill.check.dispatch import check_bundle
from edgedistill.errors import UserError
from edgedistill.export.pipeline import REPORT_FILE, ExportRequest, run_export
from tests.tiny import train_tiny_student

pytestmark = pytest.mark.slow  # a real ONNX Runtime export

UNUSED = ("zeppelin", "quasar", "xylophone")


def test_export_prune_vocab_ships_a_smaller_vocabulary_that_checks(tmp_path, tiny_csv, host_profile):
    student = train_tiny_student(tmp_path / "wide-student", tiny_csv, extra_words=UNUSED)
    before = {path.name: path.read_bytes() for path in student.iterdir()}
    out = tmp_path / "bundles"
    report = run_export(ExportRequest(student, str(host_profile), out, prune_vocab=True))
    pruning = report["vocab_prune"]
    assert pruning["student"] == str(student) and pruning["tokens_after"] == pruning["tokens_before"] - len(UNUSED)
    assert json.loads((out / REPORT_FILE).read_text())["vocab_prune"] == pruning
    bundle = open_bundle(out / f"wide-student-onnxruntime-{report['runtimes']['onnxruntime']['kept']}")
    vocab = (bundle.path / "vocab.txt").read_text().splitlines()
    assert len(vocab) == pruning["tokens_after"] and not set(UNUSED) & set(vocab)
    assert check_bundle(bundle.path)["passed"]
    limit = next(line for line in bundle.manifest.model_card["limits"] if line.startswith("Vocabulary cut to"))
    assert f"validation accuracy {pruning['validation_accuracy_before']:.2%} before pruning" in limit
    assert {path.name: path.read_bytes() for path in student.iterdir()} == before  # the student is left as it was


def test_a_pruning_min_count_needs_prune_vocab_and_is_refused_before_any_work(tmp_path, tiny_student_dir, host_profile):
    with pytest.raises(UserError, match="--prune-min-count applies with --prune-vocab"):
        run_export(ExportRequest(tiny_student_dir, str(host_profile), tmp_path / "out", prune_min_count=2))
    with pytest.raises(UserError, match="at least 1"):
        run_export(ExportRequest(tiny_student_dir, str(host_profile), tmp_path / "out", prune_vocab=True,
                                 prune_min_count=0))
    assert not (tmp_path / "out").exists()
