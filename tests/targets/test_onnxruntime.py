"""The ONNX Runtime backend, exercised through onnxruntime itself on the tiny trained student."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest

from edgedistill.errors import UserError
from edgedistill.model.reference import reference_logits
from edgedistill.model.wrapper import load_exportable
from edgedistill.targets.onnxruntime import DEFAULT_RECIPES, NAIVE_RECIPE, TARGET
from edgedistill.model.onnx_export import export_onnx
from edgedistill.targets.onnxruntime.fuse import fuse_transformer
from edgedistill.targets.onnxruntime.quantize import artifact_ops, op_counts
from edgedistill.profiles import DeviceProfile, parse_profile
from edgedistill.targets.registry import resolve_profile
from edgedistill.text.encode import TextEncoder

pytestmark = pytest.mark.slow  # real ONNX Runtime exports

# 40 test sentences: 0.95 tolerates two flipped predictions. A quantization that breaks
# the model (e.g. one class for everything) lands near 0.5; measured agreement is 1.0.
MIN_INT8_AGREEMENT = 0.95


def padded_inputs(vocab_size: int, length: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random token ids with a different amount of right padding in each row."""
    rng = np.random.default_rng(seed)
    input_ids = rng.integers(5, vocab_size, (batch, length), dtype=np.int64)
    attention_mask = np.zeros((batch, length), dtype=np.int64)
    for row in range(batch):
        attention_mask[row, :max(2, length - row * length // 3)] = 1
    return input_ids, attention_mask


def encode_test_split(student_dir, splits, pad_to=None):
    return TextEncoder(student_dir / "tokenizer.json", 64).encode(splits.test.texts, pad_to=pad_to)


@pytest.fixture(scope="module")
def pytorch_student(tiny_student_dir):
    return load_exportable(tiny_student_dir)


@pytest.mark.parametrize(("length", "batch"), [(8, 1), (23, 3), (64, 3)])
def test_fp32_matches_pytorch(ort_export, pytorch_student, length, batch):
    session = TARGET.load(ort_export("fp32").artifact, threads=1)
    input_ids, attention_mask = padded_inputs(pytorch_student.model.config.vocab_size, length, batch, seed=length)
    expected = reference_logits(pytorch_student, input_ids, attention_mask)
    logits = session.run(input_ids, attention_mask)
    assert logits.dtype == np.float32 and logits.shape == expected.shape
    assert np.abs(logits - expected).max() <= TARGET.tolerance("fp32")


def test_fp32_export_is_dynamic_and_reports_conversion(ort_export):
    result = ort_export("fp32")
    session = TARGET.load(result.artifact, threads=1)
    assert session.fixed_length is None and session.input_names == ["input_ids", "attention_mask"]
    assert result.artifact.name.endswith("_onnxruntime_fp32.onnx")
    assert result.report["opset"] == 18 and "dynamo" in result.report["exporter"]


@pytest.mark.parametrize("recipe", ["fp32", "int8-dynamic"])
def test_attention_and_gelu_are_fused_but_not_skip_layernorm(ort_export, tiny_student_dir, recipe):
    """One fused Attention and BiasGelu per layer; Add + LayerNorm stay apart (SkipLayerNorm is slower on CPU)."""
    layers = json.loads((tiny_student_dir / "config.json").read_text())["num_hidden_layers"]
    report = ort_export(recipe).report
    assert report["fused_ops"] == {"Attention": layers, "BiasGelu": layers}
    assert "Softmax" in report["nodes_before"] and "Softmax" not in report["nodes_after"]
    assert "SkipLayerNormalization" not in report["nodes_after"]
    assert report["nodes_after"]["LayerNormalization"] == 2 * layers + 1


def test_online_fp32_is_the_exported_graph_and_matches_offline_fp32(ort_export, tiny_student_dir, tiny_splits):
    """fp32-online leaves fusion and optimisation to load time; its logits match the offline-optimised graph's."""
    offline, online = ort_export("fp32"), ort_export("fp32-online")
    assert "fused_ops" not in online.report and online.report["graph_optimization"] == "disabled"
    assert "Softmax" in online.report["nodes_after"]
    input_ids, attention_mask = encode_test_split(tiny_student_dir, tiny_splits)
    expected = TARGET.load(offline.artifact, threads=1).run(input_ids, attention_mask)
    logits = TARGET.load(online.artifact, threads=1).run(input_ids, attention_mask)
    assert np.abs(logits - expected).max() <= TARGET.tolerance("fp32")


@pytest.mark.parametrize("recipe", ["int8-dynamic", "int8-dynamic-plain", "int8-qdq", "int8-qdq-per-tensor"])
def test_int8_agrees_with_fp32_and_is_smaller(ort_export, tiny_student_dir, tiny_splits, recipe):
    fp32, int8 = ort_export("fp32"), ort_export(recipe)
    input_ids, attention_mask = encode_test_split(tiny_student_dir, tiny_splits)
    reference = TARGET.load(fp32.artifact, threads=1).run(input_ids, attention_mask).argmax(-1)
    predicted = TARGET.load(int8.artifact, threads=1).run(input_ids, attention_mask).argmax(-1)
    assert np.mean(predicted == reference) >= MIN_INT8_AGREEMENT
    assert int8.artifact.stat().st_size < fp32.artifact.stat().st_size


def test_fusion_leaves_an_unusual_attention_scale_unfused(tiny_student_dir, tmp_path):
    """The fused op always scales scores by 1/sqrt(head size): a graph scaled otherwise must not fuse."""
    proto = onnx.load(str(export_onnx(tiny_student_dir, tmp_path / "plain.onnx")))
    producer = {out: node for node in proto.graph.node for out in node.output}
    score_scales = {name for softmax in proto.graph.node if softmax.op_type == "Softmax"
                    for mul in map(producer.get, producer[softmax.input[0]].input) if mul and mul.op_type == "Mul"
                    if producer[mul.input[0]].op_type == "MatMul" for name in mul.input[1:]}
    assert score_scales
    for initializer in proto.graph.initializer:
        if initializer.name in score_scales:
            initializer.CopyFrom(onnx.numpy_helper.from_array(2 * onnx.numpy_helper.to_array(initializer),
                                                             initializer.name))
    rescaled = tmp_path / "rescaled.onnx"
    onnx.save(proto, str(rescaled))
    fused = tmp_path / "fused.onnx"
    assert fuse_transformer(rescaled, fused, tiny_student_dir / "config.json")["Attention"] == 0
    input_ids, attention_mask = padded_inputs(41, 16, 3, seed=5)
    expected = TARGET.load(rescaled, threads=1).run(input_ids, attention_mask)
    np.testing.assert_allclose(TARGET.load(fused, threads=1).run(input_ids, attention_mask), expected, atol=1e-5)


def test_session_flushes_denormals(ort_export):
    """Softmax over padding yields denormal probabilities; unflushed, they slowed int8 attention 1.6x."""
    script = textwrap.dedent(f"""
        import numpy as np
        from edgedistill.targets.registry import get_target
        get_target("onnxruntime").load({str(ort_export("fp32").artifact)!r}, threads=1)
        print(float(np.float32(1e-40) * np.float32(1.0)))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert float(completed.stdout) == 0.0


def test_dynamic_int8_quantizes_attention_matmuls_and_embeddings(ort_export):
    result = ort_export("int8-dynamic")
    nodes = op_counts(result.artifact)
    assert nodes.get("DynamicQuantizeLinear", 0) > 0 and nodes.get("MatMulInteger", 0) > 0
    assert nodes.get("QAttention", 0) == result.report["fused_ops"]["Attention"] and "Attention" not in nodes
    # Word, position and token-type tables are stored as int8 and dequantized after the lookup.
    tables = {i.name: i.data_type for i in onnx.load(str(result.artifact)).graph.initializer
              if i.name.endswith("_embeddings.weight_quantized") or i.name.endswith("_embeddings.weight")}
    assert sorted(tables) == [f"model.bert.embeddings.{kind}_embeddings.weight_quantized"
                              for kind in ("position", "token_type", "word")]
    assert set(tables.values()) == {onnx.TensorProto.UINT8}
    assert result.report["calibration_samples"] == 0


def test_qdq_keeps_mask_softmax_and_layernorm_float(ort_export):
    result = ort_export("int8-qdq")
    nodes = op_counts(result.artifact)
    assert nodes.get("QuantizeLinear", 0) > 0 and nodes.get("DequantizeLinear", 0) > 0
    quantized = set(result.report["quantized_op_types"])
    assert {"MatMul", "Gemm"} <= quantized
    assert not quantized & {"Add", "Softmax", "LayerNormalization"}
    assert result.report["calibration_samples"] == 128 and result.report["calibration_method"] == "minmax"


def test_naive_all_ops_recipe_breaks_masking(ort_export, tiny_student_dir, tiny_splits):
    """The trap: with the mask Add, Softmax and LayerNorm in int8, padding leaks into the result.

    The same texts run at two paddings (32 and 64 wide). Masking makes fp32 and the Linear-only recipe
    blind to the extra padding; the naive recipe's logits move with it. Argmax barely moves on this
    bag-of-words task, so the logit shift is what shows it. (The plain error against fp32 is no good
    gauge: VNNI kernels on AMD and Intel CPUs round the Linear-only recipe differently.)
    """
    naive, linear_only = ort_export(NAIVE_RECIPE), ort_export("int8-qdq")
    assert {"Add", "LayerNormalization", "Softmax"} <= set(artifact_ops(naive.artifact)["quantized_op_types"])
    wide_ids, wide_mask = encode_test_split(tiny_student_dir, tiny_splits, pad_to=64)
    short = wide_mask.sum(axis=1) <= 32  # texts that fit both widths whole
    assert short.sum() >= 10
    wide = (wide_ids[short], wide_mask[short])
    narrow = (wide_ids[short, :32], wide_mask[short, :32])

    def padding_shift(result):
        session = TARGET.load(result.artifact, threads=1)
        return np.abs(session.run(*narrow) - session.run(*wide)).mean()

    assert padding_shift(ort_export("fp32")) < 1e-5
    assert padding_shift(linear_only) < 1e-3
    assert padding_shift(naive) > 100 * max(padding_shift(linear_only), 1e-5)


def test_the_by_hand_path_is_a_candidate_of_its_own(ort_export, ort_profile):
    """int8-dynamic-plain is what a user does by hand: quantize_dynamic with its defaults on the unfused graph."""
    result = ort_export("int8-dynamic-plain")
    nodes = op_counts(result.artifact)
    assert "fused_ops" not in result.report and "QAttention" not in nodes and "Attention" not in nodes
    assert nodes.get("MatMulInteger", 0) > 0 and "Softmax" in nodes
    assert TARGET.recipe("int8-dynamic-plain", ort_profile).options_record() == {"op_types": None, "fused": False}


def test_recipes_follow_profile(ort_profile):
    assert [r.name for r in TARGET.recipes(ort_profile)] == [name for name in DEFAULT_RECIPES if name != "int4-weights"]
    assert NAIVE_RECIPE not in DEFAULT_RECIPES
    fp32_only = DeviceProfile(**{**ort_profile.__dict__, "precisions": ["fp32"]})
    assert [r.name for r in TARGET.recipes(fp32_only)] == ["fp32", "fp32-online"]
    int4_only = DeviceProfile(**{**ort_profile.__dict__, "precisions": ["int4"]})
    assert [(r.name, r.precision) for r in TARGET.recipes(int4_only)] == [("int4-weights", "int4")]
    assert TARGET.recipe("int8-qdq", ort_profile).options.activation_type == "uint8"
    with pytest.raises(UserError, match="unknown onnxruntime recipe"):
        TARGET.recipe("int4", ort_profile)


def test_profile_table_is_typed():
    base = {"name": "pi", "description": "", "isa": "arm64", "runtimes": ["onnxruntime"]}
    profile = resolve_profile(parse_profile({**base, "onnxruntime": {"weight_type": "int8"}}, "pi.toml"), "pi.toml")
    # Arm defaults to signed activations (S8S8) when the table leaves them out.
    assert TARGET.recipe("int8-qdq", profile).options.activation_type == "int8"
    with pytest.raises(UserError, match="unknown key 'threads'"):
        resolve_profile(parse_profile({**base, "onnxruntime": {"threads": 2}}, "pi.toml"), "pi.toml")


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_model_is_a_user_error(ort_export, tmp_path, damage):
    data = ort_export("fp32").artifact.read_bytes()
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"not a model")
    with pytest.raises(UserError, match="is not a valid ONNX model"):
        TARGET.load(broken, threads=1)


def test_fixed_length_export_has_static_shapes(tiny_student_dir, pytorch_student, tmp_path):
    path = export_onnx(tiny_student_dir, tmp_path / "fixed.onnx", fixed_length=32)
    shapes = [[d.dim_value for d in i.type.tensor_type.shape.dim] for i in onnx.load(str(path)).graph.input]
    assert shapes == [[1, 32], [1, 32]]
    session = TARGET.load(path, threads=1)
    assert session.fixed_length == 32
    input_ids, attention_mask = padded_inputs(pytorch_student.model.config.vocab_size, 32, 1, seed=7)
    expected = reference_logits(pytorch_student, input_ids, attention_mask)
    assert np.abs(session.run(input_ids, attention_mask) - expected).max() <= TARGET.tolerance("fp32")


def test_runs_without_torch(ort_export, tmp_path):
    artifact = ort_export("int8-qdq").artifact
    input_ids, attention_mask = padded_inputs(41, 12, 2, seed=3)
    expected = TARGET.load(artifact, threads=1).run(input_ids, attention_mask)
    script = textwrap.dedent(f"""
        import json, sys
        sys.modules["torch"] = None
        sys.modules["onnx"] = None
        import numpy as np
        from edgedistill.targets.registry import get_target
        session = get_target("onnxruntime").load({str(artifact)!r}, threads=1)
        ids = np.array({input_ids.tolist()}, dtype=np.int64)
        mask = np.array({attention_mask.tolist()}, dtype=np.int64)
        print(json.dumps(session.run(ids, mask).tolist()))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    np.testing.assert_allclose(np.array(json.loads(completed.stdout)), expected, rtol=0, atol=1e-6)
