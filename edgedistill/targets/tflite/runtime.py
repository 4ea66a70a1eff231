"""A loaded `.tflite` artifact in LiteRT (numpy + ai-edge-litert, or tflite-runtime on old boards).

TFLite models are static-shape: every input is padded to the model's one sequence length
and run one row at a time. Inputs are matched by name, not position: onnx2tf writes
`input_ids` or `serving_default_input_ids:0`, litert-torch `serving_default_input_ids`,
and the order differs between files.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from edgedistill.errors import UserError

INPUT_NAMES = ("input_ids", "attention_mask")
_DECORATION = re.compile(r"^serving_default_|:\d+$")


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
    """Token ids in, float32 logits out; threads fixed when the interpreter is built."""

    def __init__(self, artifact: Path, threads: int):
        artifact = Path(artifact)
        if not artifact.is_file():
            raise UserError(f"model file {artifact} not found")
        try:
            self._interpreter = interpreter_class()(model_path=str(artifact), num_threads=threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            reason = (str(exc).strip().splitlines() or ["unreadable"])[0][:120]
            raise UserError(f"{artifact} is not a valid TFLite model ({reason}); re-run export") from None
        self._inputs = _inputs_by_name(self._interpreter.get_input_details(), artifact)
        self._output = self._interpreter.get_output_details()[0]
        self.input_names = list(INPUT_NAMES)
        self.fixed_length = int(self._inputs["input_ids"]["shape"][1])

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits of shape (batch, classes); shorter inputs are padded to `fixed_length` with mask 0."""
        if input_ids.shape[1] > self.fixed_length:
            raise UserError(f"inputs of {input_ids.shape[1]} tokens exceed this model's static length "
                            f"{self.fixed_length}; truncate them or export with a larger bucket")
        pad = ((0, 0), (0, self.fixed_length - input_ids.shape[1]))
        padded = {"input_ids": np.pad(input_ids, pad), "attention_mask": np.pad(attention_mask, pad)}
        return np.concatenate([self._run_row(padded, row) for row in range(len(input_ids))], axis=0)

    def _run_row(self, padded: dict[str, np.ndarray], row: int) -> np.ndarray:
        for name, detail in self._inputs.items():
            self._interpreter.set_tensor(detail["index"], padded[name][row:row + 1].astype(detail["dtype"]))
        self._interpreter.invoke()
        return np.asarray(self._interpreter.get_tensor(self._output["index"]), dtype=np.float32)


def _inputs_by_name(details: list[dict], artifact: Path) -> dict[str, dict]:
    by_name = {_DECORATION.sub("", detail["name"]): detail for detail in details}
    missing = [name for name in INPUT_NAMES if name not in by_name]
    if missing or len(details) != len(INPUT_NAMES):
        found = ", ".join(detail["name"] for detail in details)
        raise UserError(f"{artifact} has inputs [{found}], not input_ids and attention_mask; "
                        "export it with edgedistill")
    return {name: by_name[name] for name in INPUT_NAMES}
