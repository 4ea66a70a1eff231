"""A loaded `.onnx` artifact in ONNX Runtime's CPU execution provider (numpy + onnxruntime only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgedistill.errors import UserError, first_line
from edgedistill.jsonio import parse_json
from edgedistill.profiles import MAX_TOKENS, SequencePolicy
from edgedistill.typed_config import from_mapping

# ONNX Runtime 1.32's CPU SkipLayerNormalization ran 6x slower (116 vs 18 us at 64x384, 1 thread)
# than the Add + LayerNormalization it replaces, so neither the export nor the device fuses them.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
# The model metadata key export stores the profile's sequence policy under: a dynamic graph holds no widths.
SEQUENCE_METADATA = "edgedistill.sequence"


class OnnxRuntimeSession:
    """Token ids in, float32 logits out; threads fixed when the session is created.

    Denormals are flushed to zero: softmax over padded positions yields denormal probabilities,
    which made int8 attention 1.6x slower. ONNX Runtime sets this on the creating thread (and
    threads it starts later) for good, so it also holds for other float code in this process.
    """

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
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
        # A failed run is also logged natively, in colour, on stderr before it is raised; the exception is what the
        # command reports (as one line), so the log keeps only what is fatal.
        options.log_severity_level = 4
        try:
            self._session = ort.InferenceSession(str(artifact), options, providers=["CPUExecutionProvider"],
                                                 disabled_optimizers=DISABLED_OPTIMIZERS)
        except (ort_errors.InvalidProtobuf, ort_errors.InvalidGraph, ort_errors.Fail) as exc:
            raise UserError(f"{artifact} is not a valid ONNX model ({first_line(exc, tail=True)}); "
                            "re-run export") from None
        except ort_errors.NotImplemented as exc:
            raise UserError(f"{artifact} needs a newer onnxruntime than {ort.__version__}: "
                            f"{first_line(exc, tail=True)}") from None
        inputs = self._session.get_inputs()
        self.input_names = [i.name for i in inputs]
        self.output_name = self._session.get_outputs()[0].name
        sequence_dim = inputs[0].shape[1] if len(inputs[0].shape) == 2 else None
        self.fixed_length = sequence_dim if isinstance(sequence_dim, int) else None
        self.sequence = self._sequence_policy(artifact)

    def _sequence_policy(self, artifact: Path) -> SequencePolicy:
        """A static graph's one width; else the policy export stored; else (a file without it) any width."""
        if self.fixed_length:
            return SequencePolicy.static([self.fixed_length])
        stored = self._session.get_modelmeta().custom_metadata_map.get(SEQUENCE_METADATA)
        if stored is None:
            return SequencePolicy(max_length=MAX_TOKENS)
        where = f"{artifact} metadata {SEQUENCE_METADATA}"
        policy = from_mapping(SequencePolicy, parse_json(stored.encode(), "sequence policy", where), where)
        policy.validate(where)
        return policy

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits of shape (batch, classes) of inputs at the width the file's sequence policy gives them; inputs
        are fed by name, so their order in the file is irrelevant."""
        input_ids, attention_mask = self.sequence.fit(input_ids, attention_mask)
        available = {"input_ids": input_ids, "attention_mask": attention_mask}
        feed = {name: np.ascontiguousarray(available[name], dtype=np.int64) for name in self.input_names}
        (logits,) = self._session.run([self.output_name], feed)
        return np.asarray(logits, dtype=np.float32)
