"""TFLite backend: static-shape `.tflite` artifacts run in LiteRT, converted by litert-torch or onnx2tf.

Importing this needs only numpy; LiteRT is imported when a model is loaded, and torch,
litert-torch or the onnx2tf tool env only inside `export`.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edgedistill.errors import UserError
from edgedistill.targets.base import ExportInputs, ExportResult, Recipe, Session, Target
from edgedistill.profiles import DeviceProfile, SequencePolicy

CONVERTERS = ("litert-torch", "onnx2tf")
_DESCRIPTIONS = {
    "fp32": "float32",
    "fp16": "float16 weights, float32 compute",
    "int8-dynamic": "dynamic-range int8: int8 weights, activations quantized at run time (no calibration)",
}
_PRECISIONS = {"fp32": "fp32", "fp16": "fp16", "int8-dynamic": "int8"}


@dataclass(frozen=True)
class TFLiteOptions:
    """A profile's `[tflite]` table (the CLI's `export --converter` overrides `converter`)."""

    # litert-torch by default: it converts in seconds inside the main env and its int8 runs fastest.
    converter: Literal["litert-torch", "onnx2tf"] = "litert-torch"


@dataclass(frozen=True)
class TFLiteSettings:
    """How one recipe converts: the converter, its static lengths (one signature each), and onnx2tf's flags."""

    converter: str
    static_lengths: tuple[int, ...]
    flags: tuple[str, ...] | None = None


class TFLiteTarget(Target):
    name = "tflite"
    artifact_suffix = ".tflite"
    packages = ("ai-edge-litert", "litert-torch", "onnx2tf")
    options_type = TFLiteOptions
    # Measured max |Δlogit| vs PyTorch (1 layer × 32 hidden and 4 × 128, length 64): fp32 ≤ 1.5e-6
    # for both converters, onnx2tf's rewritten LayerNorm/Softmax/MatMul included, so 1e-4 leaves
    # ~70× headroom for deeper students; fp16 weights drift ≤ 2.4e-3, so 2e-2 leaves ~8×.
    fp32_tolerance = 1e-4
    fp16_tolerance = 2e-2

    recipe_descriptions = _DESCRIPTIONS
    default_recipes = tuple(_DESCRIPTIONS)

    def build_recipe(self, name: str, profile: DeviceProfile) -> Recipe:
        """Recipe `name` with the profile's converter and static lengths baked into its options.

        TFLite takes static shapes: litert-torch writes one signature per bucket of a fixed profile,
        onnx2tf one signature at the longest; a dynamic profile's max_length is its one length.
        """
        converter = self.options(profile).converter
        sequence = profile.sequence
        bucketed = converter == "litert-torch" and sequence.policy == "fixed"
        lengths = tuple(sorted(set(sequence.buckets))) if bucketed else (sequence.longest,)
        onnx2tf_flags = None
        if converter == "onnx2tf":
            from edgedistill.targets.tflite.convert_onnx2tf import flags

            onnx2tf_flags = tuple(flags(sequence.longest, name))
        settings = TFLiteSettings(converter, lengths, onnx2tf_flags)
        return Recipe(name, _PRECISIONS[name], f"{_DESCRIPTIONS[name]} via {converter}", settings)

    def export(self, inputs: ExportInputs, recipe: Recipe) -> ExportResult:
        converter, lengths = recipe.options.converter, recipe.options.static_lengths
        problem = self.available(converter)
        if problem:
            raise UserError(problem)
        inputs.work_dir.mkdir(parents=True, exist_ok=True)
        artifact = inputs.work_dir / self.artifact_name(inputs.student_dir.name, recipe)
        started = time.perf_counter()
        if converter == "onnx2tf":
            from edgedistill.targets.tflite import convert_onnx2tf

            (length,) = lengths
            report = convert_onnx2tf.convert(inputs.student_dir, artifact, length, recipe.name)
        else:
            from edgedistill.targets.tflite import convert_litert_torch

            report = convert_litert_torch.convert(inputs.student_dir, artifact, lengths, recipe.name)
        report.update(
            conversion_seconds=round(time.perf_counter() - started, 2), size_bytes=artifact.stat().st_size,
            static_lengths=list(lengths), toolchain={converter: report["converter_version"]},
        )
        report.update(_sequence_note(inputs.profile.sequence, lengths))
        return ExportResult(artifact, report)

    def app_requirements(self, report: dict[str, Any]) -> dict[str, Any]:
        """LiteRT's interpreter with its built-in operators and the XNNPACK delegate (on by default), and the
        signature per bucket to call."""
        return {"libraries": ["LiteRT (TensorFlow Lite) interpreter with built-in ops", "XNNPACK delegate"],
                "signatures": list(report.get("signatures") or ["serving_default"])}

    def load(self, artifact: Path, threads: int) -> Session:
        from edgedistill.targets.tflite.runtime import TFLiteSession

        return TFLiteSession(artifact, threads)

    def import_runtime(self) -> None:
        from edgedistill.targets.tflite.runtime import interpreter_class

        interpreter_class()

    def available(self, converter: str | None = None) -> str | None:
        """Checks the LiteRT runtime, and the converter when one is named (export needs it, devices don't)."""
        if not any(importlib.util.find_spec(name) for name in ("ai_edge_litert", "tflite_runtime")):
            return "no TFLite runtime is installed: pip install ai-edge-litert"
        if converter == "onnx2tf":
            from edgedistill.toolenvs.known import ONNX2TF

            return None if ONNX2TF.is_ready() else ONNX2TF.missing
        if converter == "litert-torch" and importlib.util.find_spec("litert_torch") is None:
            return "litert-torch is not installed: pip install -e '.[tflite]' (or pick --converter onnx2tf)"
        if converter is not None and converter not in CONVERTERS:
            return f"unknown TFLite converter {converter!r}; available: {', '.join(CONVERTERS)}"
        return None


def _sequence_note(sequence: SequencePolicy, lengths: tuple[int, ...]) -> dict[str, str]:
    """How the profile's sequence policy maps onto the file's static lengths, for the export report."""
    if sequence.policy == "dynamic":
        return {"sequence_note": f"TFLite needs a static shape: the dynamic policy's max_length {lengths[0]} "
                                 "is the static length; shorter inputs are padded to it"}
    if len(lengths) > 1:
        return {"buckets": "one signature per bucket, sharing weights; each input runs in the smallest that fits"}
    if len(set(sequence.buckets)) > 1:
        return {"buckets": f"one static length {lengths[0]}: onnx2tf writes one signature; shorter inputs are padded to it"}
    return {}


TARGET = TFLiteTarget()
