"""A loaded `.tflite` artifact in LiteRT (numpy + ai-edge-litert, or tflite-runtime on old boards).

TFLite models are static-shape and run one row at a time. A file holds one static length
(one signature: onnx2tf, dynamic profiles, older bundles) or one signature per bucket of a
fixed profile (litert-torch), and each input runs in the smallest that fits, padded with mask 0.
Inputs are matched by name, not position: onnx2tf writes `input_ids` or
`serving_default_input_ids:0`, litert-torch `serving_default_input_ids`, and the order differs
between files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgedistill.errors import UserError, first_line
from edgedistill.profiles import SequencePolicy
from edgedistill.third_party import native_stderr

INPUT_NAMES = ("input_ids", "attention_mask")
_DECORATION = re.compile(r"^serving_default_|:\d+$")

# One row of (input_ids, attention_mask), each (1, static length), to its (1, classes) logits.
RowRunner = Callable[[np.ndarray, np.ndarray], np.ndarray]


def interpreter_class() -> type:
    """LiteRT's Interpreter, else tflite-runtime's (boards whose Python has only that wheel)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise UserError("no TFLite runtime is installed: pip install ai-edge-litert") from None
    return Interpreter


class TFLiteSession:
    """Token ids in, float32 logits out; threads fixed when the interpreter is built.

    `fixed_length` is the one static length of a single-signature file, and None for a bucketed
    one: callers then pad each input to its bucket, and `run` picks the signature of that width.
    """

    def __init__(self, artifact: Path, threads: int):
        artifact = Path(artifact)
        if not artifact.is_file():
            raise UserError(f"model file {artifact} not found")
        try:
            # LiteRT's native code prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on fd 2 itself.
            with native_stderr("ai_edge_litert"):
                interpreter = interpreter_class()(model_path=str(artifact), num_threads=threads)
                interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"{artifact} is not a valid TFLite model ({first_line(exc)}); re-run export") from None
        signatures = interpreter.get_signature_list()
        runners = ([_signature_runner(interpreter, key, artifact) for key in signatures] if len(signatures) > 1
                   else [_default_runner(interpreter, artifact)])
        self._runners: dict[int, RowRunner] = dict(runners)
        self.sequence = SequencePolicy.static(list(self._runners))
        self.input_names = list(INPUT_NAMES)
        self.fixed_length = self.sequence.longest if len(self._runners) == 1 else None

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits of shape (batch, classes) of inputs at the width the file's sequence policy gives them."""
        ids, mask = self.sequence.fit(input_ids, attention_mask)
        runner = self._runners[ids.shape[1]]
        return np.concatenate([runner(ids[row:row + 1], mask[row:row + 1]) for row in range(len(ids))], axis=0)


def _default_runner(interpreter, artifact: Path) -> tuple[int, RowRunner]:
    """The file's one graph, fed through the interpreter's own input tensors."""
    inputs = _inputs_by_name(interpreter.get_input_details(), artifact)
    output = interpreter.get_output_details()[0]

    def run_row(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        for name, row in zip(INPUT_NAMES, (ids, mask)):
            interpreter.set_tensor(inputs[name]["index"], row.astype(inputs[name]["dtype"]))
        interpreter.invoke()
        return np.asarray(interpreter.get_tensor(output["index"]), dtype=np.float32)

    return int(inputs["input_ids"]["shape"][1]), run_row


def _signature_runner(interpreter, key: str, artifact: Path) -> tuple[int, RowRunner]:
    """One bucket's signature; its static length is read from its input shape, not its name."""
    runner = interpreter.get_signature_runner(key)
    details = runner.get_input_details()
    if sorted(details) != sorted(INPUT_NAMES) or len(runner.get_output_details()) != 1:
        raise UserError(f"{artifact} signature {key!r} has inputs [{', '.join(details)}], not input_ids and "
                        "attention_mask, or more than one output; export it with edgedistill")
    dtypes = {name: details[name]["dtype"] for name in INPUT_NAMES}

    def run_row(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        outputs = runner(input_ids=ids.astype(dtypes["input_ids"]), attention_mask=mask.astype(dtypes["attention_mask"]))
        return np.asarray(next(iter(outputs.values())), dtype=np.float32)

    return int(details["input_ids"]["shape"][1]), run_row


def _inputs_by_name(details: list[dict], artifact: Path) -> dict[str, dict]:
    by_name = {_DECORATION.sub("", detail["name"]): detail for detail in details}
    missing = [name for name in INPUT_NAMES if name not in by_name]
    if missing or len(details) != len(INPUT_NAMES):
        found = ", ".join(detail["name"] for detail in details)
        raise UserError(f"{artifact} has inputs [{found}], not input_ids and attention_mask; "
                        "export it with edgedistill")
    return {name: by_name[name] for name in INPUT_NAMES}
