"""Teacher logits computed once per text and cached on disk as safetensors.

Distillation reads the teacher's soft labels every epoch, and the QAT exporter needs them too;
a forward pass of a base-size teacher over tens of thousands of texts is the slowest part of a
run, so each text is done once. One cache file per teacher holds a sha256 of every text seen so
far beside its logits; a run computes only the texts it lacks, with the teacher's own tokenizer,
so students of any tokenizer, seed or transfer set share it. The file's key hashes everything
the logits depend on besides the text: the teacher's weights, config and tokenizer, and the
truncation length.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from edgedistill.data.builtin import cache_dir as data_cache_dir
from edgedistill.distill.console import log
from edgedistill.distill.teacher_labels import LabellingReport, Runtime, label_texts
from edgedistill.fsutil import atomic_write_bytes, exclusive_lock, sha256_file

LOGITS_KEY = "logits"
TEXTS_KEY = "text_sha256"
COUNTS_KEY = "rows_per_text"
WORD_SEPARATOR = "\x1f"  # joins a sentence's words into its cache key (Python counts it as whitespace, so split words never hold it)
KEYED_FILES = ("config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json")


def cache_dir() -> Path:
    """`$EDGEDISTILL_CACHE/teacher-logits`, default `~/.cache/edgedistill/teacher-logits`."""
    return data_cache_dir().parent / "teacher-logits"


def teacher_key(teacher_dir: Path, max_length: int) -> str:
    """sha256 over the teacher's weights, config and tokenizer files, and `max_length`."""
    digest = _model_digest(teacher_dir)
    digest.update(f"max_length:{max_length}\n".encode())
    return digest.hexdigest()


def model_key(teacher_dir: Path) -> str:
    """sha256 over the teacher's weights, config and tokenizer files: what its ONNX export and its neighbour
    table depend on."""
    return _model_digest(teacher_dir).hexdigest()


def _model_digest(teacher_dir: Path):
    teacher_dir = Path(teacher_dir)
    digest = hashlib.sha256()
    weights = sorted(teacher_dir.glob("*.safetensors"))
    for path in weights + [teacher_dir / name for name in KEYED_FILES if (teacher_dir / name).is_file()]:
        digest.update(f"{path.name}:{sha256_file(path)}\n".encode())
    return digest


def text_digests(texts: list[str]) -> np.ndarray:
    """sha256 of each text's UTF-8 bytes, as a [N, 32] uint8 array."""
    return np.frombuffer(b"".join(hashlib.sha256(text.encode("utf-8")).digest() for text in texts),
                         dtype=np.uint8).reshape(len(texts), 32)


def teacher_logits(teacher_dir: Path, texts: list[str], max_length: int, show_progress: bool = True,
                   runtime: Runtime = "auto") -> np.ndarray:
    """float32 logits [N, classes] of the classifier in `teacher_dir` on `texts`, from the cache where possible."""
    logits, _report = label_with_teacher(teacher_dir, texts, max_length, show_progress, runtime)
    return logits


def label_with_teacher(teacher_dir: Path, texts: list[str], max_length: int, show_progress: bool = True,
                       runtime: Runtime = "auto", shard: tuple[int, int] = (0, 1)) -> tuple[np.ndarray, LabellingReport]:
    """`teacher_logits`, and what labelling the missing texts cost. With `shard=(rank, processes)` this process
    labels only its share of the missing texts and adds them to the cache, returning no logits (an empty
    array): once every process has, the cache holds them all."""
    path = cache_dir() / f"{teacher_key(teacher_dir, max_length)}.safetensors"
    reports: list[LabellingReport] = []

    def compute(missing: list[str]) -> list[np.ndarray]:
        digests = text_digests(missing)

        def keep(rows: np.ndarray, logits: np.ndarray) -> None:  # a killed run keeps what it labelled
            _merge_into(path, {bytes(digests[row]): logits[i] for i, row in enumerate(rows)})

        logits, report = label_texts(Path(teacher_dir), missing, max_length,
                                     cache_dir() / f"{model_key(teacher_dir)}.onnx", runtime, show_progress, keep)
        reports.append(report)
        return list(logits)

    rows = _cached_rows(path, texts, compute, "texts", show_progress, share=shard)
    logits = np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), np.float32)
    return logits, (reports[0] if reports else LabellingReport())


def teacher_word_logits(teacher_dir: Path, sentences: list[list[str]], max_length: int, batch_size: int = 64,
                        show_progress: bool = True) -> list[np.ndarray]:
    """float32 logits (kept words, tags) per sentence of the token classifier in `teacher_dir`, at each word's
    first sub-token in the teacher's own tokenization; cached per sentence like `teacher_logits`."""
    path = cache_dir() / f"{teacher_key(teacher_dir, max_length)}-words.safetensors"
    keys = [WORD_SEPARATOR.join(words) for words in sentences]
    by_key = dict(zip(keys, sentences))

    def compute(missing: list[str]) -> list[np.ndarray]:
        from edgedistill.distill.batches import load_tokenizer
        from edgedistill.distill.token_task import encode_words, predict_word_logits

        model = _load_teacher(Path(teacher_dir))
        encoded = encode_words(load_tokenizer(teacher_dir, words=True), [by_key[key] for key in missing], max_length)
        return predict_word_logits(model, encoded, batch_size)

    return _cached_rows(path, keys, compute, "sentences", show_progress)


def _cached_rows(path: Path, keys: list[str], compute, what: str, show_progress: bool,
                 share: tuple[int, int] = (0, 1)) -> list[np.ndarray]:
    """The cached row of each key, computing (and caching) the missing ones with `compute(missing keys)`;
    with `share=(rank, processes)`, only every processes-th missing key from the rank-th, and nothing is returned."""
    digests = text_digests(keys)
    known = _read(path)
    missing = [index for index, digest in enumerate(map(bytes, digests)) if digest not in known]
    rank, processes = share
    missing = missing[rank::processes]
    if missing:
        log(f"teacher logits: computing {len(missing)} of {len(keys)} {what} ({len(keys) - len(missing)} cached)",
            show_progress)
        started = time.perf_counter()
        fresh = [np.ascontiguousarray(row, dtype=np.float32) for row in compute([keys[index] for index in missing])]
        known.update(zip(map(bytes, digests[missing]), fresh))
        _merge_into(path, {bytes(digests[index]): row for index, row in zip(missing, fresh)})
        log(f"teacher logits: {time.perf_counter() - started:.1f} s, cached in {path}", show_progress)
    elif processes == 1:
        log(f"teacher logits: all {len(keys)} {what} cached ({path})", show_progress)
    return [known[bytes(digest)] for digest in digests] if processes == 1 else []


def _read(path: Path) -> dict[bytes, np.ndarray]:
    """{digest: row}; a file of per-sentence rows stores them end to end with each one's length."""
    from safetensors.numpy import load_file

    if not path.is_file():
        return {}
    stored = load_file(str(path))
    rows = stored[LOGITS_KEY]
    if COUNTS_KEY in stored:
        rows = np.split(rows, np.cumsum(stored[COUNTS_KEY])[:-1])
    return dict(zip(map(bytes, stored[TEXTS_KEY]), rows))


def _merge_into(path: Path, rows: dict[bytes, np.ndarray]) -> None:
    """Add `rows` to the cache file under a lock, keeping what concurrent runs added meanwhile."""
    from safetensors.numpy import save

    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(path.with_name(path.name + ".lock")):
        merged = {**_read(path), **rows}
        digests = np.frombuffer(b"".join(merged), dtype=np.uint8).reshape(len(merged), 32)
        tensors = {TEXTS_KEY: np.ascontiguousarray(digests)}
        values = list(merged.values())
        if values[0].ndim == 2:  # per-sentence (words, tags) rows
            tensors[COUNTS_KEY] = np.array([len(value) for value in values], dtype=np.int64)
            tensors[LOGITS_KEY] = np.ascontiguousarray(np.concatenate(values), dtype=np.float32)
        else:
            tensors[LOGITS_KEY] = np.ascontiguousarray(np.stack(values), dtype=np.float32)
        atomic_write_bytes(path, save(tensors))


def _load_teacher(teacher_dir: Path):
    from edgedistill.distill.distributed import training_device
    from edgedistill.model.classifiers import load_trained_classifier

    return load_trained_classifier(teacher_dir).to(training_device())
