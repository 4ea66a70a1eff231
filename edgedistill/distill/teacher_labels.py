"""Labelling texts with the teacher, in whichever runtime is faster on this machine.

Augmentation multiplies the texts the teacher must label, so this is where a distillation run's
first minutes go. The texts are sorted by length and batched, so a batch pads little. With
`runtime="auto"` and enough texts to pay for an export, the teacher is exported once to fp32 ONNX
(cached beside the logit cache) and a few batches from across the length range are timed in
PyTorch and in ONNX Runtime, interleaved; the faster runtime labels the rest. ONNX Runtime is used
only when its logits agree with PyTorch's within `LOGIT_TOLERANCE` on those batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from edgedistill.distill.batches import EncodedTexts, collate, encode_texts, inference_batches, load_tokenizer
from edgedistill.distill.console import log, progress
from edgedistill.errors import UserError
from edgedistill.fsutil import exclusive_lock

Runtime = Literal["auto", "torch", "onnxruntime"]
RUNTIMES = ("auto", "torch", "onnxruntime")
BATCH_SIZE = 64
# Below this many texts an ONNX export (a minute for a base-size teacher) costs more than it can save.
AUTO_MIN_TEXTS = 4000
# fp32 ONNX Runtime and PyTorch differ by summation order only: about 1e-5 on logits of a few units.
LOGIT_TOLERANCE = 1e-3
TRIAL_BATCHES = 3  # from the 25th, 50th and 75th length percentiles
TRIAL_ROUNDS = 2
# Labels are handed over (to the cache) every this many batches, so a killed run keeps what it labelled.
CHUNK_BATCHES = 64

Predict = Callable[[EncodedTexts, np.ndarray], np.ndarray]
OnChunk = Callable[[np.ndarray, np.ndarray], None]


@dataclass
class LabellingReport:
    """What labelling cost, for metrics.json: the runtime, the texts, the seconds and the trial that chose."""

    runtime: str = "cached"
    texts: int = 0
    seconds: float = 0.0
    trial: dict = field(default_factory=dict)

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "texts_per_second": round(self.texts_per_second, 1)}


def label_texts(teacher_dir: Path, texts: list[str], max_length: int, onnx_path: Path, runtime: Runtime = "auto",
                show_progress: bool = True, on_chunk: OnChunk | None = None) -> tuple[np.ndarray, LabellingReport]:
    """float32 logits [len(texts), classes] of the teacher, and how they were made; `onnx_path` is where the
    teacher's ONNX export is kept (made on first use). `on_chunk(rows, logits)` receives the labels as they come,
    every `CHUNK_BATCHES` batches."""
    from edgedistill.distill.distributed import training_device
    from edgedistill.model.classifiers import load_trained_classifier

    if runtime not in RUNTIMES:
        raise UserError(f"--teacher-runtime must be one of {', '.join(RUNTIMES)} (got {runtime!r})")
    started = time.perf_counter()
    encoded = encode_texts(load_tokenizer(teacher_dir), texts, max_length)
    batches = inference_batches(encoded.lengths, BATCH_SIZE)
    model = load_trained_classifier(teacher_dir).to(training_device())
    predict, trial = torch_predictor(model), {}
    on_cpu = next(model.parameters()).device.type == "cpu"
    if runtime == "onnxruntime" or (runtime == "auto" and on_cpu and len(texts) >= AUTO_MIN_TEXTS):
        chosen, trial = _choose(model, onnx_path, teacher_dir, encoded, batches, forced=runtime == "onnxruntime")
        predict = chosen or predict
    name = trial.get("chosen", "torch")
    logits = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    done: list[np.ndarray] = []
    for index, rows in enumerate(progress(batches, f"teacher labels ({len(texts)} texts, {name})", enabled=show_progress)):
        logits[rows] = predict(encoded, rows)
        done.append(rows)
        if on_chunk is not None and (len(done) == CHUNK_BATCHES or index == len(batches) - 1):
            chunk = np.concatenate(done)
            on_chunk(chunk, logits[chunk])
            done = []
    return logits, LabellingReport(name, len(texts), time.perf_counter() - started, trial)


def torch_predictor(model: torch.nn.Module) -> Predict:
    model.eval()
    device = next(model.parameters()).device

    def predict(encoded: EncodedTexts, rows: np.ndarray) -> np.ndarray:
        batch = collate(encoded, rows).to(device)
        with torch.inference_mode():
            return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits.float().cpu().numpy()

    return predict


def onnxruntime_predictor(onnx_path: Path) -> Predict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def predict(encoded: EncodedTexts, rows: np.ndarray) -> np.ndarray:
        batch = collate(encoded, rows)
        feeds = {"input_ids": batch.input_ids.numpy(), "attention_mask": batch.attention_mask.numpy()}
        return session.run(["logits"], feeds)[0].astype(np.float32)

    return predict


def _choose(model, onnx_path: Path, teacher_dir: Path, encoded: EncodedTexts, batches: list[np.ndarray],
            forced: bool) -> tuple[Predict | None, dict]:
    """ONNX Runtime's predictor when it is faster (or `forced`) and agrees with PyTorch; else None (PyTorch)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        log("teacher labels: onnxruntime is not installed; labelling in PyTorch")
        return None, {"chosen": "torch", "reason": "onnxruntime is not installed"}
    onnx_path = _exported(teacher_dir, onnx_path)
    runtimes = {"torch": torch_predictor(model), "onnxruntime": onnxruntime_predictor(onnx_path)}
    trial = _trial(runtimes, encoded, [batches[int(q * (len(batches) - 1))] for q in (0.25, 0.5, 0.75)])
    if trial["max_abs_logit_difference"] > LOGIT_TOLERANCE:
        trial.update(chosen="torch", reason=f"ONNX Runtime's logits differ by {trial['max_abs_logit_difference']:.2g} "
                                            f"(tolerance {LOGIT_TOLERANCE})")
    elif forced or trial["seconds"]["onnxruntime"] < trial["seconds"]["torch"]:
        trial.update(chosen="onnxruntime", reason="requested" if forced else "faster")
    else:
        trial.update(chosen="torch", reason="faster")
    log(f"teacher labels: {trial['chosen']} ({trial['reason']}; trial: PyTorch {trial['seconds']['torch']:.2f} s, "
        f"ONNX Runtime {trial['seconds']['onnxruntime']:.2f} s, max |Δ logit| {trial['max_abs_logit_difference']:.1g})")
    return (runtimes["onnxruntime"] if trial["chosen"] == "onnxruntime" else None), trial


def _trial(runtimes: dict[str, Predict], encoded: EncodedTexts, batches: list[np.ndarray]) -> dict:
    """Seconds per runtime over `batches` (after one warm-up call each, rounds interleaved) and the largest
    logit difference between them."""
    outputs = {name: [predict(encoded, rows) for rows in batches] for name, predict in runtimes.items()}
    seconds = dict.fromkeys(runtimes, 0.0)
    for _round in range(TRIAL_ROUNDS):
        for name, predict in runtimes.items():
            started = time.perf_counter()
            for rows in batches:
                predict(encoded, rows)
            seconds[name] += time.perf_counter() - started
    first, second = outputs.values()
    difference = max(float(np.max(np.abs(a - b))) for a, b in zip(first, second))
    return {"seconds": {name: round(value / TRIAL_ROUNDS, 4) for name, value in seconds.items()},
            "batches": [len(rows) for rows in batches], "max_abs_logit_difference": difference}


def _exported(teacher_dir: Path, onnx_path: Path) -> Path:
    """The teacher as fp32 ONNX with dynamic axes, exported on first use (once, when ranks race)."""
    from edgedistill.model.onnx_export import export_onnx

    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(onnx_path.with_name(onnx_path.name + ".lock")):
        if not onnx_path.is_file():
            log(f"teacher labels: exporting the teacher to ONNX once ({onnx_path})")
            export_onnx(Path(teacher_dir), onnx_path)
    return onnx_path
