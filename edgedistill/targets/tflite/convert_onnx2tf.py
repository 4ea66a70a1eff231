"""Student → static-shape fp32 ONNX → TFLite through onnx2tf, run as a subprocess in its tool env.

onnx2tf needs a static ONNX (`-ois`), must leave the int token inputs untransposed
(`-kat`), and must rewrite Erf (`-rtpo Erf`): otherwise GELU becomes a TensorFlow Flex
op that LiteRT cannot run. Its full-int8 mode (`-oiqt`) is not offered: it calibrates
through float image-style normalisation and fails on int64 token inputs, and
quantizing the mask Add, Softmax and LayerNorm collapses accuracy anyway;
dynamic-range int8 (`-odrqt`) quantizes the weights of MatMul/FullyConnected only.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from functools import partial
from pathlib import Path

import numpy as np

from edgedistill.errors import UserError
from edgedistill.jsonio import read_json
from edgedistill.targets.tflite import drift
from edgedistill.toolenvs.known import ONNX2TF, ONNX2TF_PINS
from edgedistill.toolenvs.venv import venv_environ

VERSION = next(pin.split("==")[1] for pin in ONNX2TF_PINS if pin.startswith("onnx2tf=="))
_STEM = "static"
# onnx2tf writes every float variant in one run; each recipe keeps one of its files.
_OUTPUT_FILES = {
    "fp32": f"{_STEM}_float32.tflite",
    "fp16": f"{_STEM}_float16.tflite",
    "int8-dynamic": f"{_STEM}_dynamic_range_quant.tflite",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def flags(length: int, recipe: str) -> list[str]:
    """onnx2tf's command-line flags for a static `[1, length]` model and one recipe."""
    shape = ["-ois", f"input_ids:1,{length}", f"attention_mask:1,{length}",
             "-kat", "input_ids", "attention_mask", "-rtpo", "Erf", "-osd"]
    return shape + (["-odrqt"] if recipe == "int8-dynamic" else [])


def convert(student_dir: Path, artifact: Path, length: int, recipe: str) -> dict:
    """Write `artifact` for `recipe` and report flags and drift against the static ONNX in ONNX Runtime.

    onnx2tf's console output goes to `<artifact stem>.onnx2tf.log` beside the artifact; a failure
    raises a one-line UserError with its last error line and the log's path.
    """
    from edgedistill.model.onnx_export import export_onnx

    toolenv = ONNX2TF.require()
    log = artifact.with_name(f"{artifact.stem}.onnx2tf.log")
    with tempfile.TemporaryDirectory(prefix=".onnx2tf-", dir=artifact.parent) as scratch_dir:
        scratch = Path(scratch_dir)
        onnx_model = export_onnx(student_dir, scratch / f"{_STEM}.onnx", fixed_length=length)
        command_flags = flags(length, recipe)
        command = [str(toolenv / "bin" / "onnx2tf"), "-i", str(onnx_model), "-o", str(scratch / "out"), *command_flags]
        with open(log, "w", encoding="utf-8") as handle:
            exit_code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, cwd=scratch,
                                       env=venv_environ(toolenv)).returncode
        produced = scratch / "out" / _OUTPUT_FILES[recipe]
        if exit_code != 0 or not produced.is_file():
            raise UserError(f"onnx2tf failed (exit {exit_code}): {_last_error(log)}; full log: {log}")
        os.replace(produced, artifact)
        vocab_size = read_json(Path(student_dir) / "config.json", "model config")["vocab_size"]
        (diff,) = drift.max_abs_diff_by_length(artifact, vocab_size, [length], partial(_onnx_logits, onnx_model)).values()
    return {"converter": "onnx2tf", "converter_version": VERSION, "flags": command_flags, "max_abs_diff_vs_onnx": diff}


def _onnx_logits(model: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    rows = [session.run(["logits"], {"input_ids": ids[i:i + 1], "attention_mask": mask[i:i + 1]})[0]
            for i in range(len(ids))]
    return np.concatenate(rows, axis=0)


def _last_error(log: Path) -> str:
    """The last line of the log that names an error, without colour codes."""
    lines = [_ANSI.sub("", line).strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
    errors = [line for line in lines if "error" in line.lower() and line]
    return (errors or [line for line in lines if line] or ["no output"])[-1][:200]
