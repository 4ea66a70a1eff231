"""Complete manifests and bundles without a real export, for bundle tests that need no runtime."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from edgedistill.bundle.manifest import SCHEMA_VERSION
from edgedistill.bundle.writer import write_bundle

SHA = "0" * 64
MODEL = "m_onnxruntime_fp32.onnx"


MODEL_CARD = {
    "model": {"architecture": "bert", "layers": 1, "hidden_size": 32, "parameters": 1000, "distilled_from": None},
    "data": {"source": "builtin:mr-polarity", "test_source": None, "transfer": None, "labels": ["neg", "pos"],
             "texts": {"train": 8, "validation": 1, "test": 1}},
    "intended_use": "tests", "limits": ["none measured"],
    "metrics": {"split": "test", "texts": 1, "accuracy": 0.9, "fp32_student_accuracy": 0.9, "teacher_accuracy": None,
                "agreement_with_fp32": 1.0},
}
TOKENIZER_SETTINGS = {
    "file": "tokenizer.json", "vocab_file": None, "model": "WordPiece", "vocab_size": 7, "lowercase": True,
    "strip_accents": True, "max_length": 64,
    "truncation": {"side": "right", "strategy": "longest_first", "counts_special_tokens": True},
    "padding": {"side": "right", "pad_id": 0, "strategy": "longest", "buckets": []},
    "added_tokens": {"before": [2], "after": [3]},
    "special_tokens": {"cls": {"token": "[CLS]", "id": 2}, "sep": {"token": "[SEP]", "id": 3},
                       "pad": {"token": "[PAD]", "id": 0}, "unk": {"token": "[UNK]", "id": 1},
                       "mask": {"token": "[MASK]", "id": 4}},
}


def tokenizer_json() -> str:
    """A real WordPiece tokenizer.json over seven tokens, the ids golden_payload uses (torch-free)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "a": 5, "film": 6}
    tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    return tokenizer.to_str()


def manifest_fields(model: str = MODEL) -> dict:
    """Every manifest field but `model`, `files`, `created_at` and `tokenizer` (the writer fills those)."""
    return {
        "schema_version": SCHEMA_VERSION, "name": "m-onnxruntime-fp32", "target": "test", "runtime": "onnxruntime",
        "precision": "fp32", "quantization": {"recipe": "fp32", "description": "d", "options": {}},
        "task": {"kind": "sequence-classification", "metric": "accuracy", "labels": ["neg", "pos"], "alignment": None},
        "toolchain": {"python": "3.11"}, "inputs": [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]}],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 2]}],
        "sequence": {"policy": "dynamic", "max_length": 64, "buckets": []}, "threads": 1, "cpu_affinity": [],
        "data": {"source": "builtin:mr-polarity"}, "budgets": {"max_accuracy_drop": 1.0, "p90_latency_ms": None},
        "export_report": {}, "metrics": {
            "accuracy": 0.9, "reference_accuracy": 0.9, "teacher_accuracy": None, "agreement": 1.0,
            "max_abs_logit_diff": 0.0, "size_bytes": 1, "peak_rss_mb": 1.0,
            "latency_ms": {"load": 1.0, "first": 1.0, "p50": 1.0, "p90": 1.0, "p99": 1.0}},
        "requirements": {"libraries": ["onnxruntime"]}, "model_card": copy.deepcopy(MODEL_CARD),
    }


def complete_manifest() -> dict:
    files = {name: {"sha256": SHA, "size": 1} for name in (MODEL, "tokenizer.json", "labels.json", "golden.json")}
    return {**manifest_fields(MODEL), "model": MODEL, "files": files, "created_at": "2026-01-01T00:00:00+00:00",
            "tokenizer": copy.deepcopy(TOKENIZER_SETTINGS)}


def golden_payload() -> dict:
    return {"cases": [{"text": "a film", "max_tokens": 8, "input_ids": [2, 5, 6, 3, 0, 0, 0, 0],
                       "attention_mask": [1, 1, 1, 1, 0, 0, 0, 0], "logits": [0.5, -0.5]}]}


def fake_bundle(root: Path) -> Path:
    """A bundle written by the real writer around stand-in model bytes: it opens and publishes, but never runs."""
    student = root / "student"
    student.mkdir(parents=True)
    (student / "tokenizer.json").write_text(tokenizer_json())
    (student / "labels.json").write_text(json.dumps({"labels": ["neg", "pos"]}))
    artifact = root / "artifact.onnx"
    artifact.write_bytes(b"\x08\x07model bytes" * 100)
    return write_bundle(root / "bundles" / "m-onnxruntime-fp32", artifact, MODEL, student, golden_payload(),
                        manifest_fields())
