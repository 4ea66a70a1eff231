"""`edgedistill bench`: time a bundle on this device, like benchmark_model or onnxruntime_perf_test (no torch).

Load, first call, warm-up, then a steady state of at least `runs` calls and `seconds`
seconds at batch 1, with the profile's threads and core pinning. `bench_with_identity` adds who measured
(the device, the bundle's manifest digest): the result file `bench --out` writes and `results` merges.
"""

from __future__ import annotations

import dataclasses
import math
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.bundle.reader import Bundle, open_bundle
from edgedistill.check.affinity import pinned_to
from edgedistill.check.device_results import bench_result
from edgedistill.check.latency import elapsed_ms, summarize, time_steady_state
from edgedistill.check.memory import PeakMemory
from edgedistill.check.runner import load_session
from edgedistill.errors import UserError
from edgedistill.targets.registry import get_target
from edgedistill.text.encode import TextEncoder


@dataclass(frozen=True)
class BenchSettings:
    runs: int = 200
    seconds: float = 5.0
    warmup: int = 10
    length: int = 64
    threads: int | None = None

    def validate(self) -> None:
        if self.runs < 1 or not 0 <= self.seconds < math.inf or self.warmup < 0:
            raise UserError("--runs must be at least 1, --seconds a finite number of at least 0, and --warmup at least 0")
        if self.length < 2:
            raise UserError("--length must be at least 2 tokens")
        if self.threads is not None and self.threads < 1:
            raise UserError("--threads must be at least 1")


def bench_bundle(bundle: Path, settings: BenchSettings) -> dict[str, Any]:
    """Latency and memory of one bundle; `passed` is False when p90 exceeds the profile's budget."""
    settings.validate()
    return _bench(open_bundle(bundle), settings)


def bench_with_identity(bundle: Path, settings: BenchSettings) -> dict[str, Any]:
    """The bench result document: the figures, the device that measured them and the bundle they are of."""
    settings.validate()
    opened = open_bundle(bundle)
    return bench_result(opened, dataclasses.asdict(settings), _bench(opened, settings))


def _bench(opened: Bundle, settings: BenchSettings) -> dict[str, Any]:
    manifest = opened.manifest
    sequence, budgets = manifest.sequence_policy(), manifest.budget_limits()
    threads = settings.threads or manifest.threads
    target = get_target(manifest.runtime)
    problem = target.available()
    if problem:
        raise UserError(f"runtime {manifest.runtime} is not usable here: {problem}")
    text = max((case.text for case in opened.golden), key=len)

    with pinned_to(manifest.cpu_affinity) as applied, PeakMemory() as memory:
        session, load_ms = load_session(target, opened.model_path, threads)
        length = sequence.width_for(min(settings.length, sequence.longest), session.fixed_length)
        ids, mask = TextEncoder(opened.tokenizer_json, length).encode([text], pad_to=length)
        first_ms = elapsed_ms(lambda: session.run(ids, mask))[1]
        for _ in range(settings.warmup):
            session.run(ids, mask)
        samples = time_steady_state(lambda: session.run(ids, mask), settings.runs, settings.seconds)

    latency = summarize(samples)
    budget = budgets.p90_latency_ms
    return {
        "bundle": str(opened.path), "runtime": manifest.runtime, "recipe": opened.recipe, "precision": manifest.precision,
        "size_bytes": opened.model_path.stat().st_size,
        "machine": platform.machine(), "platform": platform.platform(),
        "threads": threads, "cpu_affinity": {"requested": list(manifest.cpu_affinity), "applied": applied},
        "length": length, "length_requested": settings.length, "warmup": settings.warmup,
        "load_ms": load_ms, "first_ms": first_ms, "latency_ms": latency,
        "memory": memory.as_dict(),
        "budget_p90_ms": budget,
        "passed": budget is None or latency["p90"] <= budget,
    }
