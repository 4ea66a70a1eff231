"""PyTorch student → fp32 ONNX (`model.onnx_export`), and ONNX Runtime's offline graph optimisation."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

from edgedistill.fsutil import atomic_write_bytes, make_readable
from edgedistill.profiles import SequencePolicy


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
