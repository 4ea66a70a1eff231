"""Vocabulary pruning: the tokens a task never uses leave the tokenizer and the embedding table, nothing else moves."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tokenizers import Tokenizer

from edgedistill.cli import main
from edgedistill.data import load_splits
from edgedistill.data.tagged import load_tagged_splits
from edgedistill.errors import UserError
from edgedistill.model.vocab_prune import (
    prune_student,
    student_logits,
    student_word_logits,
)
from edgedistill.modeldir import read_data_spec, read_metrics
from edgedistill.text.prune import (
    kept_token_ids,
    pruned_tokenizer_json,
    wordpiece_parts,
)
from edgedistill.text.vocab import wordpiece_vocab_text
from tests.tiny import train_tiny_student

UNUSED = ("zeppelin", "quasar", "##ology", "xylophone")


@pytest.fixture(scope="module")
def wide_student(tmp_path_factory, tiny_csv):
    """The tiny student with words in its vocabulary that no text of its task uses."""
    return train_tiny_student(tmp_path_factory.mktemp("wide") / "wide-student", tiny_csv, extra_words=UNUSED)


@pytest.fixture(scope="module")
def pruned(wide_student, tmp_path_factory):
    out = tmp_path_factory.mktemp("pruned") / "wide-student"
    return out, prune_student(wide_student, out)


def test_unused_tokens_leave_the_tokenizer_and_the_embedding_table(wide_student, pruned):
    out, report = pruned
    vocab = json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
    assert not set(UNUSED) & set(vocab) and report["tokens_after"] == report["tokens_before"] - len(UNUSED)
    assert sorted(vocab.values()) == list(range(len(vocab)))  # renumbered without gaps
    config = json.loads((out / "config.json").read_text())
    assert config["vocab_size"] == len(vocab) and config["pad_token_id"] == vocab["[PAD]"]
    assert wordpiece_vocab_text(out / "tokenizer.json").splitlines()[vocab["[CLS]"]] == "[CLS]"
    hidden = config["hidden_size"]
    assert report["embedding_bytes_saved"] == len(UNUSED) * hidden * 4
    assert read_metrics(out)["vocab_prune"] == report


def test_logits_are_identical_on_texts_whose_tokens_are_all_kept(wide_student, pruned):
    out, report = pruned
    splits = load_splits(read_data_spec(wide_student))
    texts = splits.validation.texts + splits.test.texts
    np.testing.assert_array_equal(student_logits(out, texts), student_logits(wide_student, texts))
    assert report["held_out_unknown_share_after"] == report["held_out_unknown_share_before"] == 0.0
    assert report["test_accuracy_after"] == report["test_accuracy_before"]
    # Same pieces, renumbered: the pruned tokenizer maps each kept token to its new id.
    old, new = Tokenizer.from_file(str(wide_student / "tokenizer.json")), Tokenizer.from_file(str(out / "tokenizer.json"))
    assert old.encode(texts[0]).tokens == new.encode(texts[0]).tokens


def test_an_unseen_word_falls_back_to_unk_and_is_counted(pruned):
    out, _ = pruned
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert tokenizer.encode("the zeppelin was great").tokens == ["[CLS]", "the", "[UNK]", "was", "great", "[SEP]"]


def test_renumbering_covers_every_place_a_tokenizer_writes_an_id():
    payload = {"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "a": 1, "[CLS]": 2, "b": 3, "[SEP]": 4}},
               "added_tokens": [{"id": 0, "content": "[PAD]", "special": True}, {"id": 2, "content": "[CLS]", "special": True},
                                {"id": 4, "content": "[SEP]", "special": True}],
               "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 4], "cls": ["[CLS]", 2]},
               "padding": {"pad_id": 0, "pad_token": "[PAD]"}}
    _, special = wordpiece_parts(payload, "t.json")
    assert special == {0, 2, 4}
    pruned = pruned_tokenizer_json(payload, [0, 2, 3, 4])
    assert pruned["model"]["vocab"] == {"[PAD]": 0, "[CLS]": 1, "b": 2, "[SEP]": 3}
    assert [t["id"] for t in pruned["added_tokens"]] == [0, 1, 3]
    assert pruned["post_processor"]["sep"] == ["[SEP]", 3] and pruned["post_processor"]["cls"] == ["[CLS]", 1]
    with pytest.raises(UserError, match="dropped \\[SEP\\]"):
        pruned_tokenizer_json(payload, [0, 2, 3])


def test_a_bpe_tokenizer_and_an_occupied_out_are_one_line_errors(wide_student, tmp_path, capsys):
    with pytest.raises(UserError, match="needs a WordPiece tokenizer .* this one is BPE"):
        wordpiece_parts({"model": {"type": "BPE"}}, "t.json")
    occupied = tmp_path / "mine"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("keep me")
    assert main(["prune-vocab", str(wide_student), "--out", str(occupied)]) != 0
    assert (occupied / "notes.txt").read_text() == "keep me" and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_min_count_drops_the_tokens_the_task_rarely_produces():
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "good": 4, "film": 5, "rare": 6, "r": 7, "a": 8, "e": 9,
             "##a": 10, "##r": 11, "##e": 12, "g": 13, "##o": 14, "##d": 15, "f": 16, "##i": 17, "##l": 18, "##m": 19}
    payload = {"model": {"type": "WordPiece", "vocab": vocab, "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                         "max_input_chars_per_word": 100},
               "normalizer": {"type": "BertNormalizer", "lowercase": True, "clean_text": True,
                              "handle_chinese_chars": True, "strip_accents": None},
               "pre_tokenizer": {"type": "BertPreTokenizer"}, "added_tokens": []}
    tokenizer = Tokenizer.from_str(json.dumps(payload))
    texts = ["good film", "good film rare"]
    every = kept_token_ids(tokenizer, vocab, {0, 1, 2, 3}, texts)
    twice = kept_token_ids(tokenizer, vocab, {0, 1, 2, 3}, texts, min_count=2)
    assert vocab["rare"] in every and vocab["rare"] not in twice
    assert {vocab["good"], vocab["film"], vocab["r"], vocab["##a"]} <= set(twice)  # seen characters always stay


def test_min_count_pruning_reports_its_setting_and_refuses_nonsense(wide_student, tmp_path):
    report = prune_student(wide_student, tmp_path / "min2", min_count=2)
    assert report["min_count"] == 2 and report["tokens_after"] <= report["tokens_before"] - len(UNUSED)
    with pytest.raises(UserError, match="at least 1"):
        prune_student(wide_student, tmp_path / "min0", min_count=0)
    assert not (tmp_path / "min0").exists()


def test_a_token_classifier_keeps_its_word_logits_on_sentences_whose_tokens_are_all_kept(tiny_tagger_dir, tmp_path):
    """Its sentences are tokenized as the words it reads; the unused sentiment words of the tiny vocabulary go."""
    out = tmp_path / "tiny-tagger"
    report = prune_student(tiny_tagger_dir, out)
    spec = read_data_spec(tiny_tagger_dir)
    sentences = load_tagged_splits(spec.source, spec.test_source, spec.seed, spec.validation_fraction,
                                   spec.test_fraction).test.tokens
    assert report["metric"] == "entity_f1" and report["tokens_after"] < report["tokens_before"]
    assert report["test_entity_f1_after"] == report["test_entity_f1_before"]
    for ours, theirs in zip(student_word_logits(out, sentences), student_word_logits(tiny_tagger_dir, sentences)):
        np.testing.assert_array_equal(ours, theirs)
