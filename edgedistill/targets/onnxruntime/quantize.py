"""Quantized ONNX models with `onnxruntime.quantization`: dynamic int8, static QDQ int8, the naive all-ops QDQ,
and 4-bit block-quantized weights."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgedistill.errors import UserError

# Only the Linear layers. Quantizing the mask's Add, Softmax and LayerNorm as well breaks
# masking: the -1e4 fill either swamps the int8 range or, when calibration saw no
# padding, gets clipped so padded tokens leak into attention.
LINEAR_OP_TYPES = ("MatMul", "Gemm")
# Dynamic int8 also takes the fused Attention's packed Q/K/V weights (QAttention) and the
# embedding tables (Gather), which hold most of a small student's bytes; neither touches the mask.
DYNAMIC_OP_TYPES = (*LINEAR_OP_TYPES, "Attention", "Gather")
QUANTIZE_NODE_TYPES = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}
_INTEGER_KERNELS = {"MatMulInteger", "ConvInteger", "QLinearMatMul", "QLinearConv"}
_FLOAT_TYPES = {1, 10, 11, 16}  # onnx.TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


@dataclass(frozen=True)
class GraphSettings:
    """fp32: which ONNX Runtime graph optimisations are applied offline ("disabled": all of them happen when the
    artifact is loaded), on the graph with Attention/BiasGelu fused or on the graph as exported."""

    graph_optimization: str
    fused: bool


@dataclass(frozen=True)
class DynamicSettings:
    """Dynamic int8: the op types whose weights become int8 (None: ONNX Runtime's default set), on the graph with
    Attention/BiasGelu fused or on the graph as exported."""

    op_types: tuple[str, ...] | None
    fused: bool


@dataclass(frozen=True)
class StaticSettings:
    """How `quantize_static` runs; `op_types` None means every op type ORT can quantize."""

    activation_type: str
    weight_type: str
    per_channel: bool
    calibration: str
    op_types: tuple[str, ...] | None


@dataclass(frozen=True)
class WeightOnlySettings:
    """4-bit weights in blocks of `block_size` values, each block with its own scale: MatMul weights become
    MatMulNBits and the embedding tables GatherBlockQuantized; LayerNorm, Softmax, GELU and the mask stay float.
    `accuracy_level` 4 computes the products in int8 (activations quantized per block at run time), 0 in float."""

    block_size: int
    accuracy_level: int


class TextCalibrationReader:
    """Feeds tokenised calibration texts to ORT's calibrator, one text at a time.

    One unpadded text per run matches how a device calls the model. Histogram methods
    (percentile, entropy) stack every run's tensors, so they need one common width.
    """

    def __init__(self, samples: list[tuple[np.ndarray, np.ndarray]]):
        self._samples = samples
        self._iterator: Iterator[tuple[np.ndarray, np.ndarray]] = iter(samples)

    @classmethod
    def from_texts(cls, texts: list[str], tokenizer_json: Path, max_length: int,
                   common_width: bool = False) -> TextCalibrationReader:
        from edgedistill.text.encode import TextEncoder

        if not texts:
            raise UserError("static int8 needs calibration texts; give the export some in-domain sentences")
        encoder = TextEncoder(tokenizer_json, max_length)
        width = encoder.encode(texts)[0].shape[1] if common_width else None
        return cls([encoder.encode([text], pad_to=width) for text in texts])

    def __len__(self) -> int:
        return len(self._samples)

    def get_next(self) -> dict[str, np.ndarray] | None:
        sample = next(self._iterator, None)
        return None if sample is None else {"input_ids": sample[0], "attention_mask": sample[1]}

    def rewind(self) -> None:
        self._iterator = iter(self._samples)


def preprocess(source: Path, destination: Path) -> None:
    """ORT's recommended pre-quantization pass (constant folding, shape inference)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # Symbolic shape inference stops with "Incomplete symbolic shape inference" on these graphs.
    quant_pre_process(str(source), str(destination), skip_symbolic_shape=True)


def quantize_dynamic_int8(source: Path, destination: Path, op_types: tuple[str, ...] | None) -> None:
    """int8 weights; activations quantized on the fly per batch, so no calibration.

    Per-tensor weight scales: per-channel cut the MR student's logit error 3x yet flipped more
    test predictions the wrong way (-1.0 vs -0.5 accuracy points), at the same latency.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(destination), op_types_to_quantize=list(op_types) if op_types else None,
                     weight_type=QuantType.QInt8)


def quantize_weights_4bit(source: Path, destination: Path, settings: WeightOnlySettings) -> None:
    """Symmetric 4-bit blocks for every Linear weight and embedding table with a constant weight (the pooler and
    classifier Gemms are rewritten as MatMul + Add first, since MatMulNBits replaces MatMul only)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    config = DefaultWeightOnlyQuantConfig(block_size=settings.block_size, is_symmetric=True,
                                          accuracy_level=settings.accuracy_level, op_types_to_quantize=("MatMul", "Gather"),
                                          quant_axes=(("MatMul", 0), ("Gather", 1)))
    model = onnx.load(str(source))
    _gemms_as_matmuls(model.graph)
    quantizer = MatMulNBitsQuantizer(model, algo_config=config)
    quantizer.process()
    quantizer.model.save_model_to_file(str(destination), use_external_data_format=False)


def _gemms_as_matmuls(graph) -> None:
    """Each plain Gemm (alpha = beta = 1, A not transposed) with a constant weight becomes MatMul(A, W) + bias, W
    stored [in, out] as MatMul expects."""
    from onnx import helper, numpy_helper

    weights = {tensor.name: tensor for tensor in graph.initializer}
    nodes = []
    for node in graph.node:
        attributes = {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}
        plain = (attributes.get("alpha", 1.0) == 1.0 and attributes.get("beta", 1.0) == 1.0
                 and not attributes.get("transA", 0))
        if node.op_type != "Gemm" or not plain or node.input[1] not in weights or len(node.input) < 3:
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(weights[node.input[1]])
        name = f"{node.input[1]}_as_matmul"
        graph.initializer.append(numpy_helper.from_array(weight.T.copy() if attributes.get("transB", 0) else weight, name))
        product = f"{node.output[0]}_product"
        nodes += [helper.make_node("MatMul", [node.input[0], name], [product], name=f"{node.name}_matmul"),
                  helper.make_node("Add", [product, node.input[2]], list(node.output), name=f"{node.name}_bias")]
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def quantize_static_int8(source: Path, destination: Path, reader: TextCalibrationReader,
                         settings: StaticSettings) -> None:
    """QDQ int8 with activation ranges calibrated on `reader`."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    types = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}
    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    quantize_static(
        str(source), str(destination), reader, quant_format=QuantFormat.QDQ,
        op_types_to_quantize=list(settings.op_types) if settings.op_types else None, per_channel=settings.per_channel,
        activation_type=types[settings.activation_type], weight_type=types[settings.weight_type],
        calibrate_method=methods[settings.calibration],
    )


def op_counts(path: Path) -> dict[str, int]:
    """Node count per op type, most frequent first."""
    import onnx

    return _op_counts(onnx.load(str(path)).graph)


def artifact_ops(path: Path) -> dict[str, object]:
    """What the export report says of a written artifact's ops, from one load of the file: node counts, the op
    types that compute in int8, and the com.microsoft contrib op types a reduced-operator build may leave out."""
    import onnx

    graph = onnx.load(str(path)).graph
    return {"nodes_after": _op_counts(graph), "quantized_op_types": _quantized_op_types(graph),
            "contrib_op_types": sorted({node.op_type for node in graph.node if node.domain == "com.microsoft"})}


def _op_counts(graph) -> dict[str, int]:
    return dict(Counter(node.op_type for node in graph.node).most_common())


def _quantized_op_types(graph) -> list[str]:
    """Op types that compute in int8: integer kernels (dynamic int8), and, in QDQ graphs, ops wrapped
    as DequantizeLinear -> op -> QuantizeLinear with no float input, which ORT fuses into int8 kernels."""
    producer = {out: node.op_type for node in graph.node for out in node.output}
    consumers: dict[str, set[str]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.op_type)
    float_weights = {i.name for i in graph.initializer if i.data_type in _FLOAT_TYPES}

    def wrapped(node) -> bool:
        sources = [producer.get(name, "weight" if name in float_weights else "other") for name in node.input if name]
        return ("DequantizeLinear" in sources and "weight" not in sources
                and all(s in ("DequantizeLinear", "Shape", "other") for s in sources)
                and all(consumers.get(out) == {"QuantizeLinear"} for out in node.output))

    return sorted({node.op_type for node in graph.node
                   if node.op_type in _INTEGER_KERNELS or (node.op_type not in QUANTIZE_NODE_TYPES and wrapped(node))})
