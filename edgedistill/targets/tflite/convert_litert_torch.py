"""Student → TFLite straight from PyTorch with litert-torch; ai-edge-quantizer for fp16 and int8.

The model is converted once in fp32 with named keyword inputs (so the signature says
`input_ids`/`attention_mask`, not `args_0`), then its weights are rewritten:
fp16 casts FullyConnected/embedding weights to float16 (dequantized at load);
int8-dynamic stores int8 per-channel weights and quantizes activations at run time.
"""

from __future__ import annotations

from pathlib import Path

from edgedistill.fsutil import atomic_write_bytes
from edgedistill.targets.tflite import drift

_FP16_WEIGHTS = [{
    "regex": ".*", "operation": "*", "algorithm_key": "float_casting",
    "op_config": {"weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
                  "compute_precision": "FLOAT", "explicit_dequantize": True},
}]
_QUANTIZER_RECIPES = {"fp16": "float_casting fp16 weights", "int8-dynamic": "dynamic_wi8_afp32"}


def convert(student_dir: Path, artifact: Path, length: int, recipe: str) -> dict:
    """Write `artifact` for `recipe` and report its drift against the PyTorch student."""
    from importlib.metadata import version

    import litert_torch

    from edgedistill.model.reference import reference_logits
    from edgedistill.model.wrapper import example_inputs, load_exportable

    model = load_exportable(student_dir)
    ids, mask = example_inputs(model.model.config.vocab_size, length, 1)
    converted = litert_torch.convert(model, sample_kwargs={"input_ids": ids, "attention_mask": mask})
    content = converted.model_content()
    if recipe != "fp32":
        content = _quantize(content, recipe)
    atomic_write_bytes(artifact, bytes(content))
    probe_ids, probe_mask = drift.probe_inputs(model.model.config.vocab_size, length)
    reference = reference_logits(model, probe_ids, probe_mask)
    report = {
        "converter": "litert-torch", "converter_version": version("litert-torch"),
        "max_abs_diff_vs_pytorch": drift.max_abs_diff(artifact, probe_ids, probe_mask, reference),
    }
    if recipe in _QUANTIZER_RECIPES:
        report.update(quantizer="ai-edge-quantizer", quantizer_version=version("ai-edge-quantizer"),
                      quantizer_recipe=_QUANTIZER_RECIPES[recipe])
    return report


def _quantize(content: bytes, recipe: str) -> bytes:
    from ai_edge_quantizer import quantizer
    from ai_edge_quantizer import recipe as recipes

    quantization = recipes.dynamic_wi8_afp32() if recipe == "int8-dynamic" else _FP16_WEIGHTS
    result = quantizer.Quantizer(bytearray(content), quantization).quantize(enable_progress_report=False)
    return result.quantized_model
