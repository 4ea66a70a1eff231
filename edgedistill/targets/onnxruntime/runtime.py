"""A loaded `.onnx` artifact in ONNX Runtime's CPU execution provider (numpy + onnxruntime only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgedistill.errors import UserError


class OnnxRuntimeSession:
    """Token ids in, float32 logits out; threads fixed when the session is created."""

    def __init__(self, artifact: Path, threads: int):
        import onnxruntime as ort
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

        artifact = Path(artifact)
        if not artifact.is_file():
            raise UserError(f"model file {artifact} not found")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self._session = ort.InferenceSession(str(artifact), options, providers=["CPUExecutionProvider"])
        except (ort_errors.InvalidProtobuf, ort_errors.InvalidGraph, ort_errors.Fail) as exc:
            reason = str(exc).splitlines()[0][-120:]
            raise UserError(f"{artifact} is not a valid ONNX model ({reason}); re-run export") from None
        except ort_errors.NotImplemented as exc:
            raise UserError(f"{artifact} needs a newer onnxruntime than {ort.__version__}: "
                            f"{str(exc).splitlines()[0][-120:]}") from None
        inputs = self._session.get_inputs()
        self.input_names = [i.name for i in inputs]
        self.output_name = self._session.get_outputs()[0].name
        sequence_dim = inputs[0].shape[1] if len(inputs[0].shape) == 2 else None
        self.fixed_length = sequence_dim if isinstance(sequence_dim, int) else None

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits of shape (batch, classes); inputs are fed by name, so their order in the file is irrelevant."""
        available = {"input_ids": input_ids, "attention_mask": attention_mask}
        feed = {name: np.ascontiguousarray(available[name], dtype=np.int64) for name in self.input_names}
        (logits,) = self._session.run([self.output_name], feed)
        return np.asarray(logits, dtype=np.float32)
