"""ONNX Runtime backend: fp32, dynamic int8, static QDQ int8 and 4-bit-weight `.onnx` artifacts for Arm Linux boards.

Importing this needs only numpy; onnxruntime is imported when a model is loaded, and
torch/onnx only inside the export functions, so a Raspberry Pi runs bundles without them.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edgedistill.targets.base import ExportInputs, ExportResult, Recipe, Session, Target
from edgedistill.model import onnx_export
from edgedistill.targets.onnxruntime import convert, fuse, quantize
from edgedistill.profiles import DeviceProfile

# Graph-level choices are candidates measured on the exporting machine, not constants tuned on one CPU: which of
# the fused and the plain (by-hand) dynamic int8 graph runs faster differed between an Intel Xeon and an AMD EPYC,
# and so do offline against load-time graph optimisation and per-channel against per-tensor static scales.
DEFAULT_RECIPES = ("fp32", "fp32-online", "int8-dynamic", "int8-dynamic-plain", "int8-qdq", "int8-qdq-per-tensor",
                   "int4-weights")
# Quantizes every op ORT can (mask Add, Softmax, LayerNorm, embeddings): kept out of the
# defaults and offered only so the accuracy gate can be shown rejecting it.
NAIVE_RECIPE = "int8-qdq-all-ops"
_DESCRIPTIONS = {
    "fp32": "float32 with fused Attention/BiasGelu, ONNX Runtime graph optimisations applied offline",
    "fp32-online": "float32 as exported, no fusions: ONNX Runtime optimises the graph when it loads it (the by-hand path)",
    "int8-dynamic": "fused Attention/BiasGelu; int8 Attention, MatMul and embedding weights, "
                    "activations quantized at run time (no calibration)",
    "int8-dynamic-plain": "no fusions: ONNX Runtime's quantize_dynamic with its defaults on the exported graph "
                          "(the by-hand path), optimised when loaded",
    "int8-qdq": "static int8 QDQ of MatMul/Gemm, calibrated, per-channel weight scales; mask, Softmax and LayerNorm "
                "stay float",
    "int8-qdq-per-tensor": "the same with one weight scale per tensor (S8S8 per-channel ran 1.3x slower on an x86 host)",
    "int4-weights": "4-bit block-quantized MatMul weights and embedding tables (MatMulNBits, GatherBlockQuantized), "
                    "products computed in int8; half the bytes of int8, for a profile that lists int4",
    NAIVE_RECIPE: "static int8 QDQ of every quantizable op (the accuracy trap, for gate tests)",
}


@dataclass(frozen=True)
class OnnxRuntimeOptions:
    """A profile's `[onnxruntime]` table."""

    # None picks the ISA's fast int8 kernels: uint8 activations (U8S8) on x86-64, int8 (S8S8) on arm64.
    activation_type: Literal["uint8", "int8"] | None = None
    weight_type: Literal["int8", "uint8"] = "int8"
    # "extended" is the most ONNX Runtime saves portably: "all" adds layout rewrites tied to the build CPU.
    graph_optimization: Literal["disabled", "basic", "extended", "all"] = "extended"
    # MinMax matched percentile/entropy on the tiny student and needs no common calibration width.
    calibration: Literal["minmax", "percentile", "entropy"] = "minmax"
    # int4-weights: values per scale. On the 3-layer MR student, 32 and 64 kept the fp32 validation accuracy and
    # 128 lost 2.25 points; 64 is 0.7 MB smaller than 32.
    weight_block_size: Literal[16, 32, 64, 128] = 64


class OnnxRuntimeTarget(Target):
    name = "onnxruntime"
    artifact_suffix = ".onnx"
    packages = ("onnxruntime", "onnx", "onnxscript")
    options_type = OnnxRuntimeOptions
    recipe_descriptions = _DESCRIPTIONS  # includes the naive `int8-qdq-all-ops`, left out of the defaults
    default_recipes = DEFAULT_RECIPES

    def build_recipe(self, name: str, profile: DeviceProfile) -> Recipe:
        options = self.options(profile)
        if name == "fp32":
            return Recipe(name, "fp32", _DESCRIPTIONS[name], quantize.GraphSettings(options.graph_optimization, fused=True))
        if name == "fp32-online":
            return Recipe(name, "fp32", _DESCRIPTIONS[name], quantize.GraphSettings("disabled", fused=False))
        if name == "int8-dynamic":
            return Recipe(name, "int8", _DESCRIPTIONS[name], quantize.DynamicSettings(quantize.DYNAMIC_OP_TYPES, fused=True))
        if name == "int8-dynamic-plain":
            return Recipe(name, "int8", _DESCRIPTIONS[name], quantize.DynamicSettings(None, fused=False))
        if name == "int4-weights":
            return Recipe(name, "int4", _DESCRIPTIONS[name],
                          quantize.WeightOnlySettings(options.weight_block_size, accuracy_level=4))
        activation = options.activation_type or ("uint8" if profile.isa == "x86-64" else "int8")
        return Recipe(name, "int8", _DESCRIPTIONS[name], quantize.StaticSettings(
            activation_type=activation, weight_type=options.weight_type, per_channel=name != "int8-qdq-per-tensor",
            calibration=options.calibration, op_types=None if name == NAIVE_RECIPE else quantize.LINEAR_OP_TYPES))

    def export(self, inputs: ExportInputs, recipe: Recipe) -> ExportResult:
        started = time.perf_counter()
        inputs.work_dir.mkdir(parents=True, exist_ok=True)
        artifact = inputs.work_dir / self.artifact_name(inputs.student_dir.name, recipe)
        report: dict = {"exporter": onnx_export.EXPORTER, "opset": onnx_export.OPSET}
        with tempfile.TemporaryDirectory(prefix=".onnxruntime-", dir=inputs.work_dir) as scratch_dir:
            scratch = Path(scratch_dir)
            exported = onnx_export.export_onnx(inputs.student_dir, scratch / "exported.onnx")
            report["nodes_before"] = quantize.op_counts(exported)
            if isinstance(recipe.options, quantize.GraphSettings):
                source = _fuse(inputs, exported, scratch, report) if recipe.options.fused else exported
                convert.optimize_graph(source, artifact, recipe.options.graph_optimization)
                report["graph_optimization"] = recipe.options.graph_optimization
            elif isinstance(recipe.options, quantize.WeightOnlySettings):
                quantized = scratch / "quantized.onnx"
                quantize.quantize_weights_4bit(exported, quantized, recipe.options)
                quantized.replace(artifact)
                report["calibration_samples"] = 0
            elif isinstance(recipe.options, quantize.DynamicSettings):
                quantized = scratch / "quantized.onnx"
                source = _fuse(inputs, exported, scratch, report) if recipe.options.fused else exported
                quantize.quantize_dynamic_int8(source, quantized, recipe.options.op_types)
                quantized.replace(artifact)
                report["calibration_samples"] = 0
            else:
                # Static QDQ stays on the plain graph: it cannot quantize the fused Attention op, whose
                # Q/K/V projections would stay float (1.2x slower on the MR student).
                report.update(self._quantize_static(inputs, recipe, exported, scratch, artifact))
        convert.record_sequence(artifact, inputs.profile.sequence)
        report.update(quantize.artifact_ops(artifact))
        report["conversion_seconds"] = round(time.perf_counter() - started, 2)
        return ExportResult(artifact, report)

    def _quantize_static(self, inputs: ExportInputs, recipe: Recipe, exported: Path, scratch: Path,
                         artifact: Path) -> dict:
        prepared = scratch / "prepared.onnx"
        quantize.preprocess(exported, prepared)
        quantized = scratch / "quantized.onnx"
        settings = recipe.options
        reader = quantize.TextCalibrationReader.from_texts(
            inputs.calibration_texts, inputs.student_dir / "tokenizer.json", inputs.profile.sequence.longest,
            common_width=settings.calibration != "minmax")
        quantize.quantize_static_int8(prepared, quantized, reader, settings)
        quantized.replace(artifact)
        return {"calibration_samples": len(inputs.calibration_texts), "calibration_method": settings.calibration}

    def app_requirements(self, report: dict[str, Any]) -> dict[str, Any]:
        """ONNX Runtime with every operator the graph uses; Microsoft contrib operators (fused Attention, QAttention,
        BiasGelu, DynamicQuantizeMatMul) are in the full builds, not in a minimal or reduced-operator build."""
        contrib = report.get("contrib_op_types", [])
        requirements: dict[str, Any] = {"libraries": ["onnxruntime"], "operators": sorted(report.get("nodes_after", {})),
                                        "contrib_operators": contrib}
        if contrib:
            requirements["note"] = ("uses com.microsoft contrib operators: ship a full ONNX Runtime build "
                                    "(onnxruntime, onnxruntime-android, onnxruntime-objc), not a reduced-operator one")
        return requirements

    def load(self, artifact: Path, threads: int) -> Session:
        from edgedistill.targets.onnxruntime.runtime import OnnxRuntimeSession

        return OnnxRuntimeSession(artifact, threads)

    def import_runtime(self) -> None:
        import onnxruntime  # noqa: F401

    def available(self) -> str | None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "onnxruntime is not installed: pip install onnxruntime"
        return None


def _fuse(inputs: ExportInputs, exported: Path, scratch: Path, report: dict) -> Path:
    """The exported graph with ORT's Attention/BiasGelu fusions; what fused goes into `report`."""
    fused = scratch / "fused.onnx"
    report["fused_ops"] = fuse.fuse_transformer(exported, fused, inputs.student_dir / "config.json")
    return fused


TARGET = OnnxRuntimeTarget()
