"""The artifacts `headline.py` times: ours through `edgedistill export`, and what a user would build instead.

Each builder returns an `Artifact`, or raises; the caller records the reason and goes on. Everything is built
once under the work folder and reused by later runs (delete the folder to rebuild). Peer tools that cannot
install beside our pins run in their own tool environment (`edgedistill.toolenvs`), as a subprocess fed the
same student directory; what they write is timed in this environment's runtimes, like our bundles.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from targets_large_mr import export_teacher, kept_bundle

from edgedistill.export.pipeline import ExportRequest, run_export
from edgedistill.jsonio import read_json, write_json
from edgedistill.targets.registry import get_target, load_profile

PROFILE = "x86-64-host"
PEERS = Path(__file__).resolve().parent / "peers"
RECORD = "artifact.json"  # beside a built peer artifact: what built it and how long it took


@dataclass(frozen=True)
class Artifact:
    """One row to time: `kind` says how the timing worker opens `path` (see headline_worker.py)."""

    name: str
    model: str  # "teacher" or "student"
    runtime: str  # "pytorch", "onnxruntime", "executorch", "tflite"
    precision: str
    kind: str
    path: Path
    tokenizer: Path
    file: Path  # the model file whose size is reported
    origin: str  # "edgedistill", or the peer tool that built it
    details: dict[str, Any] = field(default_factory=dict)

    def worker_row(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "path": str(self.path), "tokenizer": str(self.tokenizer)}


def pytorch(model: str, model_dir: Path) -> Artifact:
    return Artifact(f"{model}-pytorch-fp32", model, "pytorch", "fp32", "pytorch", model_dir, model_dir / "tokenizer.json",
                    model_dir / "model.safetensors", "transformers")


def teacher_onnx(teacher_dir: Path) -> Artifact:
    """The teacher through our ONNX Runtime fp32 recipe, exported once where `targets_large_mr.py` keeps it."""
    bundle = export_teacher(teacher_dir.parent)  # it reads <work>/teacher
    manifest = read_json(bundle / "manifest.json")
    return Artifact("teacher-onnxruntime-fp32", "teacher", "onnxruntime", "fp32", "bundle", bundle,
                    bundle / "tokenizer.json", bundle / manifest["model"], "edgedistill")


def ours(student_dir: Path, work: Path, runtime: str, precision: str) -> Artifact:
    """What `edgedistill export --runtime RUNTIME` keeps among that runtime's default recipes of one precision."""
    profile = load_profile(PROFILE)
    target = get_target(runtime)
    recipes = [target.recipe(name, profile) for name in target.default_recipes]
    recipes = [recipe for recipe in recipes if recipe.precision == precision]
    if not recipes:
        raise ValueError(f"{runtime} has no {precision} recipe")
    out = work / f"student-{runtime}-{precision}"
    if not (out / "export_report.json").is_file():
        run_export(ExportRequest(student_dir=student_dir, profile=PROFILE, out_dir=out, runtime=runtime, recipes=recipes))
    return _bundle_artifact(f"student-{runtime}-{precision}", "student", runtime, precision, out)


def _bundle_artifact(name: str, model: str, runtime: str, precision: str, out: Path) -> Artifact:
    report = read_json(out / "export_report.json")
    entry = report["runtimes"][runtime]
    if not entry.get("bundle"):
        raise RuntimeError(f"export kept no bundle: {entry.get('error')}")
    bundle = kept_bundle(out, runtime)
    manifest = read_json(bundle / "manifest.json")
    return Artifact(name, model, runtime, precision, "bundle", bundle, bundle / "tokenizer.json", bundle / manifest["model"],
                    "edgedistill", {"recipe": manifest["quantization"]["recipe"], "export_s": report["total_s"],
                                    "candidates": [c.get("recipe") for c in entry.get("candidates", [])]})


def _peer(name: str, runtime: str, kind: str, student_dir: Path, work: Path, origin: str, build) -> Artifact:
    """A peer artifact built once by `build(out_dir) -> (file, details)`; its record makes reruns reuse it."""
    out = work / name
    record = out / RECORD
    if not record.is_file():
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        file, details = build(out)
        write_json(record, {"file": str(file), "build_s": round(time.perf_counter() - started, 1), **details})
    recorded = read_json(record)
    file = Path(recorded["file"])
    return Artifact(name, "student", runtime, "int8", kind, file, student_dir / "tokenizer.json", file, origin, recorded)


def by_hand_onnx(student_dir: Path, work: Path) -> Artifact:
    """`torch.onnx.export` of the Hugging Face model, then ONNX Runtime's `quantize_dynamic` with its defaults."""

    def build(out: Path) -> tuple[Path, dict[str, Any]]:
        import torch
        from onnxruntime.quantization import quantize_dynamic
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(student_dir).eval()
        ids = torch.ones((1, 64), dtype=torch.long)
        exported, quantized = out / "model.onnx", out / "model-int8.onnx"
        torch.onnx.export(model, (ids, torch.ones_like(ids)), exported, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                                                 "attention_mask": {0: "batch", 1: "sequence"}})
        quantize_dynamic(exported, quantized)
        return quantized, {"steps": ["torch.onnx.export (defaults)", "onnxruntime.quantization.quantize_dynamic (defaults)"]}

    return _peer("peer-by-hand-onnxruntime-int8", "onnxruntime", "onnx", student_dir, work, "by hand", build)


def litert_torch_plain(student_dir: Path, work: Path) -> Artifact:
    """`litert_torch.convert` of the Hugging Face model with its dynamic int8 recipe, default arguments."""

    def build(out: Path) -> tuple[Path, dict[str, Any]]:
        import litert_torch
        import torch
        from litert_torch.generative.quantize import quant_recipes
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(student_dir, attn_implementation="eager").eval()
        ids = torch.ones((1, 64), dtype=torch.long)
        converted = litert_torch.convert(model, (ids, torch.ones_like(ids)), quant_config=quant_recipes.full_dynamic_recipe())
        file = out / "model-int8.tflite"
        converted.export(str(file))
        return file, {"steps": ["litert_torch.convert(model, sample_args, quant_config=full_dynamic_recipe())"]}

    return _peer("peer-litert-torch-tflite-int8", "tflite", "tflite", student_dir, work, "litert-torch", build)


def optimum_onnx(student_dir: Path, work: Path, config: str) -> Artifact:
    """Optimum's ONNX export plus `ORTQuantizer` with `AutoQuantizationConfig.<config>(is_static=False)`."""
    return _toolenv_peer(f"peer-optimum-{config.replace('_', '-')}-onnxruntime-int8", "onnxruntime", "onnx",
                         "optimum-onnx", "optimum_onnx_export.py", [config], student_dir, work)


def optimum_executorch(student_dir: Path, work: Path) -> Artifact:
    """optimum-executorch's XNNPACK recipe."""
    return _toolenv_peer("peer-optimum-executorch-xnnpack", "executorch", "pte", "optimum-executorch",
                         "optimum_executorch_export.py", [], student_dir, work)


def _toolenv_peer(name: str, runtime: str, kind: str, env_name: str, script: str, extra: list[str], student_dir: Path,
                  work: Path) -> Artifact:
    from edgedistill.toolenvs.known import KNOWN
    from edgedistill.toolenvs.venv import venv_environ

    env = KNOWN[env_name]
    path = env.require()

    def build(out: Path) -> tuple[Path, dict[str, Any]]:
        command = [str(path / "bin" / "python"), str(PEERS / script), str(student_dir), str(out), *extra]
        completed = subprocess.run(command, env=venv_environ(path), capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            lines = [line for line in (completed.stderr + completed.stdout).splitlines() if line.strip()]
            raise RuntimeError(f"{script} failed: {(lines or ['no output'])[-1][:300]}")
        answer = read_json(out / "peer.json")
        drift = _probe_drift(student_dir, answer.pop("probe_ids"), answer.pop("probe_logits"))
        return Path(answer.pop("file")), {**answer, "toolenv": env_name, "toolenv_versions": env.versions(),
                                          "fp32_logits_max_abs_diff_vs_main_transformers": drift}

    return _peer(name, runtime, kind, student_dir, work, env_name, build)


def _probe_drift(student_dir: Path, ids: list[list[int]], logits: list[list[float]]) -> float:
    """How far the tool environment's transformers put the student's fp32 logits from ours, on the same ids:
    a student saved by transformers 5 must load the same in the peer's version."""
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(student_dir).eval()
    with torch.inference_mode():
        tokens = torch.tensor(ids)
        ours = model(input_ids=tokens, attention_mask=torch.ones_like(tokens)).logits.numpy()
    return float(np.abs(ours - np.asarray(logits)).max())
