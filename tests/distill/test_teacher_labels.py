"""Teacher labelling: PyTorch and the teacher's ONNX Runtime export agree, and `auto` keeps the faster one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgedistill.distill import distributed, teacher_labels
from edgedistill.distill.distributed import distributed_context, training_threads
from edgedistill.distill.teacher_labels import LOGIT_TOLERANCE, label_texts
from edgedistill.errors import UserError
from tests.tiny import synthetic_rows

TEXTS = [text for text, _label in synthetic_rows(150)]


def test_onnxruntime_labels_agree_with_pytorch_within_the_tolerance(tiny_teacher, tmp_path):
    onnx = tmp_path / "teacher.onnx"
    in_torch, report = label_texts(tiny_teacher, TEXTS, 32, onnx, runtime="torch", show_progress=False)
    assert report.runtime == "torch" and not onnx.exists()
    in_ort, report = label_texts(tiny_teacher, TEXTS, 32, onnx, runtime="onnxruntime", show_progress=False)
    assert report.runtime == "onnxruntime" and onnx.is_file()
    assert report.trial["max_abs_logit_difference"] <= LOGIT_TOLERANCE
    np.testing.assert_allclose(in_ort, in_torch, atol=LOGIT_TOLERANCE, rtol=0)
    assert in_torch.std(axis=0).min() > 0.1  # the rows differ, so agreement means something
    assert report.texts == len(TEXTS) and report.as_dict()["texts_per_second"] > 0


def test_auto_times_both_runtimes_and_keeps_the_faster(tiny_teacher, tmp_path, monkeypatch):
    monkeypatch.setattr(teacher_labels, "AUTO_MIN_TEXTS", 0)
    _logits, report = label_texts(tiny_teacher, TEXTS, 32, tmp_path / "t.onnx", show_progress=False)
    seconds = report.trial["seconds"]
    assert report.runtime == min(seconds, key=seconds.get) and report.trial["reason"] == "faster"


def test_auto_keeps_pytorch_when_the_export_disagrees(tiny_teacher, tmp_path, monkeypatch):
    monkeypatch.setattr(teacher_labels, "AUTO_MIN_TEXTS", 0)
    monkeypatch.setattr(teacher_labels, "LOGIT_TOLERANCE", -1.0)
    _logits, report = label_texts(tiny_teacher, TEXTS, 32, tmp_path / "t.onnx", show_progress=False)
    assert report.runtime == "torch" and "differ" in report.trial["reason"]


def test_a_small_set_is_labelled_in_pytorch_without_an_export(tiny_teacher, tmp_path):
    _logits, report = label_texts(tiny_teacher, TEXTS[:5], 32, tmp_path / "t.onnx", show_progress=False)
    assert report.runtime == "torch" and not (tmp_path / "t.onnx").exists()
    with pytest.raises(UserError, match="--teacher-runtime must be one of"):
        label_texts(tiny_teacher, TEXTS, 32, tmp_path / "t.onnx", runtime="tvm")


def test_training_uses_every_core_whatever_the_load_unless_told(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr(distributed.os, "getloadavg", lambda: (7.0, 7.0, 7.0), raising=False)
    monkeypatch.setattr(distributed.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert training_threads(world_size=1) == 4
    assert training_threads(world_size=2) == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert training_threads(world_size=1) == 3
    before = torch.get_num_threads()
    try:
        with distributed_context(threads=2):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_killed_labelling_keeps_what_it_labelled(tiny_teacher, monkeypatch, capsys):
    from edgedistill.distill.teacher_cache import teacher_logits

    texts = [f"{text} take {i}" for i, (text, _label) in enumerate(synthetic_rows(150))]
    monkeypatch.setattr(teacher_labels, "CHUNK_BATCHES", 1)
    real = teacher_labels.torch_predictor

    def dies_on_the_third_batch(model):
        predict, calls = real(model), []

        def counted(encoded, rows):
            calls.append(rows)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return predict(encoded, rows)

        return counted

    monkeypatch.setattr(teacher_labels, "torch_predictor", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        teacher_logits(tiny_teacher, texts, 32, runtime="torch")
    monkeypatch.setattr(teacher_labels, "torch_predictor", real)
    capsys.readouterr()
    teacher_logits(tiny_teacher, texts, 32, runtime="torch")
    assert "computing 22 of 150 texts (128 cached)" in capsys.readouterr().err
