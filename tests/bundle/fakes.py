"""Complete manifests and bundles without a real export, for bundle tests that need no runtime."""

from __future__ import annotations

import json
from pathlib import Path

from edgedistill.bundle.manifest import SCHEMA_VERSION
from edgedistill.bundle.writer import write_bundle

SHA = "0" * 64
MODEL = "m_onnxruntime_fp32.onnx"


def manifest_fields(model: str = MODEL) -> dict:
    """Every manifest field but `model`, `files` and `created_at` (the writer fills those)."""
    return {
        "schema_version": SCHEMA_VERSION, "name": "m-onnxruntime-fp32", "target": "test", "runtime": "onnxruntime",
        "precision": "fp32", "quantization": {"recipe": "fp32", "description": "d", "options": {}},
        "toolchain": {"python": "3.11"}, "inputs": [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "sequence"]}],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 2]}],
        "sequence": {"policy": "dynamic", "max_length": 64, "buckets": []}, "threads": 1, "cpu_affinity": [],
        "data": {"source": "builtin:mr-polarity"}, "budgets": {"max_accuracy_drop": 1.0, "p90_latency_ms": None},
        "export_report": {}, "metrics": {
            "accuracy": 0.9, "reference_accuracy": 0.9, "teacher_accuracy": None, "agreement": 1.0,
            "max_abs_logit_diff": 0.0, "size_bytes": 1, "peak_rss_mb": 1.0,
            "latency_ms": {"load": 1.0, "first": 1.0, "p50": 1.0, "p90": 1.0, "p99": 1.0}},
    }


def complete_manifest() -> dict:
    files = {name: {"sha256": SHA, "size": 1} for name in (MODEL, "tokenizer.json", "labels.json", "golden.json")}
    return {**manifest_fields(MODEL), "model": MODEL, "files": files}


def golden_payload() -> dict:
    return {"cases": [{"text": "a film", "max_tokens": 8, "input_ids": [2, 5, 6, 3, 0, 0, 0, 0],
                       "attention_mask": [1, 1, 1, 1, 0, 0, 0, 0], "logits": [0.5, -0.5]}]}


def fake_bundle(root: Path) -> Path:
    """A bundle written by the real writer around stand-in model bytes: it opens and publishes, but never runs."""
    student = root / "student"
    student.mkdir(parents=True)
    (student / "tokenizer.json").write_text("{}")
    (student / "labels.json").write_text(json.dumps({"labels": ["neg", "pos"]}))
    artifact = root / "artifact.onnx"
    artifact.write_bytes(b"\x08\x07model bytes" * 100)
    return write_bundle(root / "bundles" / "m-onnxruntime-fp32", artifact, MODEL, student, golden_payload(),
                        manifest_fields())
