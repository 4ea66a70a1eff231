"""Figures derived from what `headline.py` measured: FLOPs from a model config, the ceiling GEMMs, the goals,
and the Markdown table benchmarks/README.md includes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgedistill.jsonio import read_json

GEMM_SIZE = 1024
TEACHER_FRACTION = 0.97  # a student counts at >= 97% of the teacher's test accuracy ...
SPEEDUP_VS_TEACHER_PYTORCH = 10.0  # ... and must be this much faster than the teacher in PyTorch fp32 ...
SPEEDUP_VS_TEACHER_ORT = 6.0  # ... and than the teacher in ONNX Runtime fp32, at 1 thread
CEILING_FRACTION = 0.5  # the best int8 artifact reaches half the int8 GEMM ceiling
GOAL_THREADS = "1"


def encoder_flops(config_json: Path, length: int) -> int:
    """Multiply-adds x 2 of one batch-1 forward pass at `length` tokens, from a BERT-family config.

    Per layer: the Q, K, V and output projections, the two feed-forward matrices, and the two attention
    products (scores and the weighted sum), which grow with length squared; then the pooler and classifier.
    Embedding lookups, softmax, LayerNorm and GELU are left out (memory-bound, a few percent of the total).
    """
    config = read_json(config_json)
    hidden, inner, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    labels = len(config.get("id2label") or {}) or 2
    per_layer = 4 * length * hidden * hidden + 2 * length * hidden * inner + 2 * length * length * hidden
    return 2 * (layers * per_layer + hidden * hidden + hidden * labels)


def write_gemm(path: Path, integer: bool) -> Path:
    """A GEMM_SIZE^3 ONNX GEMM: uint8 x int8 MatMulInteger (what dynamic int8 runs) or fp32 MatMul; the right
    operand is a constant, as weights are."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n = GEMM_SIZE
    rng = np.random.default_rng(0)
    if integer:
        weights = numpy_helper.from_array(rng.integers(-127, 127, (n, n), dtype=np.int8), "B")
        node = helper.make_node("MatMulInteger", ["A", "B"], ["Y"])
        a_type, y_type = TensorProto.UINT8, TensorProto.INT32
    else:
        weights = numpy_helper.from_array(rng.standard_normal((n, n), dtype=np.float32), "B")
        node = helper.make_node("MatMul", ["A", "B"], ["Y"])
        a_type, y_type = TensorProto.FLOAT, TensorProto.FLOAT
    graph = helper.make_graph([node], "gemm", [helper.make_tensor_value_info("A", a_type, [n, n])],
                              [helper.make_tensor_value_info("Y", y_type, [n, n])], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path


def gemm_ops() -> int:
    return 2 * GEMM_SIZE ** 3


def goals(rows: dict[str, Any], teacher_accuracy: float) -> list[dict[str, Any]]:
    """The issue's goals, computed from the rows (each with `met` and, where missed, `missed_by`)."""
    return [best_student_goal(rows, teacher_accuracy), *peer_goals(rows), ceiling_goal(rows)]


def _p50(row: dict[str, Any], threads: str = GOAL_THREADS) -> float | None:
    return (row.get("latency", {}).get(threads) or {}).get("p50")


def _measured(rows: dict[str, Any]) -> dict[str, Any]:
    return {name: row for name, row in rows.items() if _p50(row) is not None and row.get("accuracy") is not None}


def best_student_goal(rows: dict[str, Any], teacher_accuracy: float) -> dict[str, Any]:
    """The fastest student artifact at >= 97% of the teacher's accuracy, against both teacher baselines."""
    measured = _measured(rows)
    floor = TEACHER_FRACTION * teacher_accuracy
    students = {name: row for name, row in measured.items()
                if row["model"] == "student" and row["runtime"] != "pytorch" and not name.startswith("peer-")}
    eligible = {name: row for name, row in students.items() if row["accuracy"] >= floor}
    goal: dict[str, Any] = {"goal": f"best student artifact at >= {TEACHER_FRACTION:.0%} of the teacher's accuracy: "
                                    f">= {SPEEDUP_VS_TEACHER_PYTORCH:g}x faster than teacher PyTorch fp32 and >= "
                                    f"{SPEEDUP_VS_TEACHER_ORT:g}x faster than teacher ONNX Runtime fp32, 1 thread",
                            "accuracy_floor": floor}
    pool = eligible or students
    if not pool or "teacher-pytorch-fp32" not in measured or "teacher-onnxruntime-fp32" not in measured:
        return {**goal, "met": False, "missed_by": "not measured"}
    best = min(pool, key=lambda name: _p50(pool[name]))
    speedups = {"vs_pytorch": _p50(measured["teacher-pytorch-fp32"]) / _p50(pool[best]),
                "vs_onnxruntime": _p50(measured["teacher-onnxruntime-fp32"]) / _p50(pool[best])}
    misses = []
    if not eligible:
        best_accuracy = max(row["accuracy"] for row in students.values())
        misses.append(f"no student reaches {floor:.2%} (best {best_accuracy:.2%}, "
                      f"{(floor - best_accuracy) * 100:.2f} points short)")
    for key, limit in (("vs_pytorch", SPEEDUP_VS_TEACHER_PYTORCH), ("vs_onnxruntime", SPEEDUP_VS_TEACHER_ORT)):
        if speedups[key] < limit:
            misses.append(f"{key.replace('_', ' ')} {speedups[key]:.1f}x of {limit:g}x")
    return {**goal, "row": best, "speedup": speedups, "met": not misses, "missed_by": "; ".join(misses) or None}


def peer_goals(rows: dict[str, Any]) -> list[dict[str, Any]]:
    """Each of our int8 bundles against every peer artifact of its runtime: at least as fast (p50, 1 thread) and
    at least as accurate."""
    measured = _measured(rows)
    outcome = []
    for peer_name, peer in rows.items():
        if not peer_name.startswith("peer-"):
            continue
        ours_name = f"student-{peer['runtime']}-int8"
        goal = {"goal": f"{ours_name} at least as fast and as accurate as {peer_name}", "row": ours_name, "peer": peer_name}
        if peer_name not in measured or ours_name not in measured:
            reason = peer.get("error") or rows.get(ours_name, {}).get("error") or "not measured"
            outcome.append({**goal, "met": False, "missed_by": f"not measured: {reason}"})
            continue
        ours, theirs = measured[ours_name], measured[peer_name]
        misses = []
        if _p50(ours) > _p50(theirs):
            misses.append(f"{(_p50(ours) / _p50(theirs) - 1):.1%} slower ({_p50(ours):.2f} vs {_p50(theirs):.2f} ms)")
        if ours["accuracy"] < theirs["accuracy"]:
            misses.append(f"{(theirs['accuracy'] - ours['accuracy']) * 100:.2f} points less accurate")
        outcome.append({**goal, "met": not misses, "missed_by": "; ".join(misses) or None})
    return outcome


def ceiling_goal(rows: dict[str, Any]) -> dict[str, Any]:
    goal = {"goal": f"best int8 artifact >= {CEILING_FRACTION:.0%} of the int8 GEMM ceiling, 1 thread"}
    fractions = {name: row["ceiling_fraction"][GOAL_THREADS] for name, row in _measured(rows).items()
                 if row["precision"] == "int8" and row.get("ceiling_fraction", {}).get(GOAL_THREADS) is not None}
    if not fractions:
        return {**goal, "met": False, "missed_by": "not measured"}
    best = max(fractions, key=fractions.__getitem__)
    met = fractions[best] >= CEILING_FRACTION
    return {**goal, "row": best, "fraction": fractions[best], "met": met,
            "missed_by": None if met else f"{(CEILING_FRACTION - fractions[best]) * 100:.1f} points short"}


def markdown(results: dict[str, Any]) -> str:
    """The headline table, its goals, and where and how it was measured."""
    env = results["environment"]
    settings = results["settings"]
    lines = [f"Measured {env['date'][:10]} on {env['cpu']} ({env['cpu_count']} cores, {env['platform']}), "
             f"batch 1 x {settings['length']} tokens, {settings['repetitions']} interleaved repetitions of "
             f"{settings['calls']} calls per artifact and thread count; test accuracy on {settings['test_texts']} "
             "MR sentences. " + ", ".join(f"{name} {value}" for name, value in env["versions"].items()) + ".", ""]
    header = ("| artifact | built by | test acc. | agrees w/ teacher | MB | p50 / p90 ms, 1 thread | "
              "p50 / p90 ms, 2 threads | GFLOP/s, 1 thread | of ceiling |")
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for name, row in results["rows"].items():
        if row.get("error"):
            lines.append(f"| {name} | {row['origin']} | could not run: {row['error'][:160]} | | | | | | |")
            continue
        lines.append(" | ".join([
            f"| {name}", row["origin"], _pct(row.get("accuracy")), _pct(row.get("teacher_agreement")),
            _num(row.get("size_bytes") and row["size_bytes"] / 1e6, 1), _latency(row, "1"), _latency(row, "2"),
            _num(row.get("gflops", {}).get("1"), 1), _pct(row.get("ceiling_fraction", {}).get("1"), 0)]) + " |")
    ceiling = results["ceiling"]
    lines += ["", "Ceiling (ONNX Runtime, " + f"{GEMM_SIZE}^3 GEMM): " + "; ".join(
        f"{kind} {ceiling[kind].get(t, float('nan')):.0f} GOP/s at {t} thread(s)"
        for kind in ("int8", "fp32") for t in ("1", "2") if kind in ceiling) + ".", ""]
    lines += ["| goal | met | missed by |", "|---|---|---|"]
    for goal in results["goals"]:
        subject = f" ({goal['row']})" if goal.get("row") and goal["row"] not in goal["goal"] else ""
        measured = goal.get("speedup") and (f"; measured {goal['speedup']['vs_pytorch']:.1f}x and "
                                            f"{goal['speedup']['vs_onnxruntime']:.1f}x")
        if goal.get("fraction") is not None:
            measured = f"; measured {goal['fraction']:.0%}"
        lines.append(f"| {goal['goal']}{subject}{measured or ''} | {'yes' if goal['met'] else 'no'} | "
                     f"{goal.get('missed_by') or '–'} |")
    pipeline = results["pipeline"]
    lines += ["", f"Pipeline wall time: {pipeline['total_s'] / 60:.0f} minutes ({pipeline['how']})."]
    return "\n".join(lines) + "\n"


def _pct(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def _num(value: float | None, digits: int) -> str:
    return "–" if not value else f"{value:.{digits}f}"


def _latency(row: dict[str, Any], threads: str) -> str:
    figures = row.get("latency", {}).get(threads)
    return "–" if not figures else f"{figures['p50']:.2f} / {figures['p90']:.2f}"
