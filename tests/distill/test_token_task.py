"""Token classification through teach and distill: a tagging head learns entity spans, scored by entity F1,
and word-level KD carries it to a smaller student, also one with another tokenizer and width."""

from __future__ import annotations

import pytest

from edgedistill.data import DataSpec
from edgedistill.distill.config import DistillConfig, TeachConfig
from edgedistill.distill.teach import run_teach
from edgedistill.distill.trainer import run_distill
from edgedistill.errors import UserError
from edgedistill.model.classifiers import TOKEN_TASK, classifier_task
from edgedistill.modeldir import read_labels
from tests.tiny import (
    TAGGED_WORDS,
    save_tiny_encoder,
    synthetic_tagged,
    write_tagged_jsonl,
)


@pytest.fixture(scope="module")
def tagged_jsonl(tmp_path_factory):
    return write_tagged_jsonl(tmp_path_factory.mktemp("tagged") / "people.jsonl", synthetic_tagged(480))


@pytest.fixture(scope="module")
def tagging_teacher(tmp_path_factory, tagged_jsonl):
    base = save_tiny_encoder(tmp_path_factory.mktemp("base") / "tiny", extra_words=TAGGED_WORDS)
    out = tmp_path_factory.mktemp("teach") / "tagger"
    metrics = run_teach(TeachConfig(data=DataSpec(source=str(tagged_jsonl)), out=out, base=str(base),
                                    task=TOKEN_TASK, epochs=8, batch_size=8, min_steps=0, patience=None, learning_rate=3e-3,
                                    max_length=64))
    return out, metrics


def test_teach_learns_entities_and_writes_a_token_classifier(tagging_teacher):
    out, metrics = tagging_teacher
    assert metrics["task"] == TOKEN_TASK and classifier_task(out) == TOKEN_TASK
    assert metrics["teacher"]["entity_f1"] > 0.85, metrics["teacher"]
    assert set(metrics["teacher"]["per_type"]) == {"LOC", "PER"}
    assert all("validation_entity_f1" in epoch for epoch in metrics["history"])
    assert read_labels(out) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def _distill(teacher, tagged_jsonl, out, **settings):
    return run_distill(DistillConfig(data=DataSpec(source=str(tagged_jsonl)), teacher=teacher, out=out, epochs=8,
                                     batch_size=8, min_steps=0, patience=None, learning_rate=3e-3, max_length=64,
                                     **settings))


def test_word_level_kd_keeps_most_of_the_teacher(tagging_teacher, tagged_jsonl, tmp_path):
    teacher, _ = tagging_teacher
    metrics = _distill(teacher, tagged_jsonl, tmp_path / "student", layers=1)
    assert classifier_task(tmp_path / "student") == TOKEN_TASK
    assert metrics["student"]["entity_f1"] >= 0.8 * metrics["teacher"]["entity_f1"], metrics
    assert metrics["agreement"] > 0.9


def test_a_student_with_another_tokenizer_and_width_learns_word_by_word(tagging_teacher, tagged_jsonl, tmp_path):
    teacher, _ = tagging_teacher
    other = save_tiny_encoder(tmp_path / "other-base", layers=2, hidden=48, heads=3, family="mpnet",
                              extra_words=(*TAGGED_WORDS, "unseen"))
    metrics = _distill(teacher, tagged_jsonl, tmp_path / "student", student_base=str(other), layer_map=[0, 1])
    assert metrics["student_base"] == str(other) and metrics["student"]["entity_f1"] > 0.7, metrics


def test_intermediate_losses_are_refused_for_token_students(tagging_teacher, tagged_jsonl, tmp_path):
    teacher, _ = tagging_teacher
    with pytest.raises(UserError, match="not supported for token classification") as error:
        _distill(teacher, tagged_jsonl, tmp_path / "student", layers=1, losses={"hidden": 1.0})
    assert "\n" not in str(error.value) and not (tmp_path / "student").exists()
