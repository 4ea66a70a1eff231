"""The headline benchmark's derived figures: FLOPs from a config, the GEMM ceiling model, and the goals."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import headline_figures as figures  # noqa: E402

from edgedistill.jsonio import write_json  # noqa: E402


def test_encoder_flops_by_hand(tmp_path):
    config = tmp_path / "config.json"
    write_json(config, {"hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 2,
                        "id2label": {"0": "neg", "1": "pos"}})
    # per layer at 3 tokens: projections 4*3*4*4=192, feed-forward 2*3*4*8=192, attention 2*3*3*4=72 -> 456
    # two layers 912, pooler 16, classifier 8 -> 936 multiply-adds, 1872 FLOPs
    assert figures.encoder_flops(config, 3) == 1872


def test_gemm_models_compute_what_they_claim(tmp_path):
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    for integer in (True, False):
        path = figures.write_gemm(tmp_path / f"gemm-{integer}.onnx", integer)
        weights = numpy_helper.to_array(onnx.load(path).graph.initializer[0])
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        n = figures.GEMM_SIZE
        a = np.ones((n, n), np.uint8 if integer else np.float32)
        (y,) = session.run(None, {"A": a})
        np.testing.assert_allclose(y[0], weights.astype(np.float64).sum(axis=0), rtol=1e-4, atol=1e-3)


def _row(model, runtime, precision, accuracy, p50, fraction=None):
    row = {"model": model, "runtime": runtime, "precision": precision, "accuracy": accuracy,
           "latency": {"1": {"p50": p50, "p90": p50}}}
    return row | ({"ceiling_fraction": {"1": fraction}} if fraction is not None else {})


def test_goals_say_by_how_much_they_are_missed():
    rows = {
        "teacher-pytorch-fp32": _row("teacher", "pytorch", "fp32", 0.90, 100.0),
        "teacher-onnxruntime-fp32": _row("teacher", "onnxruntime", "fp32", 0.90, 60.0),
        "student-onnxruntime-int8": _row("student", "onnxruntime", "int8", 0.80, 12.0, 0.30),
        "student-tflite-int8": _row("student", "tflite", "int8", 0.81, 8.0, 0.55),
        "peer-by-hand-onnxruntime-int8": _row("student", "onnxruntime", "int8", 0.82, 10.0, 0.35),
        "peer-optimum-executorch-xnnpack": {"model": "student", "runtime": "executorch", "precision": "int8",
                                            "error": "UserError: the optimum-executorch tool environment is missing"},
    }
    best, by_hand, executorch, ceiling = figures.goals(rows, teacher_accuracy=0.90)
    assert best["row"] == "student-tflite-int8" and not best["met"]
    assert best["missed_by"].startswith("no student reaches 87.30% (best 81.00%, 6.30 points short)")
    assert best["speedup"] == {"vs_pytorch": 12.5, "vs_onnxruntime": 7.5}
    assert not by_hand["met"] and "20.0% slower" in by_hand["missed_by"] and "2.00 points" in by_hand["missed_by"]
    assert not executorch["met"] and "tool environment is missing" in executorch["missed_by"]
    assert ceiling["met"] and ceiling["row"] == "student-tflite-int8"
