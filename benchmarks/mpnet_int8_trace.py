"""Where ONNX Runtime's dynamic int8 loses accuracy on an MPNet student: quantize parts of its fp32 graph, score each.

The 6-layer DistilBERT-style mpnet student of `distill_large_mr.py` (seed 13) loses 3.25 validation points under
`int8-dynamic`, where the BERT-family students lose under 1. ONNX Runtime does not fuse MPNet's attention (it adds a
relative position bias), so every projection is a plain MatMul. This quantizes the student's fp32 bundle graph (from
`targets_large_mr.py`) with `quantize_dynamic` in parts: the embedding tables alone, every constant-weight MatMul,
and the same with each layer's FFN output projection (intermediate -> hidden, fed by GELU) left in float. Each is
scored on the 400 validation sentences at 64 tokens. Results go to benchmarks/results/mpnet_int8_trace.json.

    .venv/bin/python benchmarks/mpnet_int8_trace.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from environment import describe_environment  # noqa: E402

from edgedistill.bundle.reader import open_bundle  # noqa: E402
from edgedistill.data import load_splits  # noqa: E402
from edgedistill.jsonio import read_json, write_json  # noqa: E402
from edgedistill.modeldir import read_data_spec  # noqa: E402
from edgedistill.text.encode import TextEncoder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mpnet_int8_trace.json"
BUNDLES = ROOT / "runs" / "large" / "bundles" / "mpnet-l6-kd-onnxruntime"
STUDENT = ROOT / "runs" / "large" / "mpnet-l6-kd-seed13"
LENGTH = 64
BATCH = 50


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=Path, default=BUNDLES, help="export folder holding the fp32 bundle")
    parser.add_argument("--student", type=Path, default=STUDENT)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    bundle = open_bundle(Path(read_json(args.bundles / "export_report.json")["runtimes"]["onnxruntime"]["bundle"]))
    if bundle.manifest.precision != "fp32":
        raise SystemExit(f"{bundle.path} is not the fp32 bundle")
    validation = load_splits(read_data_spec(args.student)).validation
    ids, mask = TextEncoder(bundle.tokenizer_json, LENGTH).encode(validation.texts, pad_to=LENGTH)
    labels = np.array(validation.labels)
    reference = logits_of(bundle.model_path, ids, mask)
    ffn_outputs = ffn_output_matmuls(bundle.model_path)
    parts = {"embedding tables (Gather) only": (["Gather"], []),
             "every constant-weight MatMul": (["MatMul"], []),
             "every constant-weight MatMul but the FFN output projections": (["MatMul"], ffn_outputs)}
    rows = {"fp32": figures(reference, reference, labels)}
    with tempfile.TemporaryDirectory(prefix="mpnet-int8-") as scratch:
        for name, (op_types, excluded) in parts.items():
            quantized = Path(scratch) / "quantized.onnx"
            quantize(bundle.model_path, quantized, op_types, excluded)
            rows[name] = {**figures(logits_of(quantized, ids, mask), reference, labels), "op_types": op_types,
                          "nodes_left_in_float": len(excluded)}
            print(f"{name}: {rows[name]}", flush=True)
    write_json(args.results, {"bundle": str(bundle.path.relative_to(ROOT)), "length": LENGTH,
                              "validation_sentences": len(labels), "rows": rows, "environment": describe_environment()})
    print(f"wrote {args.results}")


def ffn_output_matmuls(model_path: Path) -> list[str]:
    """The MatMuls whose constant weight maps the widest activation back to the hidden width: FFN outputs."""
    import onnx

    graph = onnx.load(str(model_path)).graph
    shapes = {tensor.name: tuple(tensor.dims) for tensor in graph.initializer}
    weights = {node.name: shapes[node.input[1]] for node in graph.node
               if node.op_type == "MatMul" and node.input[1] in shapes and len(shapes[node.input[1]]) == 2}
    widest = max(rows for rows, _ in weights.values())
    return [name for name, (rows, columns) in weights.items() if rows == widest and columns < rows]


def quantize(source: Path, destination: Path, op_types: list[str], excluded: list[str]) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(destination), op_types_to_quantize=op_types, nodes_to_exclude=excluded,
                     weight_type=QuantType.QInt8)


def logits_of(model_path: Path, ids, mask):
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {"input_ids": ids[start:start + BATCH],
                                              "attention_mask": mask[start:start + BATCH]})[0]
                           for start in range(0, len(ids), BATCH)])


def figures(logits, reference, labels) -> dict:
    return {"validation_accuracy": float((logits.argmax(1) == labels).mean()),
            "agreement_with_fp32": float((logits.argmax(1) == reference.argmax(1)).mean()),
            "max_abs_logit_diff": float(abs(logits - reference).max())}


if __name__ == "__main__":
    main()
