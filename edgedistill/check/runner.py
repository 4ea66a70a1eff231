"""Load an artifact in its runtime and run texts through it at batch 1, the way a device does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgedistill.check.latency import elapsed_ms
from edgedistill.errors import UserError, first_line
from edgedistill.profiles import SequencePolicy
from edgedistill.targets.base import Session, Target
from edgedistill.text.encode import TextEncoder

Example = tuple[np.ndarray, np.ndarray]  # (input_ids, attention_mask), each (1, width) int64


@dataclass
class TimedRun:
    outputs: list[np.ndarray]  # each example's raw output: (1, classes), or (1, width, tags) for words
    first_ms: float
    samples_ms: list[float]


def stacked(outputs: list[np.ndarray]) -> np.ndarray:
    """A text classifier's per-example outputs as one float32 (N, classes) array."""
    return np.concatenate([np.asarray(out, dtype=np.float32).reshape(1, -1) for out in outputs])


def load_session(target: Target, artifact: Path, threads: int) -> tuple[Session, float]:
    """The loaded session and its load time; a file the runtime rejects is a one-line error."""
    target.import_runtime()
    try:
        return elapsed_ms(lambda: target.load(artifact, threads))  # type: ignore[return-value]
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{target.name} cannot load {artifact.name} (corrupt or truncated?): "
                        f"{first_line(exc)}") from None


def encode_examples(tokenizer_json: Path, texts: list[str], sequence: SequencePolicy,
                    fixed_length: int | None = None) -> list[Example]:
    """One batch-1 example per text, truncated and padded as the sequence policy says."""
    encoder = TextEncoder(tokenizer_json, fixed_length or sequence.longest)
    return [padded_example(encoder, *encoder.encode([text]), sequence, fixed_length) for text in texts]


def padded_example(encoder: TextEncoder, ids: np.ndarray, mask: np.ndarray, sequence: SequencePolicy,
                   fixed_length: int | None) -> Example:
    """One encoded input padded (pad id, mask 0) to the width the sequence policy runs it at."""
    return sequence.fit(ids, mask, encoder.pad_id, fixed_length)


def run_timed(session: Session, examples: list[Example], warmup: int = 3) -> TimedRun:
    """Run every example once, timing each call; the first call and `warmup` untimed calls come first."""
    if not examples:
        raise UserError("no examples to run; the test set is empty")
    first_ms = elapsed_ms(lambda: session.run(*examples[0]))[1]
    for _ in range(warmup):
        session.run(*examples[0])
    outputs, samples = [], []
    for ids, mask in examples:
        logits, ms = elapsed_ms(lambda: session.run(ids, mask))
        outputs.append(np.asarray(logits, dtype=np.float32))
        samples.append(ms)
    return TimedRun(outputs, first_ms, samples)
