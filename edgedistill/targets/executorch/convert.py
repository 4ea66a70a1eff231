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
from edgedistill.targets.executorch.runtime import FIXED_LENGTH_METHOD, FORWARD_METHOD, bucket_method
from edgedistill.profiles import SequencePolicy

MIN_DYNAMIC_LENGTH = 2
# Quantization captures take whole calibration/training batches; the device graph takes one row.
MAX_CAPTURE_BATCH = 1024


@dataclass(frozen=True)
class SequenceShape:
    """The sequence lengths the program is exported at: one bounded dynamic method, one static method, or one
    static method per bucket (`forward_<length>`, so a device reads the buckets from the method names)."""

    length: int  # the longest
    dynamic: bool
    buckets: tuple[int, ...] = ()

    @classmethod
    def from_policy(cls, policy: SequencePolicy) -> SequenceShape:
        if policy.policy == "fixed":
            return cls(policy.longest, dynamic=False, buckets=tuple(sorted(set(policy.buckets))))
        return cls(policy.max_length, dynamic=True)

    @property
    def methods(self) -> dict[str, int]:
        """Method name -> its static length (the longest for a dynamic method)."""
        if len(self.buckets) > 1:
            return {bucket_method(bucket): bucket for bucket in self.buckets}
        return {FORWARD_METHOD: self.length}

    def for_quantization(self) -> SequenceShape:
        """The capture quantization works on: dynamic in length when several buckets re-capture it after."""
        return SequenceShape(self.length, dynamic=True) if len(self.buckets) > 1 else self

    def constant_methods(self) -> dict[str, int]:
        """Stored in the program, so a device reads its padding rule from the file (0: dynamic or bucketed)."""
        return {FIXED_LENGTH_METHOD: 0 if self.dynamic or len(self.buckets) > 1 else self.length}


def check_fits(model: nn.Module, shape: SequenceShape) -> None:
    """The model must have position embeddings for the longest sequence the program accepts."""
    positions = getattr(model.model.config, "max_position_embeddings", None)
    if positions is not None and shape.length > positions:
        raise UserError(f"sequence length {shape.length} exceeds the student's max_position_embeddings "
                        f"({positions}); lower sequence.max_length/buckets in the device profile")


def capture_methods(model: nn.Module, shape: SequenceShape, vocab_size: int) -> dict[str, ExportedProgram]:
    """One batch-1 capture per method of `shape`, each at its own static length (or the dynamic one)."""
    return {name: capture(model, SequenceShape(length, shape.dynamic), vocab_size, batch_dynamic=False)
            for name, length in shape.methods.items()}


def capture(model: nn.Module, shape: SequenceShape, vocab_size: int, batch_dynamic: bool) -> ExportedProgram:
    """torch.export with int64 `input_ids`/`attention_mask`; `batch_dynamic` for quantization captures."""
    batch = Dim("batch", min=1, max=MAX_CAPTURE_BATCH) if batch_dynamic else None
    sequence = Dim("sequence", min=MIN_DYNAMIC_LENGTH, max=shape.length) if shape.dynamic else None
    axes = {axis: dim for axis, dim in ((0, batch), (1, sequence)) if dim is not None}
    # Two example rows when batch is dynamic: torch.export specialises a size-1 dimension.
    inputs = example_inputs(vocab_size, shape.length, batch=2 if batch_dynamic else 1)
    dynamic_shapes = {name: dict(axes) for name in INPUT_NAMES} if axes else None
    return torch.export.export(model, inputs, dynamic_shapes=dynamic_shapes, strict=False)


def lower(programs: dict[str, ExportedProgram], shape: SequenceShape, fuse_quantized_embeddings: bool
          ) -> tuple[bytes, dict]:
    """Lower every method to XNNPACK in one program; returns the `.pte` bytes and the delegation report
    (of the longest method: the others hold the same graph at shorter lengths).

    The report counts the edge graph's ops on each side of the delegate, and `kernel_ops`
    the ops left for ExecuTorch's portable/quantized kernels in the final program.

    `fuse_quantized_embeddings` runs ExecuTorch's quant-fusion pass, which turns
    dequantize → embedding into `quantized_decomposed::embedding_byte` (int8 table in the file).
    """
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.backends.xnnpack.utils.configs import get_transform_passes
    from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower

    edge = to_edge_transform_and_lower(
        programs,
        partitioner=[XnnpackPartitioner()],
        transform_passes=get_transform_passes(),
        constant_methods=shape.constant_methods(),
    )
    longest = max(shape.methods, key=shape.methods.get)
    report = delegation_report(edge.exported_program(longest).graph_module)
    executorch_program = edge.to_executorch(ExecutorchBackendConfig(
        extract_delegate_segments=True, do_quant_fusion_and_const_prop=fuse_quantized_embeddings,
    ))
    report["kernel_ops"] = kernel_ops(executorch_program.exported_program(longest).graph_module)
    report["methods"] = shape.methods
    return executorch_program.buffer, report
