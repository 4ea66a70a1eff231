"""One timing process of `headline.py`: every artifact loaded at one thread count, timed on request.

ExecuTorch sizes one process-wide threadpool before any program loads, so each thread count gets its own
process; the parent takes turns between the processes and between the artifacts in them, so machine noise
lands on all of them alike. Requests and answers are JSON lines on stdin/stdout:

    {"op": "load", "rows": [{"name", "kind", "path", "tokenizer"}, ...], "text": T, "length": 64}
    {"op": "score", "texts": [...]}          -> {"argmax": {name: [label, ...]}}
    {"op": "time", "name": N, "calls": K}    -> {"ms": [...]}

Kinds: `pytorch` (a model directory, eager fp32), `bundle` (an edgedistill bundle in its own runtime),
`onnx` / `tflite` / `pte` (a peer tool's file, run in the same runtime our bundles use) and `gemm` (an ONNX
MatMul/MatMulInteger model that takes no text: the ceiling).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from edgedistill.check.latency import elapsed_ms
from edgedistill.check.runner import load_session
from edgedistill.errors import first_line
from edgedistill.targets.registry import get_target
from edgedistill.text.encode import TextEncoder

WARMUP_CALLS = 5


class EagerSession:
    """A model directory in PyTorch eager fp32, as the teacher is trained and served."""

    def __init__(self, model_dir: Path, threads: int):
        import torch

        from edgedistill.model.wrapper import load_exportable

        torch.set_num_threads(threads)
        self._torch = torch
        self._model = load_exportable(model_dir)

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            return self._model(self._torch.from_numpy(input_ids), self._torch.from_numpy(attention_mask)).numpy()


class PeerOnnxSession:
    """A peer's .onnx in ONNX Runtime with exactly our bundles' session options, so only the graph differs.

    Peer exports keep Hugging Face's inputs, `token_type_ids` included (all zero for one text).
    """

    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        from edgedistill.targets.onnxruntime.runtime import DISABLED_OPTIMIZERS

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                             disabled_optimizers=DISABLED_OPTIMIZERS)
        self._inputs = [item.name for item in self._session.get_inputs()]
        self._output = self._session.get_outputs()[0].name

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        available = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": np.zeros_like(input_ids)}
        feed = {name: available[name].astype(np.int64) for name in self._inputs}
        return np.asarray(self._session.run([self._output], feed)[0], dtype=np.float32)


class PeerTfliteSession:
    """A plain litert-torch .tflite (positional inputs args_0, args_1 in the order they were traced)."""

    def __init__(self, path: Path, threads: int):
        from edgedistill.targets.tflite.runtime import interpreter_class

        self._interpreter = interpreter_class()(model_path=str(path), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._inputs = sorted(self._interpreter.get_input_details(), key=lambda detail: detail["name"])
        self._output = self._interpreter.get_output_details()[0]["index"]

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        for detail, value in zip(self._inputs, (input_ids, attention_mask), strict=True):
            self._interpreter.set_tensor(detail["index"], value.astype(detail["dtype"]))
        self._interpreter.invoke()
        return np.asarray(self._interpreter.get_tensor(self._output), dtype=np.float32)


class PeerPteSession:
    """A peer's .pte through ExecuTorch's Python runtime; `forward` takes (input_ids, attention_mask)."""

    def __init__(self, path: Path, threads: int):
        import torch
        from executorch.runtime import Runtime

        from edgedistill.targets.executorch.runtime import runtime_module, set_threads

        set_threads(threads)
        runtime_module()
        self._torch = torch
        self._method = Runtime.get().load_program(Path(path)).load_method("forward")

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        outputs = self._method.execute([self._torch.from_numpy(input_ids), self._torch.from_numpy(attention_mask)])
        return np.asarray(outputs[0], dtype=np.float32)


class GemmSession:
    """A one-op ONNX GEMM on fixed random operands; the text inputs are ignored."""

    def __init__(self, path: Path, threads: int):
        self._session = PeerOnnxSession(path, threads)._session
        rng = np.random.default_rng(0)
        self._feed = {item.name: _random_operand(rng, item) for item in self._session.get_inputs()}

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self._session.run(None, self._feed)[0]


def _random_operand(rng: np.random.Generator, item) -> np.ndarray:
    shape = tuple(item.shape)
    if item.type == "tensor(uint8)":
        return rng.integers(0, 255, shape, dtype=np.uint8)
    if item.type == "tensor(int8)":
        return rng.integers(-127, 127, shape, dtype=np.int8)
    return rng.standard_normal(shape, dtype=np.float32)


def open_session(row: dict[str, Any], threads: int):
    kind, path = row["kind"], Path(row["path"])
    if kind == "pytorch":
        return EagerSession(path, threads)
    if kind == "bundle":
        from edgedistill.bundle.reader import open_bundle

        bundle = open_bundle(path)
        return load_session(get_target(bundle.manifest.runtime), bundle.model_path, threads)[0]
    sessions = {"onnx": PeerOnnxSession, "tflite": PeerTfliteSession, "pte": PeerPteSession, "gemm": GemmSession}
    return sessions[kind](path, threads)


class Worker:
    def __init__(self, threads: int):
        self.threads = threads
        self.sessions: dict[str, Any] = {}
        self.inputs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.encoders: dict[str, TextEncoder] = {}
        self.tokenizers: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def load(self, rows: list[dict[str, Any]], text: str, length: int) -> dict[str, Any]:
        self.length = length
        for row in rows:
            try:
                session = open_session(row, self.threads)
                tokenizer = row.get("tokenizer") or ""
                inputs = self.encode([text], tokenizer)[0] if tokenizer else (np.zeros((1, 1), np.int64),) * 2
                for _ in range(WARMUP_CALLS):
                    session.run(*inputs)
            except Exception as exc:  # one broken artifact must not cost the others
                self.errors[row["name"]] = f"{type(exc).__name__}: {first_line(exc)}"
                continue
            self.sessions[row["name"]], self.inputs[row["name"]] = session, inputs
            self.tokenizers[row["name"]] = tokenizer
        return {"loaded": sorted(self.sessions), "errors": self.errors}

    def encode(self, texts: list[str], tokenizer: str) -> list[tuple[np.ndarray, np.ndarray]]:
        if tokenizer not in self.encoders:
            self.encoders[tokenizer] = TextEncoder(Path(tokenizer), self.length)
        encoder = self.encoders[tokenizer]
        return [encoder.encode([text], pad_to=self.length) for text in texts]

    def score(self, texts: list[str]) -> dict[str, Any]:
        """Argmax per text, every text at batch 1 padded to the timing length."""
        argmax = {}
        for name, session in self.sessions.items():
            if self.tokenizers[name]:
                examples = self.encode(texts, self.tokenizers[name])
                argmax[name] = [int(np.argmax(session.run(ids, mask)[0])) for ids, mask in examples]
        return {"argmax": argmax}

    def time(self, name: str, calls: int) -> dict[str, Any]:
        session, inputs = self.sessions[name], self.inputs[name]
        return {"ms": [elapsed_ms(lambda: session.run(*inputs))[1] for _ in range(calls)]}


def main() -> None:
    # Runtimes print to stdout; answers get a private copy of it, and fd 1 goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    worker = Worker(int(sys.argv[1]))
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        answers.write(json.dumps(getattr(worker, op)(**request)) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
