"""A token classifier through export, check, predict and bench on every runtime: per-token outputs
[batch, sequence, tags], golden vectors with word ids, and an entity-F1 gate measured in the runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedistill.bundle.reader import open_bundle
from edgedistill.check.bench import BenchSettings, bench_bundle
from edgedistill.check.dispatch import check_bundle
from edgedistill.check.predict import predict_texts
from edgedistill.errors import UserError
from edgedistill.export.pipeline import ExportRequest, run_export
from edgedistill.modeldir import read_metrics
from tests.export.conftest import write_profile
from tests.tiny import NEGATIVE, POSITIVE, TAGGED_WORDS

pytestmark = pytest.mark.slow  # real exports in three runtimes

# Dynamic shapes for ONNX Runtime; one static bucket for the runtimes that build one graph per length.
SEQUENCES = {"onnxruntime": 'policy = "dynamic"\nmax_length = 32',
             "executorch": 'policy = "fixed"\nmax_length = 32\nbuckets = [32]',
             "tflite": 'policy = "fixed"\nmax_length = 32\nbuckets = [32]'}


@pytest.fixture(scope="module", params=sorted(SEQUENCES))
def tagger_export(request, tiny_tagger_dir, tmp_path_factory):
    runtime = request.param
    folder = tmp_path_factory.mktemp(f"tagger-{runtime}")
    profile = write_profile(folder / f"tagger-{runtime}.toml", SEQUENCES[runtime], ["int8"], max_accuracy_drop=5.0)
    profile.write_text(profile.read_text().replace('runtimes = ["onnxruntime"]', f'runtimes = ["{runtime}"]'))
    report = run_export(ExportRequest(student_dir=tiny_tagger_dir, profile=str(profile), out_dir=folder / "out"))
    return runtime, report


def test_the_int8_bundle_is_scored_by_entity_f1_within_budget(tagger_export, tiny_tagger_dir):
    runtime, report = tagger_export
    outcome = report["runtimes"][runtime]
    assert report["task"] == "token-classification" and report["metric"] == "entity_f1"
    manifest = open_bundle(Path(outcome["bundle"])).manifest
    assert manifest.task == {"kind": "token-classification", "metric": "entity_f1",
                             "labels": ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"], "alignment": "first-subtoken"}
    metrics = manifest.metrics
    assert manifest.precision == "int8" and metrics["metric"] == "entity_f1" and "accuracy" not in metrics
    # The runtime's figure comes from its own outputs, the fp32 one from PyTorch on the same sentences.
    assert metrics["reference_entity_f1"] == pytest.approx(read_metrics(tiny_tagger_dir)["teacher"]["entity_f1"], abs=0.02)
    assert metrics["reference_entity_f1"] > 0.8
    assert (metrics["validation"]["reference_entity_f1"] - metrics["validation"]["entity_f1"]) * 100 <= 5.0
    assert set(metrics["per_type"]) == {"LOC", "PER"} and metrics["words"] > metrics["test_examples"]
    assert manifest.outputs[0]["shape"][-1] == 5 and len(manifest.outputs[0]["shape"]) == 3
    assert manifest.model_card["metrics"]["entity_f1"] == metrics["entity_f1"]


def test_golden_vectors_carry_word_ids_and_per_token_logits(tagger_export):
    runtime, report = tagger_export
    bundle = open_bundle(Path(report["runtimes"][runtime]["bundle"]))
    case = bundle.golden[-1]
    width = case.input_ids.shape[1]
    assert case.words and len(case.word_ids) == width and case.logits.shape == (1, width, 5)
    assert case.word_ids[0] is None and {i for i in case.word_ids if i is not None} <= set(range(len(case.words)))


def test_check_reproduces_the_f1_and_passes_parity(tagger_export):
    runtime, report = tagger_export
    checked = check_bundle(Path(report["runtimes"][runtime]["bundle"]))
    assert checked["passed"], checked["gates"]
    assert checked["metric"] == "entity_f1" and set(checked["gates"]) == {"entity_f1", "parity", "tokenizer"}
    assert abs(checked["drift_from_export_points"]) < 1e-6  # the same runtime on the same machine
    assert all(entry["agreement"] >= 0.8 for entry in checked["parity"]["lengths"])


def test_check_reads_a_users_conll_file(tagger_export, tmp_path):
    runtime, report = tagger_export
    conll = tmp_path / "mine.conll"
    conll.write_text("-DOCSTART- O\n\nalice NNP B-PER\nvisited VBD O\nparis NNP B-LOC\n\nbob NNP B-PER\n")
    checked = check_bundle(Path(report["runtimes"][runtime]["bundle"]), data=str(conll))
    assert checked["examples"] == 2 and 0.0 <= checked["entity_f1"] <= 1.0


def test_predict_returns_entity_spans_over_words(tagger_export):
    runtime, report = tagger_export
    bundle = Path(report["runtimes"][runtime]["bundle"])
    sentence = open_bundle(bundle).golden[-1].words
    (result,) = predict_texts(bundle, [" ".join(sentence)])
    assert result["words"] == sentence and len(result["tags"]) == len(sentence)
    for span in result["entities"]:
        assert span["type"] in {"PER", "LOC"} and span["text"] == " ".join(sentence[span["start"]:span["end"] + 1])
        assert result["tags"][span["start"]] in (f"B-{span['type']}", f"I-{span['type']}")


def test_bench_times_the_token_classifier(tagger_export):
    runtime, report = tagger_export
    timed = bench_bundle(Path(report["runtimes"][runtime]["bundle"]), BenchSettings(runs=5, seconds=0, warmup=1, length=32))
    assert timed["latency_ms"]["p50"] > 0


def test_a_pruned_token_classifier_ships_its_words_only_and_passes_its_check(tiny_tagger_dir, tmp_path):
    """The tagger's vocabulary holds the sentiment words of the text tests, which no tagged sentence uses."""
    profile = write_profile(tmp_path / "p.toml", SEQUENCES["onnxruntime"], ["int8"], max_accuracy_drop=5.0)
    report = run_export(ExportRequest(student_dir=tiny_tagger_dir, profile=str(profile), out_dir=tmp_path / "out",
                                      prune_vocab=True))
    pruning = report["vocab_prune"]
    assert pruning["metric"] == "entity_f1" and pruning["tokens_after"] < pruning["tokens_before"]
    assert pruning["held_out_unknown_share_after"] == 0.0
    assert pruning["test_entity_f1_after"] == pruning["test_entity_f1_before"] > 0.5
    assert pruning["validation_entity_f1_after"] == pruning["validation_entity_f1_before"]
    assert pruning["validation_cost_points"] == 0.0
    bundle = open_bundle(Path(report["runtimes"]["onnxruntime"]["bundle"]))
    vocab = set((bundle.path / "vocab.txt").read_text().splitlines())
    assert not vocab & set(POSITIVE + NEGATIVE) and set(TAGGED_WORDS) <= vocab
    assert check_bundle(bundle.path)["passed"]


def test_a_pruning_that_costs_more_than_the_budget_is_refused_before_any_export(tiny_tagger_dir, tmp_path):
    """Dropping every token seen fewer than 10^6 times leaves the tagger single characters: the names split apart."""
    profile = write_profile(tmp_path / "p.toml", SEQUENCES["onnxruntime"], ["int8"], max_accuracy_drop=5.0)
    with pytest.raises(UserError, match=r"^pruning the vocabulary costs \d+\.\d\d validation entity F1 points, over "
                                        r"\S+ budget of 5; export without --prune-vocab$"):
        run_export(ExportRequest(student_dir=tiny_tagger_dir, profile=str(profile), out_dir=tmp_path / "out",
                                 prune_vocab=True, prune_min_count=10**6))
    assert not (tmp_path / "out").exists()
