"""The device profiles the target tests export the tiny student for, shared by their fixtures and tests."""

from __future__ import annotations

from edgedistill.profiles import DeviceProfile, SequencePolicy
from edgedistill.targets.base import ExportInputs

CALIBRATION_TEXTS = 128

# ExecuTorch: one static length of 64, a dynamic program up to 64, and one method per bucket.
FIXED = SequencePolicy("fixed", max_length=64, buckets=[64])
DYNAMIC = SequencePolicy("dynamic", max_length=64)
TWO_BUCKETS = SequencePolicy("fixed", max_length=64, buckets=[16, 64])

# TFLite: two buckets (16 and 48); litert-torch writes one signature per bucket, onnx2tf one at 48.
STATIC_LENGTH = 48
SMALL_BUCKET = 16


def executorch_profile(sequence: SequencePolicy, **options) -> DeviceProfile:
    from edgedistill.targets.executorch import ExecuTorchOptions

    return DeviceProfile(name="test-executorch", description="test host", isa="x86-64", runtimes=["executorch"],
                         threads=1, sequence=sequence, runtime_options={"executorch": ExecuTorchOptions(**options)})


def export_executorch(student_dir, splits, work_dir, profile, recipe_name, teacher_logits=None):
    from edgedistill.targets.executorch import TARGET

    inputs = ExportInputs(
        student_dir=student_dir, profile=profile, work_dir=work_dir,
        calibration_texts=splits.train.texts[:CALIBRATION_TEXTS], train=splits.train, teacher_logits=teacher_logits,
    )
    return TARGET.export(inputs, TARGET.recipe(recipe_name, profile))


def tflite_profile(converter: str, sequence: SequencePolicy | None = None) -> DeviceProfile:
    from edgedistill.targets.tflite import TFLiteOptions

    return DeviceProfile(
        name=f"test-{converter}", description="test phone", isa="arm64", runtimes=["tflite"],
        precisions=["fp32", "fp16", "int8"],
        sequence=sequence or SequencePolicy(policy="fixed", max_length=STATIC_LENGTH, buckets=[SMALL_BUCKET, STATIC_LENGTH]),
        runtime_options={"tflite": TFLiteOptions(converter=converter)},
    )
