"""ExecuTorch backend: XNNPACK-delegated `.pte` programs (fp32, int8 dynamic/PTQ/QAT) for Android and iOS.

Importing this needs only numpy. Export imports torch/executorch inside `export`; `load` imports
the ExecuTorch runtime, which on desktop pip wheels itself needs torch (see runtime.py).
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_write_bytes
from edgedistill.targets.base import ExportInputs, ExportResult, Recipe, Session, Target
from edgedistill.targets.executorch.settings import QatSettings, XnnpackSettings
from edgedistill.profiles import DeviceProfile

_DESCRIPTIONS = {
    "fp32": "float32, XNNPACK-delegated",
    "int8-dynamic": "int8 Linear (per-channel weights, activations quantized per call at run time), int8 embedding tables",
    "int8-ptq": "static int8 Linear (per-channel weights) calibrated on sample texts, int8 embedding tables",
    "int8-qat": "int8 as int8-ptq, after a short quantization-aware fine-tune against the teacher's logits",
}
# Random rows per length when a fresh artifact is checked against PyTorch.
_VALIDATION_ROWS = 4


@dataclass(frozen=True)
class ExecuTorchOptions:
    """A profile's optional `[executorch]` table."""

    # Per-row int8 embedding tables: they are most of a small student's file and stay fp32 otherwise.
    quantize_embedding: bool = True
    qat_epochs: int = 1
    # A fine-tune of an already trained student: a tenth of a typical distillation rate.
    qat_learning_rate: float = 1e-5
    qat_batch_size: int = 32
    # The distillation defaults (DistillConfig), so QAT keeps optimising what distillation did.
    qat_temperature: float = 4.0
    qat_alpha: float = 0.5
    qat_seed: int = 13


class ExecuTorchTarget(Target):
    name = "executorch"
    artifact_suffix = ".pte"
    packages = ("executorch", "torchao")
    options_type = ExecuTorchOptions
    recipe_descriptions = _DESCRIPTIONS
    default_recipes = tuple(_DESCRIPTIONS)

    def build_recipe(self, name: str, profile: DeviceProfile) -> Recipe:
        options = self.options(profile)
        if name == "fp32":
            return Recipe(name, "fp32", _DESCRIPTIONS[name])
        qat = QatSettings(epochs=options.qat_epochs, learning_rate=options.qat_learning_rate,
                          batch_size=options.qat_batch_size, temperature=options.qat_temperature,
                          alpha=options.qat_alpha, seed=options.qat_seed) if name == "int8-qat" else None
        return Recipe(name, "int8", _DESCRIPTIONS[name], XnnpackSettings(options.quantize_embedding, qat),
                      needs_teacher=qat is not None)

    def export(self, inputs: ExportInputs, recipe: Recipe) -> ExportResult:
        from edgedistill.model.wrapper import load_exportable
        from edgedistill.targets.executorch import convert

        started = time.perf_counter()
        model = load_exportable(inputs.student_dir)
        shape = convert.SequenceShape.from_policy(inputs.profile.sequence)
        convert.check_fits(model, shape)
        vocab_size = model.model.config.vocab_size
        report: dict = {"sequence": {"length": shape.length, "dynamic": shape.dynamic, "buckets": list(shape.buckets)}}
        if recipe.precision == "fp32":
            programs = convert.capture_methods(model, shape, vocab_size)
        else:
            quantized, quant_report = self._quantize(inputs, recipe, model, shape.for_quantization())
            report.update(quant_report)
            programs = convert.capture_methods(quantized, shape, vocab_size)
        embeddings_quantized = recipe.precision == "int8" and recipe.options.quantize_embedding
        buffer, report["delegation"] = convert.lower(programs, shape, fuse_quantized_embeddings=embeddings_quantized)
        inputs.work_dir.mkdir(parents=True, exist_ok=True)
        artifact = inputs.work_dir / self.artifact_name(inputs.student_dir.name, recipe)
        atomic_write_bytes(artifact, buffer)
        report["size_bytes"] = len(buffer)
        report["max_abs_diff_by_length"] = self._validate(artifact, model, inputs.profile, recipe)
        report["conversion_seconds"] = round(time.perf_counter() - started, 2)
        return ExportResult(artifact, report)

    def _quantize(self, inputs: ExportInputs, recipe: Recipe, model, shape) -> tuple[Any, dict]:
        """The student with int8 Linear layers (and embedding tables), as a PT2E-converted module."""
        from edgedistill.model.wrapper import example_inputs
        from edgedistill.targets.executorch import convert, quantize

        vocab_size = model.model.config.vocab_size
        captured = convert.capture(model, shape, vocab_size, batch_dynamic=True)
        settings = recipe.options
        qat = settings.qat is not None
        dynamic = recipe.name == "int8-dynamic"
        quantizer = quantize.xnnpack_quantizer(settings.quantize_embedding, qat=qat, dynamic=dynamic)
        report = {"quantize_embedding": settings.quantize_embedding, "activations": "dynamic" if dynamic else "static"}
        if dynamic:
            example = example_inputs(vocab_size, shape.length, batch=2)
            return quantize.quantize_dynamic(captured, quantizer, example), report
        encode = quantize.BatchEncoder(inputs.student_dir, shape)
        if not qat:
            if not inputs.calibration_texts:
                raise UserError("int8-ptq needs calibration texts; pass --calibration or keep the student's data.json source")
            report["calibration_samples"] = len(inputs.calibration_texts)
            return quantize.calibrate(captured, quantizer, inputs.calibration_texts, encode), report
        if inputs.train is None or not len(inputs.train):
            raise UserError("int8-qat fine-tunes on the student's training split; none was found (check data.json)")
        quantized, qat_report = quantize.train_qat(
            captured, quantizer, inputs.train.texts, inputs.train.labels, inputs.teacher_logits, encode, settings.qat)
        return quantized, {**report, **qat_report, "qat_samples": len(inputs.train)}

    def _validate(self, artifact: Path, model, profile: DeviceProfile, recipe: Recipe) -> dict[int, float]:
        """Reload the artifact in the runtime and compare with PyTorch fp32 at the shortest, middle
        and longest token lengths; fp32 must stay within tolerance, int8 drift is only reported."""
        from edgedistill.metrics import max_abs_logit_diff
        from edgedistill.model.reference import reference_logits

        session = self.load(artifact, profile.threads)
        sequence = profile.sequence
        rng = np.random.default_rng(0)
        differences = {}
        for length in sorted({2, sequence.longest // 2, sequence.longest, *sequence.buckets}):
            width = sequence.width_for(length)
            ids = rng.integers(0, model.model.config.vocab_size, (_VALIDATION_ROWS, width), dtype=np.int64)
            mask = np.zeros_like(ids)
            mask[:, :length] = 1
            expected = reference_logits(model, ids, mask)
            differences[length] = max_abs_logit_diff(session.run(ids, mask), expected)
        tolerance = self.tolerance(recipe.precision)
        if tolerance is not None and max(differences.values()) > tolerance:
            raise RuntimeError(f"{artifact.name}: ExecuTorch logits differ from PyTorch by {differences} (> {tolerance})")
        return differences

    def app_requirements(self, report: dict[str, Any]) -> dict[str, Any]:
        """The XNNPACK backend always; the quantized kernels library when the program calls its kernels (int8
        embedding tables run as `quantized_decomposed::embedding_byte`, outside XNNPACK): without it, loading
        fails with "Missing operator"."""
        kernels = sorted(report.get("delegation", {}).get("kernel_ops", {}))
        libraries = ["executorch", "xnnpack_backend"]
        if any(kernel.startswith("quantized_decomposed.") for kernel in kernels):
            libraries.append("quantized_ops_lib (ExecuTorch's quantized kernels, registering quantized_decomposed::*)")
        return {"libraries": libraries, "kernels": kernels, "methods": sorted(report.get("delegation", {}).get("methods", {}))}

    def load(self, artifact: Path, threads: int) -> Session:
        from edgedistill.targets.executorch.runtime import ExecuTorchSession

        return ExecuTorchSession(artifact, threads)

    def import_runtime(self) -> None:
        import torch  # noqa: F401  the pip runtime links libtorch: seconds of import, once per process
        from executorch.runtime import Runtime  # noqa: F401

        from edgedistill.targets.executorch.runtime import runtime_module

        runtime_module()

    def available(self) -> str | None:
        for module, install in (("executorch", "pip install executorch==1.5.1"), ("torch", "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu")):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed: {install}"
        return None


TARGET = ExecuTorchTarget()
