"""Export reports for the report tests: synthetic ones (no runtime) and one real ONNX Runtime export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgedistill.check.latency import LatencyDistribution


def candidate(recipe: str, status: str, score: float, p90: float, size_mb: float, reason: str | None = None,
              metric: str = "accuracy") -> dict:
    """One candidate entry as export writes it, scored by `metric`, with a latency distribution around `p90`."""
    samples = [p90 * (0.6 + 0.5 * i / 99) for i in range(100)]
    return {"recipe": recipe, "precision": "int8" if recipe.startswith("int8") else "fp32", "description": recipe,
            "status": status, "reason": reason, "export_s": 1.5,
            "metrics": {metric: score, f"reference_{metric}": 0.8, "agreement": 0.95, "macro_f1": score,
                        "max_abs_logit_diff": 0.5, "size_bytes": int(size_mb * 1e6), "peak_rss_mb": 100.0,
                        "validation": {metric: score, f"reference_{metric}": 0.8},
                        "unlabelled": {"agreement": 0.95, "examples": 200},
                        "latency_ms": {"load": 20.0, "first": 5.0, "p50": p90 * 0.85, "p90": p90, "p99": p90 * 1.1}},
            "latency_distribution": vars(LatencyDistribution.of(samples))}


def write_export_report(folder: Path, profile: str, runtimes: dict[str, list[dict]], metric: str | None = None) -> Path:
    """An export_report.json whose runtimes kept the candidate marked "kept" (no bundle on disk); without `metric`,
    one written before reports named their metric (accuracy)."""
    folder.mkdir(parents=True, exist_ok=True)
    report = {"student": "/somewhere/tiny-student", "profile": profile, f"reference_{metric or 'accuracy'}": 0.8,
              **({"metric": metric} if metric else {}),
              "budgets": {"max_accuracy_drop": 1.0, "p90_latency_ms": 12.0},
              "runtimes": {name: {"kept": next((c["recipe"] for c in entries if c["status"] == "kept"), None),
                                  "bundle": next((f"/gone/{profile}-{name}-{c['recipe']}" for c in entries
                                                  if c["status"] == "kept"), None),
                                  "error": None, "candidates": entries, "check": {"passed": True, "gates": {}}}
                           for name, entries in runtimes.items()}}
    (folder / "export_report.json").write_text(json.dumps(report))
    return folder


@pytest.fixture
def synthetic_run(tmp_path) -> Path:
    """Two profiles' export folders: ONNX Runtime on one, ExecuTorch and TFLite on the other."""
    write_export_report(tmp_path / "bundles" / "board", "board", {"onnxruntime": [
        candidate("fp32", "accepted", 0.80, 20.0, 90.0, "slower than int8-dynamic (p50 20.00 against 8.50 ms)"),
        candidate("int8-dynamic", "kept", 0.795, 10.0, 23.0),
        candidate("int8-qdq", "rejected", 0.76, 9.0, 58.0, "validation accuracy drop 4.00 points exceeds the budget of 1"),
    ]})
    write_export_report(tmp_path / "bundles" / "phone", "phone", {
        "executorch": [candidate("int8-ptq", "kept", 0.79, 6.0, 40.0), candidate("fp32", "accepted", 0.8, 14.0, 90.0)],
        "tflite": [candidate("int8-dynamic", "kept", 0.8, 5.0, 24.0),
                   {"recipe": "int8-qat", "precision": "int8", "description": "qat", "status": "skipped",
                    "reason": "int8-dynamic already within budget at int8", "export_s": 0.0, "metrics": {}}],
    })
    return tmp_path


@pytest.fixture(scope="session")
def real_export(tiny_student_dir, tmp_path_factory) -> Path:
    """A folder holding one real export: ONNX Runtime fp32 under a dynamic policy up to 64 tokens."""
    from edgedistill.export.pipeline import ExportRequest, run_export

    folder = tmp_path_factory.mktemp("report-run")
    profile = folder / "tiny-host.toml"
    profile.write_text('name = "tiny-host"\ndescription = "test"\nisa = "x86-64"\nruntimes = ["onnxruntime"]\n'
                       'threads = 1\nprecisions = ["fp32"]\n[sequence]\npolicy = "dynamic"\nmax_length = 64\n'
                       "[budgets]\nmax_accuracy_drop = 6.0\n")
    run_export(ExportRequest(student_dir=tiny_student_dir, profile=str(profile), out_dir=folder / "bundles" / "tiny-host"))
    return folder
