"""teach -> distill on each supported encoder family, and students taken from another pretrained model."""

from __future__ import annotations

import json

import pytest

from edgedistill.cli import main
from edgedistill.model.classifiers import load_trained_classifier
from edgedistill.modeldir import read_metrics
from tests.distill.conftest import TEACH_ARGS
from tests.tiny import FAMILIES, save_tiny_encoder

ARCHITECTURES = {"bert": "BertForSequenceClassification", "roberta": "RobertaForSequenceClassification",
                 "mpnet": "MPNetForSequenceClassification", "deberta-v2": "DebertaV2ForSequenceClassification"}


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_teaches_and_distils_into_a_shallower_copy(tmp_path, tiny_csv, distill_argv, family):
    base = save_tiny_encoder(tmp_path / "base", family=family)
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    assert main(["teach", "--data", str(tiny_csv), "--base", str(base), "--out", str(teacher), *TEACH_ARGS]) == 0
    assert read_metrics(teacher)["teacher"]["accuracy"] > 0.7
    assert main(distill_argv(teacher, student, "--layer-map", "1")) == 0
    metrics = read_metrics(student)
    assert metrics["student"]["accuracy"] > 0.7 and metrics["layer_map"] == [1]
    model = load_trained_classifier(student)
    assert type(model).__name__ == ARCHITECTURES[family] and model.config.num_hidden_layers == 1


@pytest.fixture(scope="module")
def other_base(tmp_path_factory):
    """A 2-layer MPNet encoder with another vocabulary (more words, other special tokens), width 48 and 3 heads."""
    return save_tiny_encoder(tmp_path_factory.mktemp("other") / "mpnet", layers=2, hidden=48, heads=3, seed=5,
                             family="mpnet", extra_words=("cinema", "scene", "actor"))


def test_student_from_another_model_keeps_its_width_and_tokenizer(tmp_path, tiny_teacher, other_base, distill_argv, capsys):
    out = tmp_path / "student"
    assert main(distill_argv(tiny_teacher, out, "--student-base", str(other_base), "--layers", "2", "--layer-map", "0,1",
                             "--loss", "pkd=1.0")) == 0
    err = capsys.readouterr().err
    assert "student layer 0 <- " + str(other_base) + " layer 0, 1 <- 1" in err
    metrics = read_metrics(out)
    assert metrics["student"]["accuracy"] > 0.75 and metrics["student_base"] == str(other_base)
    model = load_trained_classifier(out)
    assert type(model).__name__ == "MPNetForSequenceClassification"
    assert (model.config.hidden_size, model.config.num_hidden_layers) == (48, 2)
    assert json.loads((out / "tokenizer.json").read_text())["model"]["vocab"] == \
        json.loads((other_base / "tokenizer.json").read_text())["model"]["vocab"]

    # Another seed reuses the teacher's logits, which are keyed by text and the teacher's own tokenization.
    assert main(distill_argv(tiny_teacher, tmp_path / "again", "--student-base", str(other_base), "--seed", "3")) == 0
    assert "teacher logits: all 400 texts cached" in capsys.readouterr().err


@pytest.mark.parametrize("loss", ["hidden", "attention"])
def test_token_level_losses_are_refused_across_tokenizers(tmp_path, tiny_teacher, other_base, distill_argv, capsys, loss):
    out = tmp_path / "student"
    assert main(distill_argv(tiny_teacher, out, "--student-base", str(other_base), "--loss", f"{loss}=1.0")) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert f"the '{loss}' loss compares teacher and student token by token" in error and "tokenizer" in error
    assert not out.exists()


def test_student_base_may_be_a_builtin_name_and_unknown_names_are_refused(tmp_path, tiny_teacher, distill_argv, capsys):
    assert main(distill_argv(tiny_teacher, tmp_path / "s", "--student-base", "builtin:bert-huge")) == 2
    error = capsys.readouterr().err
    assert "unknown built-in backbone 'builtin:bert-huge'" in error and "builtin:all-mpnet-base-v2" in error
