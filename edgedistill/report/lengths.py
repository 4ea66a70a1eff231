"""Latency against input length: a kept bundle timed in its own runtime from 8 tokens up to its profile's longest
(no torch).

Each input is padded as the bundle's sequence policy says, so a fixed 64-token bucket shows what it costs a
short text, and a dynamic policy shows what it saves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from edgedistill.bundle.reader import open_bundle
from edgedistill.check.affinity import pinned_to
from edgedistill.check.latency import summarize, time_steady_state
from edgedistill.check.runner import load_session
from edgedistill.targets.registry import get_target
from edgedistill.text.encode import TextEncoder

SHORTEST = 8


@dataclass(frozen=True)
class SweepSettings:
    """How long each length is timed: at least `runs` calls and `seconds`, after `warmup` untimed calls."""

    runs: int = 20
    seconds: float = 0.3
    warmup: int = 3


@dataclass(frozen=True)
class LengthPoint:
    tokens: int  # tokens in the text
    width: int  # the width it ran at (its bucket, or the artifact's static length)
    p50_ms: float
    p90_ms: float


@dataclass(frozen=True)
class LengthSweep:
    bundle: str
    runtime: str
    recipe: str
    threads: int
    points: list[LengthPoint]


def sweep_lengths(longest: int) -> list[int]:
    """8, 16, 32, ... below `longest`, then `longest` itself."""
    lengths, tokens = [], SHORTEST
    while tokens < longest:
        lengths.append(tokens)
        tokens *= 2
    return lengths + [longest]


def measure_lengths(bundle: Path, settings: SweepSettings) -> LengthSweep:
    """Time `bundle` at batch 1 with its profile's threads and cores, at every length of `sweep_lengths`."""
    opened = open_bundle(bundle)
    manifest = opened.manifest
    sequence = manifest.sequence_policy()
    target = get_target(manifest.runtime)
    # The golden texts repeated until every length is cut from real words of the task.
    text = " ".join(case.text for case in opened.golden)
    text = " ".join([text] * (sequence.longest // max(len(text.split()), 1) + 1))
    points = []
    with pinned_to(manifest.cpu_affinity):
        session, _ = load_session(target, opened.model_path, manifest.threads)
        for tokens in sweep_lengths(sequence.longest):
            encoder = TextEncoder(opened.tokenizer_json, tokens)
            width = sequence.width_for(tokens, session.fixed_length)
            ids, mask = encoder.encode([text], pad_to=width)
            call = partial(session.run, ids, mask)
            for _ in range(settings.warmup):
                call()
            latency = summarize(time_steady_state(call, settings.runs, settings.seconds))
            points.append(LengthPoint(int(mask.sum()), width, latency["p50"], latency["p90"]))
    return LengthSweep(Path(bundle).name, manifest.runtime, opened.recipe, manifest.threads, points)
