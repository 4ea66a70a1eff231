"""PyTorch student → fp32 ONNX, and ONNX Runtime's offline graph optimisation.

The exporter is torch.onnx's dynamo path (`torch.export` + onnxscript), the maintained
default; the TorchScript path is deprecated. Opset 18 rather than the exporter's newer
default: GELU stays the portable Div/Erf/Mul form that onnx2tf maps with `-rtpo Erf`,
and devices with an ONNX Runtime as old as 1.14 still load the model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import warnings
from pathlib import Path

from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_write_bytes, make_readable
from edgedistill.profiles import SequencePolicy

OPSET = 18
EXPORTER = f"torch.onnx.export(dynamo=True), opset {OPSET}"
BATCH_AXIS = "batch"
SEQUENCE_AXIS = "sequence"
# Long enough that torch.export cannot specialise the sequence axis to a constant.
_TRACE_LENGTH = 16
_TRACE_BATCH = 2


def export_onnx(student_dir: Path, path: Path, fixed_length: int | None = None) -> Path:
    """Write the student as an fp32 ONNX model with inputs `input_ids`, `attention_mask` (int64)
    and output `logits`; axes `batch` and `sequence` are dynamic unless `fixed_length` pins the
    inputs to `[1, fixed_length]` (what onnx2tf needs)."""
    import onnx
    import torch

    from edgedistill.model.wrapper import INPUT_NAMES, OUTPUT_NAMES, example_inputs, load_exportable

    if fixed_length is not None and fixed_length < 2:
        raise UserError(f"fixed sequence length must be at least 2, got {fixed_length}")
    model = load_exportable(Path(student_dir))
    vocab_size = model.model.config.vocab_size
    if fixed_length is None:
        args = example_inputs(vocab_size, _TRACE_LENGTH, _TRACE_BATCH)
        batch, sequence = torch.export.Dim(BATCH_AXIS), torch.export.Dim(SEQUENCE_AXIS)
        dynamic_shapes = {name: {0: batch, 1: sequence} for name in INPUT_NAMES}
    else:
        args = example_inputs(vocab_size, fixed_length, 1)
        dynamic_shapes = None
    with warnings.catch_warnings():
        # Both inputs share the batch/sequence Dims on purpose; the exporter warns that it names each once.
        warnings.filterwarnings("ignore", message=r"# The axis name: .* will not be used")
        program = torch.onnx.export(
            model, args, input_names=INPUT_NAMES, output_names=OUTPUT_NAMES, opset_version=OPSET,
            dynamo=True, dynamic_shapes=dynamic_shapes, optimize=True, verbose=False,
        )
    proto = _without_debug_metadata(program.model_proto)
    onnx.checker.check_model(proto, full_check=True)
    atomic_write_bytes(Path(path), proto.SerializeToString())
    return Path(path)


def _without_debug_metadata(proto):
    """Drop the exporter's per-node provenance (FX nodes, stack traces): it outweighs a small student's weights."""
    for item in [*proto.graph.node, *proto.graph.value_info, *proto.graph.input, *proto.graph.output]:
        del item.metadata_props[:]
    for node in proto.graph.node:
        node.doc_string = ""
    return proto


def record_sequence(artifact: Path, sequence: SequencePolicy) -> None:
    """Store the profile's sequence policy in the model's metadata, where the session reads its widths from."""
    import onnx

    from edgedistill.targets.onnxruntime.runtime import SEQUENCE_METADATA

    model = onnx.load(str(artifact))
    props = {entry.key: entry.value for entry in model.metadata_props}
    onnx.helper.set_model_props(model, {**props, SEQUENCE_METADATA: json.dumps(dataclasses.asdict(sequence))})
    atomic_write_bytes(Path(artifact), model.SerializeToString())


def optimize_graph(source: Path, destination: Path, level: str) -> Path:
    """Save ONNX Runtime's optimised graph of `source` (constant folding, MatMul+Add into Gemm, ...)."""
    import onnxruntime as ort

    from edgedistill.targets.onnxruntime.runtime import DISABLED_OPTIMIZERS

    levels = {
        "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }
    destination = Path(destination)
    fd, scratch = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".onnx", dir=destination.parent)
    os.close(fd)
    try:
        options = ort.SessionOptions()
        options.graph_optimization_level = levels[level]
        options.optimized_model_filepath = scratch
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"],
                             disabled_optimizers=DISABLED_OPTIMIZERS)
        make_readable(scratch)
        os.replace(scratch, destination)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    return destination
