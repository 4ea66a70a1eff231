"""Session-wide target fixtures: one export per recipe, shared by every test that reads it."""

from __future__ import annotations

import pytest

from edgedistill.data import load_splits
from edgedistill.modeldir import read_data_spec
from edgedistill.targets.base import ExportInputs
from edgedistill.profiles import DeviceProfile, SequencePolicy

CALIBRATION_TEXTS = 128


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
