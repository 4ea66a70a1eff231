"""torch.export the student at the profile's sequence shape and lower it to an XNNPACK `.pte`.

Follows executorch/examples/xnnpack/aot_compiler.py: export → (quantize → re-export) →
`to_edge_transform_and_lower` with the XNNPACK partitioner → `to_executorch` → bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.export import Dim, ExportedProgram

from edgedistill.errors import UserError
from edgedistill.model.wrapper import INPUT_NAMES, example_inputs
from edgedistill.targets.executorch.delegation import delegation_report, kernel_ops
from edgedistill.targets.executorch.runtime import FIXED_LENGTH_METHOD
from edgedistill.profiles import SequencePolicy

MIN_DYNAMIC_LENGTH = 2
# Quantization captures take whole calibration/training batches; the device graph takes one row.
MAX_CAPTURE_BATCH = 1024


@dataclass(frozen=True)
class SequenceShape:
    """The sequence length the program is exported at: static (`fixed`) or bounded dynamic."""

    length: int
    dynamic: bool

    @classmethod
    def from_policy(cls, policy: SequencePolicy) -> SequenceShape:
        # One static method at the largest bucket: `run` pads every input to it.
        if policy.policy == "fixed":
            return cls(policy.longest, dynamic=False)
        return cls(policy.max_length, dynamic=True)

    def constant_methods(self) -> dict[str, int]:
        """Stored in the program, so a device reads its padding rule from the file (0: dynamic)."""
        return {FIXED_LENGTH_METHOD: 0 if self.dynamic else self.length}


def check_fits(model: nn.Module, shape: SequenceShape) -> None:
    """The model must have position embeddings for the longest sequence the program accepts."""
    positions = getattr(model.model.config, "max_position_embeddings", None)
    if positions is not None and shape.length > positions:
        raise UserError(f"sequence length {shape.length} exceeds the student's max_position_embeddings "
                        f"({positions}); lower sequence.max_length/buckets in the device profile")


def capture(model: nn.Module, shape: SequenceShape, vocab_size: int, batch_dynamic: bool) -> ExportedProgram:
    """torch.export with int64 `input_ids`/`attention_mask`; `batch_dynamic` for quantization captures."""
    batch = Dim("batch", min=1, max=MAX_CAPTURE_BATCH) if batch_dynamic else None
    sequence = Dim("sequence", min=MIN_DYNAMIC_LENGTH, max=shape.length) if shape.dynamic else None
    axes = {axis: dim for axis, dim in ((0, batch), (1, sequence)) if dim is not None}
    # Two example rows when batch is dynamic: torch.export specialises a size-1 dimension.
    inputs = example_inputs(vocab_size, shape.length, batch=2 if batch_dynamic else 1)
    dynamic_shapes = {name: dict(axes) for name in INPUT_NAMES} if axes else None
    return torch.export.export(model, inputs, dynamic_shapes=dynamic_shapes, strict=False)


def lower(program: ExportedProgram, shape: SequenceShape, fuse_quantized_embeddings: bool) -> tuple[bytes, dict]:
    """Lower to XNNPACK; returns the `.pte` bytes and the delegation report.

    The report counts the edge graph's ops on each side of the delegate, and `kernel_ops`
    the ops left for ExecuTorch's portable/quantized kernels in the final program.

    `fuse_quantized_embeddings` runs ExecuTorch's quant-fusion pass, which turns
    dequantize → embedding into `quantized_decomposed::embedding_byte` (int8 table in the file).
    """
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.backends.xnnpack.utils.configs import get_transform_passes
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower

    edge = to_edge_transform_and_lower(
        program,
        partitioner=[XnnpackPartitioner()],
        transform_passes=get_transform_passes(),
        constant_methods=shape.constant_methods(),
    )
    report = delegation_report(edge.exported_program().graph_module)
    executorch_program = edge.to_executorch(ExecutorchBackendConfig(
        extract_delegate_segments=True, do_quant_fusion_and_const_prop=fuse_quantized_embeddings,
    ))
    report["kernel_ops"] = kernel_ops(executorch_program.exported_program().graph_module)
    return executorch_program.buffer, report
