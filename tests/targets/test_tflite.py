"""The TFLite backend: both converters, run in LiteRT on the tiny trained student."""

from __future__ import annotations

import time

import numpy as np
import pytest

from edgedistill.errors import UserError
from edgedistill.model.reference import reference_logits
from edgedistill.model.wrapper import load_exportable
from edgedistill.targets.base import ExportInputs
from edgedistill.profiles import DeviceProfile, SequencePolicy
from edgedistill.targets.tflite import TARGET, TFLiteOptions, toolenv
from edgedistill.text.encode import TextEncoder

STATIC_LENGTH = 48
# 40 test sentences: 0.95 tolerates two flipped predictions; a broken int8 model lands near 0.5.
MIN_INT8_AGREEMENT = 0.95
needs_toolenv = pytest.mark.skipif(not toolenv.is_ready(), reason=toolenv.MISSING)


def tflite_profile(converter: str, sequence: SequencePolicy | None = None) -> DeviceProfile:
    return DeviceProfile(
        name=f"test-{converter}", description="test phone", isa="arm64", runtimes=["tflite"],
        precisions=["fp32", "fp16", "int8"],
        sequence=sequence or SequencePolicy(policy="fixed", max_length=STATIC_LENGTH, buckets=[16, STATIC_LENGTH]),
        runtime_options={"tflite": TFLiteOptions(converter=converter)},
    )


@pytest.fixture(scope="session")
def tflite_export(tiny_student_dir, tmp_path_factory):
    """`tflite_export(converter, recipe)` -> ExportResult, converted once per session."""
    results = {}

    def export(converter, recipe):
        if (converter, recipe) not in results:
            profile = tflite_profile(converter)
            inputs = ExportInputs(student_dir=tiny_student_dir, profile=profile, max_length=STATIC_LENGTH,
                                  work_dir=tmp_path_factory.mktemp(f"tflite-{converter}"), calibration_texts=[])
            results[converter, recipe] = TARGET.export(inputs, TARGET.recipe(recipe, profile))
        return results[converter, recipe]

    return export


@pytest.fixture(scope="module")
def pytorch_student(tiny_student_dir):
    return load_exportable(tiny_student_dir)


@pytest.fixture(scope="module")
def test_split_inputs(tiny_student_dir, tiny_splits):
    """The test split encoded at the static length, with the student's fp32 logits."""
    ids, mask = TextEncoder(tiny_student_dir / "tokenizer.json", STATIC_LENGTH).encode(tiny_splits.test.texts)
    return ids, mask, reference_logits(load_exportable(tiny_student_dir), ids, mask)


CONVERTERS = [pytest.param("onnx2tf", marks=needs_toolenv), "litert-torch"]


@pytest.mark.slow
@pytest.mark.parametrize("converter", CONVERTERS)
@pytest.mark.parametrize("recipe", ["fp32", "int8-dynamic"])
@pytest.mark.parametrize("length", [5, 17, STATIC_LENGTH])
def test_matches_pytorch_at_lengths_below_the_static_bucket(tflite_export, pytorch_student, converter, recipe, length):
    """Inputs shorter than the bucket are padded by the session; logits still match the unpadded student."""
    session = TARGET.load(tflite_export(converter, recipe).artifact, threads=1)
    rng = np.random.default_rng(length)
    input_ids = rng.integers(5, pytorch_student.model.config.vocab_size, (3, length), dtype=np.int64)
    attention_mask = np.ones_like(input_ids)
    attention_mask[1, length // 2 + 1:] = 0
    expected = reference_logits(pytorch_student, input_ids, attention_mask)
    logits = session.run(input_ids, attention_mask)
    assert logits.dtype == np.float32 and logits.shape == expected.shape
    tolerance = TARGET.tolerance("fp32") if recipe == "fp32" else 0.2
    assert np.abs(logits - expected).max() <= tolerance


@pytest.mark.slow
@pytest.mark.parametrize("converter", CONVERTERS)
def test_int8_agrees_with_fp32_and_is_smaller(tflite_export, test_split_inputs, converter):
    ids, mask, reference = test_split_inputs
    fp32, int8 = tflite_export(converter, "fp32"), tflite_export(converter, "int8-dynamic")
    logits = TARGET.load(int8.artifact, threads=1).run(ids, mask)
    assert (logits.argmax(-1) == reference.argmax(-1)).mean() >= MIN_INT8_AGREEMENT
    assert int8.artifact.stat().st_size < fp32.artifact.stat().st_size


@pytest.mark.slow
@pytest.mark.parametrize("converter", CONVERTERS)
def test_export_reports_converter_drift_and_static_shape(tflite_export, converter):
    result = tflite_export(converter, "fp32")
    report = result.report
    drift = report["max_abs_diff_vs_onnx"] if converter == "onnx2tf" else report["max_abs_diff_vs_pytorch"]
    assert 0 <= drift <= TARGET.tolerance("fp32")
    assert report["converter"] == converter and report["toolchain"] == {converter: report["converter_version"]}
    assert report["static_length"] == STATIC_LENGTH and report["size_bytes"] == result.artifact.stat().st_size
    session = TARGET.load(result.artifact, threads=2)
    assert session.fixed_length == STATIC_LENGTH and session.input_names == ["input_ids", "attention_mask"]


@pytest.mark.slow
@needs_toolenv
def test_onnx2tf_flags_keep_int_inputs_and_avoid_flex_ops(tflite_export):
    result = tflite_export("onnx2tf", "int8-dynamic")
    assert {"-kat", "-rtpo", "Erf", "-odrqt", f"input_ids:1,{STATIC_LENGTH}"} <= set(result.report["flags"])
    assert b"Flex" not in result.artifact.read_bytes()


@pytest.mark.slow
def test_litert_torch_fp16_within_tolerance_and_smaller(tflite_export, test_split_inputs):
    ids, mask, reference = test_split_inputs
    fp16 = tflite_export("litert-torch", "fp16")
    logits = TARGET.load(fp16.artifact, threads=1).run(ids, mask)
    assert np.abs(logits - reference).max() <= TARGET.tolerance("fp16")
    assert fp16.artifact.stat().st_size < tflite_export("litert-torch", "fp32").artifact.stat().st_size


@pytest.mark.slow
def test_longer_input_than_the_bucket_and_corrupt_file_are_user_errors(tflite_export, tmp_path):
    artifact = tflite_export("litert-torch", "fp32").artifact
    session = TARGET.load(artifact, threads=1)
    too_long = np.ones((1, STATIC_LENGTH + 1), dtype=np.int64)
    with pytest.raises(UserError, match="static length"):
        session.run(too_long, too_long)
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(artifact.read_bytes()[:2000])
    with pytest.raises(UserError, match="not a valid TFLite model"):
        TARGET.load(truncated, threads=1)


def test_missing_toolenv_names_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDGEDISTILL_TOOLENV", str(tmp_path / "empty-cache"))
    assert toolenv.main(["--where"]) == 0
    assert capsys.readouterr().out.startswith(str(tmp_path / "empty-cache"))
    assert TARGET.available("onnx2tf") == toolenv.MISSING
    profile = tflite_profile("onnx2tf")
    inputs = ExportInputs(student_dir=tmp_path / "student", profile=profile, work_dir=tmp_path / "work",
                          max_length=STATIC_LENGTH, calibration_texts=[])
    with pytest.raises(UserError) as error:
        TARGET.export(inputs, TARGET.recipe("fp32", profile))
    assert str(error.value) == toolenv.MISSING and "\n" not in str(error.value) and "make toolenv" in str(error.value)


@needs_toolenv
def test_create_is_a_fast_no_op_once_built():
    started = time.perf_counter()
    assert toolenv.create() == toolenv.toolenv_path()
    assert time.perf_counter() - started < 2


def test_half_built_toolenv_does_not_count(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEDISTILL_TOOLENV", str(tmp_path))
    (toolenv.toolenv_path() / "bin").mkdir(parents=True)
    assert not toolenv.is_ready()
    with pytest.raises(UserError, match="make toolenv"):
        toolenv.require_toolenv()


def test_recipes_follow_profile_precisions_converter_and_sequence_policy():
    dynamic = DeviceProfile(name="pi", description="board", isa="arm64", runtimes=["tflite"], precisions=["int8"],
                            sequence=SequencePolicy(policy="dynamic", max_length=96),
                            runtime_options={"tflite": TFLiteOptions(converter="onnx2tf")})
    (recipe,) = TARGET.recipes(dynamic)
    assert (recipe.name, recipe.precision) == ("int8-dynamic", "int8")
    assert recipe.options["converter"] == "onnx2tf" and recipe.options["static_length"] == 96
    assert "-odrqt" in recipe.options["flags"]
    fixed = tflite_profile("litert-torch")
    assert [r.name for r in TARGET.recipes(fixed)] == ["fp32", "fp16", "int8-dynamic"]
    assert {r.options["static_length"] for r in TARGET.recipes(fixed)} == {STATIC_LENGTH}
    assert TFLiteOptions().converter == "litert-torch"
    with pytest.raises(UserError, match="available: fp32, fp16, int8-dynamic"):
        TARGET.recipe("int8-full", fixed)
