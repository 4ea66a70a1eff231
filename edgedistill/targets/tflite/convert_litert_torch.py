"""Student → TFLite straight from PyTorch with litert-torch; ai-edge-quantizer for fp16 and int8.

The model is converted once in fp32 with named keyword inputs (so the signature says
`input_ids`/`attention_mask`, not `args_0`), then its weights are rewritten:
fp16 casts FullyConnected/embedding weights to float16 (dequantized at load);
int8-dynamic stores int8 per-channel weights and quantizes activations at run time.

Several static lengths (a fixed profile's buckets) become one signature each, `len_<n>`, in one
file. The signatures read the same weight buffers, before and after quantization: measured on a
MiniLM-L6-sized BERT, buckets [32, 128] instead of [128] add 0.4% to the fp32 file, 0.8% to fp16
and 4% to int8 (whose per-channel scales are stored per signature).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from functools import partial
from pathlib import Path

from edgedistill.fsutil import atomic_write_bytes
from edgedistill.targets.tflite import drift
from edgedistill.third_party import native_stderr

SIGNATURE = "len_{}"  # a device reads each signature's bucket from its name
_FP16_WEIGHTS = [{
    "regex": ".*", "operation": "*", "algorithm_key": "float_casting",
    "op_config": {"weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
                  "compute_precision": "FLOAT", "explicit_dequantize": True},
}]
_QUANTIZER_RECIPES = {"fp16": "float_casting fp16 weights", "int8-dynamic": "dynamic_wi8_afp32"}


def convert(student_dir: Path, artifact: Path, lengths: tuple[int, ...], recipe: str) -> dict:
    """Write `artifact` for `recipe` at each static length and report its drift against the PyTorch student."""
    from importlib.metadata import version

    from edgedistill.model.reference import reference_logits
    from edgedistill.model.wrapper import load_exportable

    model = load_exportable(student_dir)
    vocab_size = model.model.config.vocab_size
    content = bytes(_convert(model, vocab_size, lengths).model_content())
    if recipe != "fp32":
        content = bytes(_quantize(content, recipe))
    atomic_write_bytes(artifact, content)
    drift_by_length = drift.max_abs_diff_by_length(artifact, vocab_size, list(lengths), partial(reference_logits, model))
    report = {
        "converter": "litert-torch", "converter_version": version("litert-torch"),
        "max_abs_diff_vs_pytorch": max(drift_by_length.values()),
    }
    if len(lengths) > 1:
        report.update(signatures={SIGNATURE.format(length): length for length in lengths},
                      max_abs_diff_by_length={str(length): diff for length, diff in drift_by_length.items()},
                      weights=weight_sharing(content))
    if recipe in _QUANTIZER_RECIPES:
        report.update(quantizer="ai-edge-quantizer", quantizer_version=version("ai-edge-quantizer"),
                      quantizer_recipe=_QUANTIZER_RECIPES[recipe])
    return report


def weight_sharing(content: bytes) -> dict:
    """Bytes of constant data in the file, and how many of them more than one signature reads."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(content, 0)
    readers = defaultdict(set)
    for index in range(model.SubgraphsLength()):
        graph = model.Subgraphs(index)
        for tensor in range(graph.TensorsLength()):
            readers[graph.Tensors(tensor).Buffer()].add(index)
    # Buffers past 2 GB live outside the flatbuffer, with only their size recorded.
    sizes = {buffer: model.Buffers(buffer).DataLength() or model.Buffers(buffer).Size() for buffer in readers}
    return {"constant_bytes": sum(sizes.values()),
            "shared_bytes": sum(size for buffer, size in sizes.items() if len(readers[buffer]) > 1)}


def _convert(model, vocab_size: int, lengths: tuple[int, ...]):
    """One length keeps litert-torch's `serving_default` signature, as files had before buckets."""
    with native_stderr("litert_torch"):  # loading TensorFlow's native code prints absl's and oneDNN's notices on fd 2
        import litert_torch

    from edgedistill.model.wrapper import INPUT_NAMES, example_inputs

    samples = {length: dict(zip(INPUT_NAMES, example_inputs(vocab_size, length, 1))) for length in lengths}
    if len(lengths) == 1:
        return litert_torch.convert(model, sample_kwargs=samples[lengths[0]])
    converter = litert_torch
    for length, sample in samples.items():
        converter = converter.signature(SIGNATURE.format(length), model, sample_kwargs=sample)
    return converter.convert()


def _quantize(content: bytes, recipe: str) -> bytes:
    from ai_edge_quantizer import quantizer
    from ai_edge_quantizer import recipe as recipes

    quantization = recipes.dynamic_wi8_afp32() if recipe == "int8-dynamic" else _FP16_WEIGHTS
    root = logging.getLogger()
    root.addFilter(_shared_buffer_warning)
    try:
        result = quantizer.Quantizer(bytearray(content), quantization).quantize(enable_progress_report=False)
    finally:
        root.removeFilter(_shared_buffer_warning)
    return result.quantized_model


def _shared_buffer_warning(record: logging.LogRecord) -> bool:
    """Drops the quantizer's warning that a weight buffer is quantized again for a second signature:
    measured, each signature's logits then equal those of a one-signature file bit for bit."""
    return "overriding other previously quantized data" not in record.getMessage()
