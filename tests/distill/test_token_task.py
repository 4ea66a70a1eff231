"""Token classification through teach and distill: a tagging head learns entity spans, scored by entity F1,
and word-level KD carries it to a smaller student, also one with another tokenizer and width."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer

from edgedistill.data import DataSpec
from edgedistill.data.tagged import load_tagged_splits
from edgedistill.distill.config import DistillConfig, TeachConfig
from edgedistill.distill.teach import run_teach
from edgedistill.distill.token_task import continuation_ids, subtoken_labels
from edgedistill.distill.trainer import run_distill
from edgedistill.errors import UserError
from edgedistill.model.classifiers import TOKEN_TASK, classifier_task
from edgedistill.model.vocab_prune import prune_student
from edgedistill.modeldir import read_data_spec, read_labels
from edgedistill.tasks.words import IGNORED
from tests.tiny import (
    PEOPLE,
    PLACES,
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


def test_a_transfer_set_joins_the_training_words_and_its_words_survive_pruning(tagging_teacher, tagged_jsonl, tmp_path):
    """Unlabelled sentences are split at whitespace and tagged by the teacher alone; a held-out sentence among them is
    dropped, and pruning keeps the tokens only they produce."""
    teacher, _ = tagging_teacher
    held_out = " ".join(next(iter(_test_sentences(teacher))))
    transfer = tmp_path / "unlabelled.txt"
    transfer.write_text(f"alice visited paris brilliant\nbob met carol in rome superb\n{held_out}\n", encoding="utf-8")
    metrics = _distill(teacher, tagged_jsonl, tmp_path / "student", layers=1, transfer=str(transfer))
    assert metrics["train_sentences"]["transfer"] == 2
    assert metrics["student"]["entity_f1"] >= 0.8 * metrics["teacher"]["entity_f1"], metrics
    report = prune_student(tmp_path / "student", tmp_path / "pruned")
    vocab = json.loads((tmp_path / "pruned" / "tokenizer.json").read_text())["model"]["vocab"]
    assert {"brilliant", "superb"} <= set(vocab) and "wonderful" not in vocab, report


def _test_sentences(model_dir):
    spec = read_data_spec(model_dir)
    return load_tagged_splits(spec.source, spec.test_source, spec.seed, spec.validation_fraction,
                              spec.test_fraction).test.tokens


def test_a_student_with_another_tokenizer_and_width_learns_word_by_word(tagging_teacher, tagged_jsonl, tmp_path):
    teacher, _ = tagging_teacher
    other = save_tiny_encoder(tmp_path / "other-base", layers=2, hidden=48, heads=3, family="mpnet",
                              extra_words=(*TAGGED_WORDS, "unseen"))
    metrics = _distill(teacher, tagged_jsonl, tmp_path / "student", student_base=str(other), layer_map=[0, 1])
    assert metrics["student_base"] == str(other) and metrics["student"]["entity_f1"] > 0.7, metrics


def test_intermediate_losses_train_a_token_student_that_shares_the_teachers_tokenizer(tagging_teacher, tagged_jsonl,
                                                                                     tmp_path):
    teacher, _ = tagging_teacher
    metrics = _distill(teacher, tagged_jsonl, tmp_path / "student", layers=1, losses={"hidden": 1.0, "attention": 1.0})
    assert metrics["student"]["entity_f1"] >= 0.8 * metrics["teacher"]["entity_f1"], metrics
    assert json.loads((tmp_path / "student" / "distill.json").read_text())["losses"] == {"hidden": 1.0, "attention": 1.0}


def test_position_by_position_losses_are_refused_across_tokenizers(tagging_teacher, tagged_jsonl, tmp_path):
    teacher, _ = tagging_teacher
    other = save_tiny_encoder(tmp_path / "other-base", layers=2, hidden=48, heads=3, family="mpnet",
                              extra_words=(*TAGGED_WORDS, "unseen"))
    with pytest.raises(UserError, match="positions do not line up") as error:
        _distill(teacher, tagged_jsonl, tmp_path / "student", student_base=str(other), layer_map=[0, 1],
                 losses={"hidden": 1.0})
    assert "\n" not in str(error.value) and not (tmp_path / "student").exists()


def test_every_sub_token_takes_its_words_tag_and_continuations_take_the_i_tag():
    tags = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert continuation_ids(tags) == [0, 2, 2, 4, 4]
    # [CLS] Ann(e) Marie visited Par(is) [SEP]: words 0 and 3 split in two; the second sentence is unlabelled.
    word_ids = [[None, 0, 0, 1, 2, 3, 3, None], [None, 0, None]]
    labels = [[3, 4, 0, 1], [IGNORED]]
    assert subtoken_labels(word_ids, labels, continuation_ids(tags)) == [
        [IGNORED, 3, 4, 4, 0, 1, 2, IGNORED], [IGNORED, IGNORED, IGNORED]]


def test_teach_can_label_every_sub_token_and_still_reads_words_at_the_first(tagged_jsonl, tmp_path):
    # Names and places exist only as two pieces each ("al" "##ice"), so every entity word spans two sub-tokens.
    pieces = tuple(piece for word in PEOPLE + PLACES for piece in (word[:2], f"##{word[2:]}"))
    base = save_tiny_encoder(tmp_path / "base", extra_words=("met", "in", "visited", "from", *pieces))
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    assert tokenizer.encode(["alice", "met"], is_pretokenized=True).word_ids == [None, 0, 0, 1, None]
    metrics = run_teach(TeachConfig(data=DataSpec(source=str(tagged_jsonl)), out=tmp_path / "tagger", base=str(base),
                                    task=TOKEN_TASK, label_subtokens="all", epochs=8, batch_size=8, min_steps=0,
                                    patience=None, learning_rate=3e-3, max_length=64))
    assert metrics["teacher"]["entity_f1"] > 0.7, metrics["teacher"]  # an untrained tagger scores about 0


def test_labelling_sub_tokens_is_refused_for_text_classification(tmp_path, tiny_csv):
    with pytest.raises(UserError, match="token-classification only"):
        run_teach(TeachConfig(data=DataSpec(source=str(tiny_csv)), out=tmp_path / "t", label_subtokens="all"))
    assert not (tmp_path / "t").exists()
