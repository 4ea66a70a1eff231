"""teach -> distill end to end on tiny models, the teacher-logit cache, transfer data and intermediate losses."""

from __future__ import annotations

import json

import torch

from edgedistill.cli import main
from edgedistill.distill.checkpoint import checkpoint_dir
from edgedistill.distill.teacher_cache import cache_dir
from edgedistill.model.classifiers import load_trained_classifier
from edgedistill.modeldir import read_labels, read_metrics

MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "labels.json", "data.json", "metrics.json")


def test_teach_writes_a_selected_teacher(tiny_teacher):
    assert all((tiny_teacher / name).is_file() for name in MODEL_FILES)
    metrics = read_metrics(tiny_teacher)
    assert set(metrics["teacher"]) == {"accuracy", "macro_f1", "params"}
    assert metrics["teacher"]["accuracy"] > 0.8
    assert metrics["wall_seconds"] > 0
    best = max(metrics["history"], key=lambda epoch: epoch["validation_accuracy"])
    assert metrics["best_epoch"] == best["epoch"]
    assert json.loads((tiny_teacher / "config.json").read_text())["architectures"] == ["BertForSequenceClassification"]
    assert not checkpoint_dir(tiny_teacher).exists()


def test_distill_writes_a_student_that_learned(tiny_teacher, tiny_distilled):
    assert all((tiny_distilled / name).is_file() for name in MODEL_FILES + ("distill.json",))
    metrics = read_metrics(tiny_distilled)
    assert set(metrics["teacher"]) >= {"accuracy", "macro_f1"}
    assert set(metrics["student"]) >= {"accuracy", "macro_f1", "params", "non_embedding_params"}
    assert metrics["student"]["accuracy"] > 0.75
    assert 0.75 < metrics["agreement"] <= 1.0
    assert metrics["layer_map"] == [0]
    assert metrics["student"]["params"] < metrics["teacher"]["params"]
    record = json.loads((tiny_distilled / "distill.json").read_text())
    assert record["layer_map"] == [0] and record["teacher"] == str(tiny_teacher.resolve())
    student = load_trained_classifier(tiny_distilled)
    assert student.config.num_hidden_layers == 1
    assert read_labels(tiny_distilled) == read_labels(tiny_teacher)
    assert not checkpoint_dir(tiny_distilled).exists()


def test_rerun_hits_the_teacher_logit_cache_and_prints_the_layer_map(tmp_path, tiny_teacher, tiny_distilled, distill_argv, capsys):
    cached = sorted(cache_dir().glob("*.safetensors"))
    capsys.readouterr()
    assert main(distill_argv(tiny_teacher, tmp_path / "student", "--layer-map", "1")) == 0
    err = capsys.readouterr().err
    assert "layer map: student layer 0 <- teacher layer 1" in err
    assert err.count("teacher logits: all 400 texts cached") == 1
    assert "teacher logits: computing" not in err
    assert sorted(cache_dir().glob("*.safetensors")) == cached
    assert read_metrics(tmp_path / "student")["layer_map"] == [1]


def test_transfer_texts_and_intermediate_losses(tmp_path, tiny_csv, tiny_teacher, distill_argv, capsys):
    from edgedistill.data import DataSpec, load_splits

    held_out = load_splits(DataSpec(source=str(tiny_csv)), read_labels(tiny_teacher)).test.texts[0]
    transfer = tmp_path / "transfer.txt"
    transfer.write_text("\n".join(["great moving story", "dull and tedious plot", "the cast was superb", held_out]) + "\n")
    argv = distill_argv(tiny_teacher, tmp_path / "student", "--transfer", str(transfer), "--layers", "2",
                        "--loss", "hidden=1.0", "--loss", "attention=1.0", "--epochs", "2")
    assert main(argv) == 0
    assert "dropped 1 texts" in capsys.readouterr().err
    metrics = read_metrics(tmp_path / "student")
    assert metrics["train_texts"]["transfer"] == 3
    assert metrics["layer_map"] == [0, 1]
    assert torch.isfinite(torch.tensor(metrics["history"][-1]["train_loss"]))
