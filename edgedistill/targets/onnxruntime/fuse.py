"""ONNX Runtime's transformer fusions on the exported student: Attention and BiasGelu contrib ops.

The fused `Attention` op packs the Q/K/V projections into one GEMM (one `QAttention` once
dynamically quantized) and runs the scores, mask and softmax in one kernel. ORT's fuser
(`onnxruntime.transformers`) matches the graphs Hugging Face's own exporters produce; ours
differ in two places, which `_match_hf_bert_attention` rewrites without changing the maths:
the wrapper's mask `attention_mask[:, None, None, :]` exports as one Unsqueeze over axes
[1, 2] where the fuser expects two, and transformers 5 scales the scores with
`Mul(1/sqrt(d))` where the fuser, which takes the first Mul it meets, expects `Div(sqrt(d))`.

SkipLayerNormalization is left out: on ONNX Runtime 1.32's CPU provider it ran 6x slower
than the Add + LayerNormalization it replaces (116 vs 18 us at 64x384, 1 thread).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from edgedistill.fsutil import atomic_write_bytes

MASK_INPUT = "attention_mask"
CONTRIB_DOMAIN = "com.microsoft"
FUSED_OP_TYPES = ("Attention", "BiasGelu")


def fuse_transformer(source: Path, destination: Path, model_config: Path) -> dict[str, int]:
    """Write `source` with ORT's Attention/BiasGelu fusions applied; returns the fused op counts.

    A graph the fuser does not recognise is written unfused (still correct, only slower): the
    returned counts say which happened. `model_config` is the student's `config.json`.
    """
    import onnx
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads(Path(model_config).read_text())
    num_heads, hidden_size = config["num_attention_heads"], config["hidden_size"]
    proto = onnx.load(str(source))
    _match_hf_bert_attention(proto.graph, head_size=hidden_size // num_heads)
    options = FusionOptions("bert")
    # The raw 0/1 mask keeps any padding layout exact; the default mask index assumes right padding.
    options.use_raw_attention_mask(True)
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    # Only measured fusions: EmbedLayerNormalization does not match our position-id slice today,
    # and a future match would bring in a kernel nobody timed (as SkipLayerNormalization shows).
    options.enable_embed_layer_norm = False
    fused = optimize_model(proto, model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                           optimization_options=options, opt_level=0)
    # What ORT's own save does: fused nodes were appended, and contrib ops need their domain declared.
    fused.topological_sort()
    if not any(opset.domain == CONTRIB_DOMAIN for opset in fused.model.opset_import):
        fused.model.opset_import.append(onnx.helper.make_opsetid(CONTRIB_DOMAIN, 1))
    atomic_write_bytes(Path(destination), fused.model.SerializeToString())
    counts = Counter(node.op_type for node in fused.model.graph.node)
    return {op: counts[op] for op in FUSED_OP_TYPES}


def _match_hf_bert_attention(graph, head_size: int) -> None:
    """Rewrite the mask Unsqueeze and the score scaling into the forms ORT's fuser matches."""
    _split_mask_unsqueeze(graph)
    _scale_scores_by_division(graph, head_size)


def _split_mask_unsqueeze(graph) -> None:
    """`Unsqueeze(attention_mask, [1, 2])` -> `Unsqueeze(Unsqueeze(attention_mask, [1]), [2])`."""
    from onnx import helper, numpy_helper

    for index, node in enumerate(graph.node):
        if node.op_type != "Unsqueeze" or list(node.input[:1]) != [MASK_INPUT] or len(node.input) != 2:
            continue
        axes = _constant(graph, node.input[1])
        if axes is not None and axes.tolist() == [1, 2]:
            axis_1, axis_2, middle = (f"{node.name}_{suffix}" for suffix in ("axis_1", "axis_2", "rank_3"))
            graph.initializer.extend([numpy_helper.from_array(np.array([1], np.int64), axis_1),
                                      numpy_helper.from_array(np.array([2], np.int64), axis_2)])
            first = helper.make_node("Unsqueeze", [MASK_INPUT, axis_1], [middle], name=f"{node.name}_1")
            second = helper.make_node("Unsqueeze", [middle, axis_2], list(node.output), name=f"{node.name}_2")
            graph.node.remove(node)
            graph.node.insert(index, second)
            graph.node.insert(index, first)
            return


def _scale_scores_by_division(graph, head_size: int) -> None:
    """`Mul(QK^T, 1/sqrt(d))` feeding the masked softmax -> `Div(QK^T, sqrt(d))`.

    Only the standard 1/sqrt(head_size) scale is rewritten: the fused Attention op always applies
    that scale, so a model scaled differently must stay unfused rather than silently change.
    """
    from onnx import numpy_helper

    producer = {output: node for node in graph.node for output in node.output}
    masked_scores = [producer.get(n.input[0]) for n in graph.node if n.op_type == "Softmax"]
    for add in (node for node in masked_scores if node is not None and node.op_type == "Add"):
        for mul in (producer.get(name) for name in add.input):
            if mul is None or mul.op_type != "Mul":
                continue
            scores = [name for name in mul.input if getattr(producer.get(name), "op_type", None) == "MatMul"]
            scale = [name for name in mul.input if name not in scores]
            value = _constant(graph, scale[0]) if len(scores) == 1 and len(scale) == 1 else None
            if (value is None or value.size != 1
                    or not math.isclose(float(value.item()), 1 / math.sqrt(head_size), rel_tol=1e-6)):
                continue
            divisor = f"{scale[0]}_reciprocal"
            if _constant(graph, divisor) is None:
                graph.initializer.append(numpy_helper.from_array((1 / value).astype(value.dtype), divisor))
            mul.op_type = "Div"
            mul.input[:] = [scores[0], divisor]


def _constant(graph, name: str) -> np.ndarray | None:
    """The value of an initializer or Constant node output, else None."""
    from onnx import helper, numpy_helper

    for initializer in graph.initializer:
        if initializer.name == name:
            return numpy_helper.to_array(initializer)
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] == name:
            value = helper.get_attribute_value(node.attribute[0])
            return numpy_helper.to_array(value) if node.attribute[0].name == "value" else np.array(value)
    return None
