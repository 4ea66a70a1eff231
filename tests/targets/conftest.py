"""Session-wide target fixtures: one export per recipe (and sequence policy), shared by every test that reads it."""

from __future__ import annotations

import pytest

from edgedistill.data import load_splits
from edgedistill.modeldir import read_data_spec
from edgedistill.profiles import DeviceProfile, SequencePolicy
from edgedistill.targets.base import ExportInputs
from tests.targets.device_profiles import (
    CALIBRATION_TEXTS,
    FIXED,
    STATIC_LENGTH,
    executorch_profile,
    export_executorch,
    tflite_profile,
)


@pytest.fixture(scope="session")
def tiny_splits(tiny_student_dir):
    """The tiny student's own train/validation/test split."""
    return load_splits(read_data_spec(tiny_student_dir))


@pytest.fixture(scope="session")
def ort_profile():
    """An x86-64 profile running ONNX Runtime with U8S8 int8, as `targets/x86-64-host.toml` does, on inputs of
    up to 64 tokens."""
    from edgedistill.targets.onnxruntime import OnnxRuntimeOptions

    return DeviceProfile(
        name="test-x86-64", description="test host", isa="x86-64", runtimes=["onnxruntime"],
        sequence=SequencePolicy(max_length=64),
        runtime_options={"onnxruntime": OnnxRuntimeOptions(activation_type="uint8")},
    )


@pytest.fixture(scope="session")
def ort_export(tiny_student_dir, tiny_splits, ort_profile, tmp_path_factory):
    """`ort_export(recipe_name)` -> ExportResult, exported once per session."""
    from edgedistill.targets.onnxruntime import TARGET

    work_dir = tmp_path_factory.mktemp("onnxruntime")
    inputs = ExportInputs(
        student_dir=tiny_student_dir, profile=ort_profile, work_dir=work_dir,
        calibration_texts=tiny_splits.train.texts[:CALIBRATION_TEXTS],
    )
    results = {}

    def export(name):
        if name not in results:
            results[name] = TARGET.export(inputs, TARGET.recipe(name, ort_profile))
        return results[name]

    return export


@pytest.fixture(scope="session")
def et_export(tiny_student_dir, tiny_splits, tmp_path_factory):
    """`et_export(recipe, sequence, **options)` -> ExportResult of the tiny student, built once."""
    results = {}

    def export(recipe_name, sequence=FIXED, **options):
        key = (recipe_name, sequence.policy, tuple(sequence.buckets), tuple(sorted(options.items())))
        if key not in results:
            work_dir = tmp_path_factory.mktemp(f"executorch-{recipe_name}-{sequence.policy}-{len(sequence.buckets)}")
            profile = executorch_profile(sequence, **options)
            results[key] = export_executorch(tiny_student_dir, tiny_splits, work_dir, profile, recipe_name)
        return results[key]

    return export


@pytest.fixture(scope="session")
def tflite_export(tiny_student_dir, tmp_path_factory):
    """`tflite_export(converter, recipe, dynamic=False)` -> ExportResult, converted once per session;
    `dynamic` exports under a dynamic policy of max_length 48 instead of the two buckets."""
    from edgedistill.targets.tflite import TARGET

    results = {}

    def export(converter, recipe, dynamic=False):
        if (converter, recipe, dynamic) not in results:
            profile = tflite_profile(converter, SequencePolicy(max_length=STATIC_LENGTH) if dynamic else None)
            inputs = ExportInputs(student_dir=tiny_student_dir, profile=profile,
                                  work_dir=tmp_path_factory.mktemp(f"tflite-{converter}"), calibration_texts=[])
            results[converter, recipe, dynamic] = TARGET.export(inputs, TARGET.recipe(recipe, profile))
        return results[converter, recipe, dynamic]

    return export
