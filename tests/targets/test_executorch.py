"""ExecuTorch backend: every artifact is exported once per module and run in the real runtime."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgedistill.errors import UserError
from edgedistill.profiles import DeviceProfile, parse_profile
from edgedistill.targets.base import ExportInputs
from edgedistill.targets.registry import resolve_profile
from tests.targets.device_profiles import (
    CALIBRATION_TEXTS,
    DYNAMIC,
    FIXED,
    TWO_BUCKETS,
    executorch_profile,
    export_executorch,
)

pytestmark = pytest.mark.slow  # real ExecuTorch exports

pytest.importorskip("executorch")

# Scales one channel of the last LayerNorm up and the pooler's matching input column down:
# fp32 logits are unchanged, but the pooler input's per-tensor int8 range is set by that one
# channel, so PTQ rounds the other 31 to zero. QAT can learn its way around the outlier.
OUTLIER_SCALE = 500.0
OUTLIER_QAT = {"qat_epochs": 2, "qat_learning_rate": 3e-3}


@pytest.fixture(scope="module")
def encoder(tiny_student_dir):
    from edgedistill.text.encode import TextEncoder

    return TextEncoder(tiny_student_dir / "tokenizer.json", 64)


@pytest.fixture(scope="module")
def fp32_model(tiny_student_dir):
    from edgedistill.model.wrapper import load_exportable

    return load_exportable(tiny_student_dir)


def _load(result):
    from edgedistill.targets.executorch import TARGET

    return TARGET.load(result.artifact, threads=1)


def _accuracy(session, encoder, splits) -> tuple[float, np.ndarray]:
    ids, mask = encoder.encode(splits.test.texts, pad_to=64)
    predictions = session.run(ids, mask).argmax(axis=1)
    return float((predictions == np.asarray(splits.test.labels)).mean()), predictions


def _texts_of_lengths(encoder, texts, lengths):
    """One text per wanted token count (the first text at least that long, truncated to it)."""
    by_length = sorted(texts, key=lambda text: len(encoder.tokenizer.encode(text).ids))
    chosen = []
    for length in lengths:
        text = next(t for t in by_length if len(encoder.tokenizer.encode(t).ids) >= length)
        chosen.append(encoder.tokenizer.decode(encoder.tokenizer.encode(text).ids[1:length - 1]))
    return chosen


def test_fp32_fixed_program_pads_to_its_bucket_and_matches_pytorch(et_export, encoder, fp32_model, tiny_splits):
    from edgedistill.model.reference import reference_logits
    from edgedistill.targets.executorch import TARGET

    result = et_export("fp32")
    session = _load(result)
    assert session.fixed_length == 64
    for text in _texts_of_lengths(encoder, tiny_splits.test.texts, [4, 20, 45]):
        ids, mask = encoder.encode([text])
        assert ids.shape[1] < 64  # the session pads it, mask 0
        logits = session.run(ids, mask)
        assert logits.dtype == np.float32 and logits.shape == (1, 2)
        np.testing.assert_allclose(logits, reference_logits(fp32_model, ids, mask), atol=TARGET.tolerance("fp32"))
    assert max(result.report["max_abs_diff_by_length"].values()) <= TARGET.tolerance("fp32")


@pytest.mark.parametrize("recipe", ["fp32", "int8-dynamic"])
def test_two_buckets_are_two_methods_and_a_short_text_runs_in_the_small_one(et_export, encoder, fp32_model, tiny_splits,
                                                                              recipe):
    from edgedistill.model.reference import reference_logits
    from edgedistill.targets.executorch import TARGET

    bucketed, single = et_export(recipe, TWO_BUCKETS), et_export(recipe)
    session = _load(bucketed)
    assert session.fixed_length is None and session.sequence.buckets == [16, 64]
    assert bucketed.report["delegation"]["methods"] == {"forward_16": 16, "forward_64": 64}
    # One program: on this tiny model a second bucket added 18% (fp32) and 40% (int8) to the file; two separate
    # programs would double it.
    assert bucketed.artifact.stat().st_size < 1.5 * single.artifact.stat().st_size
    short, long = _texts_of_lengths(encoder, tiny_splits.test.texts, [10, 40])
    assert session.sequence.width_for(len(encoder.tokenizer.encode(short).ids)) == 16
    assert session.sequence.width_for(len(encoder.tokenizer.encode(long).ids)) == 64
    single_session = _load(single)
    for text in (short, long):
        ids, mask = encoder.encode([text])
        logits = session.run(ids, mask)
        if recipe == "fp32":
            np.testing.assert_allclose(logits, reference_logits(fp32_model, ids, mask), atol=TARGET.tolerance("fp32"))
        else:  # int8 at 16 or 64 tokens: the same quantized weights, only the padding differs
            np.testing.assert_allclose(logits, single_session.run(ids, mask), atol=0.05)
    assert set(bucketed.report["max_abs_diff_by_length"]) >= {16, 64}


def test_fp32_dynamic_program_runs_three_lengths_unpadded(et_export, fp32_model):
    from edgedistill.model.reference import reference_logits
    from edgedistill.targets.executorch import TARGET

    result = et_export("fp32", DYNAMIC)
    session = _load(result)
    assert session.fixed_length is None and result.report["sequence"] == {"length": 64, "dynamic": True, "buckets": []}
    rng = np.random.default_rng(1)
    for length in (3, 17, 64):
        ids = rng.integers(5, 41, (2, length), dtype=np.int64)
        mask = np.ones_like(ids)
        mask[1, length // 2:] = 0
        np.testing.assert_allclose(session.run(ids, mask), reference_logits(fp32_model, ids, mask),
                                   atol=TARGET.tolerance("fp32"))


def test_int8_ptq_keeps_accuracy_and_shrinks_the_file(et_export, encoder, tiny_splits):
    fp32, int8 = et_export("fp32"), et_export("int8-ptq")
    fp32_accuracy, fp32_predictions = _accuracy(_load(fp32), encoder, tiny_splits)
    int8_accuracy, int8_predictions = _accuracy(_load(int8), encoder, tiny_splits)
    ratio = int8.artifact.stat().st_size / fp32.artifact.stat().st_size
    print(f"fp32 {fp32_accuracy:.3f} {fp32.artifact.stat().st_size} B; int8-ptq {int8_accuracy:.3f} "
          f"{int8.artifact.stat().st_size} B ({ratio:.0%})")
    assert int8_accuracy >= fp32_accuracy - 0.05
    assert (int8_predictions == fp32_predictions).mean() >= 0.9
    assert ratio < 0.7
    assert int8.report["calibration_samples"] == CALIBRATION_TEXTS


def test_int8_dynamic_agrees_with_fp32_and_runs_its_linears_in_xnnpack(et_export, encoder, tiny_splits):
    fp32, dynamic = et_export("fp32"), et_export("int8-dynamic")
    fp32_accuracy, fp32_predictions = _accuracy(_load(fp32), encoder, tiny_splits)
    dynamic_accuracy, dynamic_predictions = _accuracy(_load(dynamic), encoder, tiny_splits)
    ratio = dynamic.artifact.stat().st_size / fp32.artifact.stat().st_size
    print(f"fp32 {fp32_accuracy:.3f}; int8-dynamic {dynamic_accuracy:.3f} ({ratio:.0%} of fp32's size)")
    assert dynamic_accuracy >= fp32_accuracy - 0.03
    assert (dynamic_predictions == fp32_predictions).mean() >= 0.95
    assert ratio < 0.7
    assert dynamic.report["activations"] == "dynamic" and "calibration_samples" not in dynamic.report
    delegation = dynamic.report["delegation"]
    # Every Linear runs in XNNPACK with its input's int8 scale chosen per call, none on portable kernels.
    assert delegation["delegated_ops"]["aten_linear_default"] == 8
    assert delegation["delegated_ops"]["quantized_decomposed_choose_qparams_tensor"] >= 1
    assert "aten_linear_default" not in delegation["non_delegated_ops"]
    assert not any("choose_qparams" in op for op in delegation["kernel_ops"])
    assert delegation["kernel_ops"].get("quantized_decomposed.embedding_byte.out", 0) >= 1


def test_int8_dynamic_needs_no_calibration_texts(tiny_student_dir, tiny_splits, tmp_path):
    from edgedistill.targets.executorch import TARGET

    profile = executorch_profile(FIXED)
    inputs = ExportInputs(student_dir=tiny_student_dir, profile=profile, work_dir=tmp_path,
                          calibration_texts=[], train=None)
    with pytest.raises(UserError, match="calibration"):
        TARGET.export(inputs, TARGET.recipe("int8-ptq", profile))
    result = TARGET.export(inputs, TARGET.recipe("int8-dynamic", profile))
    assert result.artifact.is_file() and result.report["activations"] == "dynamic"


def test_embedding_tables_are_stored_int8(et_export):
    with_tables, without = et_export("int8-ptq"), et_export("int8-ptq", quantize_embedding=False)
    kernels = with_tables.report["delegation"]["kernel_ops"]
    assert kernels.get("quantized_decomposed.embedding_byte.out", 0) >= 1
    assert "quantized_decomposed.embedding_byte.out" not in without.report["delegation"]["kernel_ops"]
    # The app must link the quantized kernels exactly when the program calls them ("Missing operator" otherwise).
    from edgedistill.targets.executorch import TARGET

    assert any(lib.startswith("quantized_ops_lib") for lib in TARGET.app_requirements(with_tables.report)["libraries"])
    assert not any(lib.startswith("quantized_ops_lib") for lib in TARGET.app_requirements(without.report)["libraries"])
    # The word table alone (41 x 32 fp32 -> int8 + a scale per row) saves over 3 KB.
    assert without.artifact.stat().st_size - with_tables.artifact.stat().st_size > 3000


def test_delegation_report_counts_ops_on_both_sides(et_export):
    delegation = et_export("int8-ptq").report["delegation"]
    assert delegation["delegated_subgraphs"] >= 1
    assert delegation["delegated_ops"]["aten_linear_default"] == 8
    assert delegation["delegated_nodes"] == sum(delegation["delegated_ops"].values())
    assert delegation["non_delegated_nodes"] == sum(delegation["non_delegated_ops"].values())
    assert "aten_native_layer_norm_default" in delegation["non_delegated_ops"]


@pytest.fixture(scope="module")
def outlier_student_dir(tiny_student_dir, tmp_path_factory):
    """The tiny student with one activation outlier that leaves its fp32 logits unchanged."""
    import shutil

    import torch

    from edgedistill.model.classifiers import load_trained_classifier

    path = tmp_path_factory.mktemp("outlier") / "outlier-student"
    shutil.copytree(tiny_student_dir, path)
    model = load_trained_classifier(path, eager_attention=True)
    with torch.no_grad():
        norm = model.bert.encoder.layer[-1].output.LayerNorm
        norm.weight[0] *= OUTLIER_SCALE
        norm.bias[0] *= OUTLIER_SCALE
        model.bert.pooler.dense.weight[:, 0] /= OUTLIER_SCALE
    model.save_pretrained(path)
    return path


def test_qat_recovers_what_ptq_loses_on_an_outlier_channel(outlier_student_dir, tiny_splits, encoder, fp32_model,
                                                           et_export, tmp_path_factory):
    from edgedistill.model.reference import reference_logits

    train_ids, train_mask = encoder.encode(tiny_splits.train.texts, pad_to=64)
    teacher_logits = reference_logits(fp32_model, train_ids, train_mask)
    profile = executorch_profile(FIXED, **OUTLIER_QAT)
    ptq = export_executorch(outlier_student_dir, tiny_splits, tmp_path_factory.mktemp("ptq"), profile, "int8-ptq")
    qat = export_executorch(outlier_student_dir, tiny_splits, tmp_path_factory.mktemp("qat"), profile, "int8-qat", teacher_logits)
    fp32_accuracy, _ = _accuracy(_load(et_export("fp32")), encoder, tiny_splits)  # the outlier leaves fp32 as is
    ptq_accuracy, _ = _accuracy(_load(ptq), encoder, tiny_splits)
    qat_accuracy, _ = _accuracy(_load(qat), encoder, tiny_splits)
    print(f"outlier student: fp32 {fp32_accuracy:.3f}, ptq {ptq_accuracy:.3f}, qat {qat_accuracy:.3f}")
    assert ptq_accuracy <= fp32_accuracy - 0.1
    assert qat_accuracy >= ptq_accuracy + 0.1
    assert qat.report["qat_supervision"] == "teacher"
    assert qat.report["qat_steps"] == OUTLIER_QAT["qat_epochs"] * -(-len(tiny_splits.train) // 32)


def test_corrupt_program_is_refused_with_one_line(et_export, tmp_path):
    from edgedistill.targets.executorch import TARGET

    data = et_export("fp32").artifact.read_bytes()
    for name, content in (("truncated.pte", data[: len(data) // 3]), ("garbage.pte", b"not a program" * 50)):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(UserError) as error:
            TARGET.load(path, threads=1)
        assert "\n" not in str(error.value) and "re-run export" in str(error.value)
    with pytest.raises(UserError, match="not found"):
        TARGET.load(tmp_path / "missing.pte", threads=1)


def test_recipes_follow_the_profile_and_options_are_typed():
    from edgedistill.targets.executorch import TARGET

    assert [r.name for r in TARGET.recipes(executorch_profile(FIXED))] == ["fp32", "int8-dynamic", "int8-ptq", "int8-qat"]
    fp32_only = DeviceProfile(name="p", description="d", isa="arm64", runtimes=["executorch"], precisions=["fp32"])
    assert [r.name for r in TARGET.recipes(fp32_only)] == ["fp32"]
    assert TARGET.recipe("int8-ptq", fp32_only).options_record() == {"quantize_embedding": True, "qat": None}
    base = {"name": "p", "description": "d", "isa": "arm64", "runtimes": ["executorch"]}
    parsed = resolve_profile(parse_profile({**base, "executorch": {"qat_epochs": 3}}, "p.toml"), "p.toml")
    assert parsed.runtime_options["executorch"].qat_epochs == 3
    with pytest.raises(UserError, match="qat_epoch"):
        resolve_profile(parse_profile({**base, "executorch": {"qat_epoch": 3}}, "p.toml"), "p.toml")


def test_backend_module_imports_without_torch():
    code = "import sys, edgedistill.targets.executorch; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
