"""The manifest's tokenizer settings and model card, on real exports: an app that reads only `vocab.txt` and the
manifest's `tokenizer` block reproduces the golden ids, and the card states what was measured."""

from __future__ import annotations

import json
import unicodedata

import pytest

from edgedistill.cli import main

pytestmark = pytest.mark.slow  # real ONNX Runtime exports


def app_encode(text: str, vocab: list[str], settings: dict) -> tuple[list[int], list[int]]:
    """BERT WordPiece as a mobile port does it, configured from the manifest alone (ASCII-range punctuation)."""
    ids = {token: index for index, token in enumerate(vocab)}
    if settings["lowercase"]:
        text = text.lower()
    if settings["strip_accents"]:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    words = "".join(f" {c} " if unicodedata.category(c).startswith("P") else c for c in text).split()
    pieces: list[int] = []
    unk = settings["special_tokens"]["unk"]["id"]
    for word in words:
        start, word_pieces = 0, []
        while start < len(word):
            end = len(word)
            while end > start and ("##" if start else "") + word[start:end] not in ids:
                end -= 1
            if end == start:
                word_pieces = [unk]
                break
            word_pieces.append(ids[("##" if start else "") + word[start:end]])
            start = end
        pieces += word_pieces
    before, after = settings["added_tokens"]["before"], settings["added_tokens"]["after"]
    kept = pieces[: settings["max_length"] - len(before) - len(after)]
    return before + kept + after, [1] * (len(before) + len(kept) + len(after))


@pytest.mark.parametrize("which", ["host_bundle", "fp32_bundle"])
def test_an_app_reproduces_the_golden_ids_from_vocab_txt_and_the_manifest(request, which):
    bundle = request.getfixturevalue(which)
    manifest = json.loads((bundle / "manifest.json").read_text())
    settings = manifest["tokenizer"]
    assert settings["vocab_file"] == "vocab.txt" and settings["file"] == "tokenizer.json"
    assert settings["lowercase"] is True and settings["special_tokens"]["cls"] == {"token": "[CLS]", "id": 2}
    assert settings["max_length"] == manifest["sequence"]["max_length"] == 64
    vocab = (bundle / "vocab.txt").read_text().splitlines()
    assert settings["vocab_size"] == len(vocab)
    golden = json.loads((bundle / "golden.json").read_text())["cases"]
    for case in golden:
        app_settings = {**settings, "max_length": case["max_tokens"]}
        ids, mask = app_encode(case["text"], vocab, app_settings)
        width = len(case["input_ids"])
        pad = settings["padding"]["pad_id"]
        if settings["padding"]["strategy"] == "smallest_bucket":
            assert width == min(b for b in settings["padding"]["buckets"] if b >= len(ids))
        assert ids + [pad] * (width - len(ids)) == case["input_ids"], case["text"]
        assert mask + [0] * (width - len(mask)) == case["attention_mask"]
    assert {case["max_tokens"] for case in golden} >= {8, 64}  # truncation and padding both shown


def test_the_model_card_says_what_was_measured_and_the_exporters_own_words(fp32_bundle, host_bundle):
    card = json.loads((fp32_bundle / "manifest.json").read_text())["model_card"]
    manifest = json.loads((host_bundle / "manifest.json").read_text())
    generated = manifest["model_card"]
    assert card["intended_use"] == "Test that a model card reaches the manifest."
    assert card["limits"][0] == "Knows only synthetic sentiment words."
    assert any(limit.startswith("Reads at most 64 tokens") for limit in card["limits"][1:])
    labels = json.loads((host_bundle / "labels.json").read_text())["labels"]
    assert generated["intended_use"].startswith(f"Sort a text into one of {', '.join(labels)}, for text like that of ")
    assert generated["data"]["source"] == manifest["data"]["source"] and generated["data"]["labels"] == labels
    assert generated["data"]["texts"]["test"] == generated["metrics"]["texts"] == 40
    assert generated["metrics"]["accuracy"] == manifest["metrics"]["accuracy"]
    assert generated["metrics"]["fp32_student_accuracy"] == manifest["metrics"]["reference_accuracy"]
    assert generated["model"] == {"architecture": "bert", "layers": 1, "hidden_size": 32, "parameters": None,
                                  "distilled_from": None}
    assert any(limit.startswith("int8: ") for limit in generated["limits"])  # the int8 bundle states its cost


@pytest.mark.parametrize("card, message", [
    ("intended_use = 'x'\ncolour = 'blue'\n", "unknown key 'colour'"),
    ("limits = 'one string'\n", "expected a list"),
    ("intended_use = '  '\n", "intended_use is empty"),
])
def test_a_bad_model_card_file_is_one_line_before_any_export_work(tiny_student_dir, host_profile, tmp_path, capsys,
                                                                   card, message):
    path = tmp_path / "card.toml"
    path.write_text(card)
    out = tmp_path / "bundles"
    assert main(["export", str(tiny_student_dir), "--target", str(host_profile), "--out", str(out),
                 "--model-card", str(path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0] and not out.exists()
