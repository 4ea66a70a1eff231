"""The TFLite backend: both converters, run in LiteRT on the tiny trained student.

The shared profile has two buckets (16 and 48): litert-torch writes one signature per bucket, onnx2tf one at 48.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from edgedistill.errors import UserError
from edgedistill.model.reference import reference_logits
from edgedistill.model.wrapper import load_exportable
from edgedistill.profiles import DeviceProfile, SequencePolicy
from edgedistill.targets.base import ExportInputs
from edgedistill.targets.tflite import TARGET, TFLiteOptions
from edgedistill.text.encode import TextEncoder
from edgedistill.toolenvs import __main__ as toolenv_cli
from edgedistill.toolenvs.known import ONNX2TF
from tests.targets.device_profiles import SMALL_BUCKET, STATIC_LENGTH, tflite_profile

# 40 test sentences: 0.95 tolerates two flipped predictions; a broken int8 model lands near 0.5.
MIN_INT8_AGREEMENT = 0.95
needs_toolenv = pytest.mark.skipif(not ONNX2TF.is_ready(), reason=ONNX2TF.missing)


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
def test_export_reports_converter_drift_and_static_shapes(tflite_export, converter):
    result = tflite_export(converter, "fp32")
    report = result.report
    drift = report["max_abs_diff_vs_onnx"] if converter == "onnx2tf" else report["max_abs_diff_vs_pytorch"]
    assert 0 <= drift <= TARGET.tolerance("fp32")
    assert report["converter"] == converter and report["toolchain"] == {converter: report["converter_version"]}
    assert report["size_bytes"] == result.artifact.stat().st_size
    session = TARGET.load(result.artifact, threads=2)
    assert session.input_names == ["input_ids", "attention_mask"]
    if converter == "onnx2tf":
        assert report["static_lengths"] == [STATIC_LENGTH] and session.fixed_length == STATIC_LENGTH
        assert report["buckets"].startswith(f"one static length {STATIC_LENGTH}: onnx2tf writes one signature")
    else:
        assert report["static_lengths"] == session.sequence.buckets == [SMALL_BUCKET, STATIC_LENGTH]
        assert session.fixed_length is None  # check and bench pad each input to its bucket
        assert report["signatures"] == {f"len_{SMALL_BUCKET}": SMALL_BUCKET, f"len_{STATIC_LENGTH}": STATIC_LENGTH}
        assert set(report["max_abs_diff_by_length"]) == {str(SMALL_BUCKET), str(STATIC_LENGTH)}


@pytest.mark.slow
def test_two_buckets_are_two_signatures_over_shared_weights(tflite_export):
    from ai_edge_litert.interpreter import Interpreter

    from edgedistill.targets.tflite.convert_litert_torch import weight_sharing

    bucketed, single = tflite_export("litert-torch", "fp32"), tflite_export("litert-torch", "fp32", dynamic=True)
    assert set(Interpreter(model_path=str(bucketed.artifact)).get_signature_list()) == {"len_16", "len_48"}
    assert list(Interpreter(model_path=str(single.artifact)).get_signature_list()) == ["serving_default"]
    # Unshared, a second signature would double the constants; only its own position slice is added.
    one_length = weight_sharing(single.artifact.read_bytes())["constant_bytes"]
    weights = bucketed.report["weights"]
    assert weights["constant_bytes"] < 1.25 * one_length and weights["shared_bytes"] > one_length / 2
    assert tflite_export("litert-torch", "int8-dynamic").report["weights"]["shared_bytes"] > 0


@pytest.mark.slow
def test_short_input_runs_in_the_small_bucket(tflite_export, pytorch_student, monkeypatch):
    session = TARGET.load(tflite_export("litert-torch", "fp32").artifact, threads=1)
    assert session.sequence.width_for(10) == SMALL_BUCKET and session.sequence.width_for(SMALL_BUCKET + 1) == STATIC_LENGTH

    def large_bucket(*_):
        raise AssertionError("a 10-token input ran in the 48-token signature")

    monkeypatch.setitem(session._runners, STATIC_LENGTH, large_bucket)
    ids = np.random.default_rng(0).integers(5, pytorch_student.model.config.vocab_size, (2, 10), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 6:] = 0
    pad = ((0, 0), (0, SMALL_BUCKET - 10))
    expected = reference_logits(pytorch_student, np.pad(ids, pad), np.pad(mask, pad))
    assert np.abs(session.run(ids, mask) - expected).max() <= TARGET.tolerance("fp32")


@pytest.mark.slow
def test_one_length_keeps_one_serving_signature(tflite_export, pytorch_student):
    """A dynamic profile's file is as before buckets: one `serving_default` signature at max_length."""
    result = tflite_export("litert-torch", "fp32", dynamic=True)
    session = TARGET.load(result.artifact, threads=1)
    assert session.fixed_length == STATIC_LENGTH and session.sequence.buckets == [STATIC_LENGTH]
    assert result.report["static_lengths"] == [STATIC_LENGTH] and "signatures" not in result.report
    assert "max_length 48 is the static length" in result.report["sequence_note"]
    ids = np.full((1, 7), 9, dtype=np.int64)
    expected = reference_logits(pytorch_student, ids, np.ones_like(ids))
    assert np.abs(session.run(ids, np.ones_like(ids)) - expected).max() <= TARGET.tolerance("fp32")


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
def test_corrupt_file_is_a_user_error(tflite_export, tmp_path):
    artifact = tflite_export("litert-torch", "fp32").artifact
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(artifact.read_bytes()[:2000])
    with pytest.raises(UserError, match="not a valid TFLite model"):
        TARGET.load(truncated, threads=1)


def test_missing_toolenv_names_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDGEDISTILL_TOOLENV", str(tmp_path / "empty-cache"))
    assert toolenv_cli.main(["--where", "onnx2tf"]) == 0
    assert capsys.readouterr().out.startswith(str(tmp_path / "empty-cache"))
    assert TARGET.available("onnx2tf") == ONNX2TF.missing
    profile = tflite_profile("onnx2tf")
    inputs = ExportInputs(student_dir=tmp_path / "student", profile=profile, work_dir=tmp_path / "work",
                          calibration_texts=[])
    with pytest.raises(UserError) as error:
        TARGET.export(inputs, TARGET.recipe("fp32", profile))
    assert str(error.value) == ONNX2TF.missing and "\n" not in str(error.value) and "make toolenv" in str(error.value)


@needs_toolenv
def test_create_is_a_fast_no_op_once_built():
    started = time.perf_counter()
    assert ONNX2TF.create() == ONNX2TF.path()
    assert time.perf_counter() - started < 2


def test_half_built_toolenv_does_not_count(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEDISTILL_TOOLENV", str(tmp_path))
    (ONNX2TF.path() / "bin").mkdir(parents=True)
    assert not ONNX2TF.is_ready()
    with pytest.raises(UserError, match="make toolenv"):
        ONNX2TF.require()


def test_recipes_follow_profile_precisions_converter_and_sequence_policy():
    dynamic = DeviceProfile(name="pi", description="board", isa="arm64", runtimes=["tflite"], precisions=["int8"],
                            sequence=SequencePolicy(policy="dynamic", max_length=96),
                            runtime_options={"tflite": TFLiteOptions(converter="onnx2tf")})
    (recipe,) = TARGET.recipes(dynamic)
    assert (recipe.name, recipe.precision) == ("int8-dynamic", "int8")
    assert recipe.options.converter == "onnx2tf" and recipe.options.static_lengths == (96,)
    assert "-odrqt" in recipe.options.flags
    fixed = tflite_profile("litert-torch")
    assert [r.name for r in TARGET.recipes(fixed)] == ["fp32", "fp16", "int8-dynamic"]
    assert {r.options.static_lengths for r in TARGET.recipes(fixed)} == {(SMALL_BUCKET, STATIC_LENGTH)}
    onnx2tf = TARGET.recipe("fp32", tflite_profile("onnx2tf"))
    assert onnx2tf.options.static_lengths == (STATIC_LENGTH,) and f"input_ids:1,{STATIC_LENGTH}" in onnx2tf.options.flags
    assert TFLiteOptions().converter == "litert-torch"
    with pytest.raises(UserError, match="available: fp32, fp16, int8-dynamic"):
        TARGET.recipe("int8-full", fixed)


def test_requirements_name_the_signature_per_bucket():
    assert TARGET.app_requirements({"signatures": {"len_16": 16, "len_64": 64}})["signatures"] == ["len_16", "len_64"]
    assert TARGET.app_requirements({})["signatures"] == ["serving_default"]
