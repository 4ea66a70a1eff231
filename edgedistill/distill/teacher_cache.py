"""Teacher logits computed once per (teacher, texts, max_length) and cached on disk as safetensors.

Distillation reads the teacher's soft labels every epoch, and the QAT exporter needs them too;
a forward pass of the teacher over thousands of texts is the slowest part of a short run, so it
is done once. The key hashes everything the logits depend on: the teacher's weights, config and
tokenizer, the texts in order, and the truncation length.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from edgedistill.data.builtin import cache_dir as data_cache_dir
from edgedistill.distill.console import log
from edgedistill.fsutil import atomic_write_bytes, sha256_file

LOGITS_KEY = "logits"
KEYED_FILES = ("config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json")


def cache_dir() -> Path:
    """`$EDGEDISTILL_CACHE/teacher-logits`, default `~/.cache/edgedistill/teacher-logits`."""
    return data_cache_dir().parent / "teacher-logits"


def cache_key(teacher_dir: Path, texts: list[str], max_length: int) -> str:
    """sha256 over the teacher's weights, config and tokenizer, the texts and `max_length`."""
    teacher_dir = Path(teacher_dir)
    digest = hashlib.sha256()
    weights = sorted(teacher_dir.glob("*.safetensors"))
    for path in weights + [teacher_dir / name for name in KEYED_FILES if (teacher_dir / name).is_file()]:
        digest.update(f"{path.name}:{sha256_file(path)}\n".encode())
    digest.update(f"max_length:{max_length}\ntexts:{len(texts)}\n".encode())
    for text in texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return digest.hexdigest()


def teacher_logits(teacher_dir: Path, texts: list[str], max_length: int, batch_size: int = 64,
                   show_progress: bool = True) -> np.ndarray:
    """float32 logits [N, classes] of the classifier in `teacher_dir` on `texts`, from the cache when possible."""
    from safetensors.numpy import load_file, save

    path = cache_dir() / f"{cache_key(teacher_dir, texts, max_length)}.safetensors"
    if path.is_file():
        log(f"teacher logits: cache hit ({path})", show_progress)
        return load_file(str(path))[LOGITS_KEY]
    log(f"teacher logits: computing for {len(texts)} texts", show_progress)
    started = time.perf_counter()
    logits = _compute(Path(teacher_dir), texts, max_length, batch_size, show_progress)
    atomic_write_bytes(path, save({LOGITS_KEY: logits}))
    log(f"teacher logits: {time.perf_counter() - started:.1f} s, cached in {path}", show_progress)
    return logits


def _compute(teacher_dir: Path, texts: list[str], max_length: int, batch_size: int, show_progress: bool) -> np.ndarray:
    from edgedistill.distill.batches import encode_texts, load_tokenizer
    from edgedistill.distill.classifiers import load_trained_classifier
    from edgedistill.distill.distributed import training_device
    from edgedistill.distill.predict import predict_logits

    model = load_trained_classifier(teacher_dir).to(training_device())
    encoded = encode_texts(load_tokenizer(teacher_dir), texts, max_length)
    logits = predict_logits(model, encoded, batch_size, description="teacher logits", show_progress=show_progress)
    return np.ascontiguousarray(logits, dtype=np.float32)
