"""Measure one exported artifact in its real runtime on the validation and test splits and on unlabelled
in-domain texts (no torch here), scored as its task is (check/evaluation.py).

The validation figures, the expected accuracy drop over the validation and unlabelled texts
(check/drop_estimate.py) and the agreement on unlabelled texts decide whether a recipe is within budget; the
test figures are only reported (and recorded in the bundle, where `check` re-measures them), so selection
never reads the test split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.check.affinity import pinned_to
from edgedistill.check.drop_estimate import DropEstimate, estimate_drop
from edgedistill.check.evaluation import Split, TaskScoring
from edgedistill.check.latency import LatencyDistribution, summarize
from edgedistill.check.memory import PeakMemory
from edgedistill.check.runner import (
    Example,
    encode_examples,
    load_session,
    run_timed,
    stacked,
)
from edgedistill.metrics import agreement
from edgedistill.profiles import DeviceProfile
from edgedistill.targets.base import Target

# The fp32 student's raw outputs for the exact inputs an artifact ran on, one per example.
ReferenceFor = Callable[[list[Example]], list[np.ndarray]]


@dataclass
class Measurement:
    metrics: dict[str, Any]
    input_names: list[str]
    fixed_length: int | None
    # The shape of the per-call latencies behind metrics' p50/p90/p99, for the report (not the manifest).
    latency_distribution: LatencyDistribution
    # The expected accuracy drop over the validation and unlabelled texts; None where the metric is not accuracy.
    drop_estimate: DropEstimate | None = None


def measure_artifact(target: Target, artifact: Path, profile: DeviceProfile, tokenizer_json: Path, scoring: TaskScoring,
                     validation: Split, test: Split, unlabelled: list[str], reference_for: ReferenceFor) -> Measurement:
    """Load, run every validation, test and unlabelled item at batch 1 with the profile's threads and cores,
    and compare with the fp32 student."""
    items = scoring.items(validation) + scoring.items(test)
    with pinned_to(profile.cpu_affinity), PeakMemory() as memory:
        session, load_ms = load_session(target, artifact, profile.threads)
        labelled = scoring.encode(tokenizer_json, items, profile.sequence, session.fixed_length)
        extra = encode_examples(tokenizer_json, unlabelled, profile.sequence, session.fixed_length)
        run = run_timed(session, labelled.examples + extra)
    outputs, reference = run.outputs, reference_for(labelled.examples + extra)
    count = len(labelled.examples)
    rows, reference_rows = labelled.rows(outputs[:count]), labelled.rows(reference[:count])
    held_out = len(validation)
    on_validation = scoring.figures(rows[:held_out], reference_rows[:held_out], validation)
    on_test = scoring.figures(rows[held_out:], reference_rows[held_out:], test)
    on_unlabelled = ({"agreement": agreement(stacked(outputs[count:]), stacked(reference[count:])),
                      "examples": len(unlabelled)} if unlabelled else None)
    # A text's rows are its single output, so the validation texts' outputs lead and the unlabelled ones follow.
    estimate = (estimate_drop(stacked(reference[:held_out] + reference[count:]),
                              stacked(outputs[:held_out] + outputs[count:]), validation.labels)
                if scoring.metric == "accuracy" else None)
    latency = summarize(run.samples_ms)
    rss = memory.as_dict()
    metrics = {
        "metric": scoring.metric,
        **on_test,
        "validation": on_validation,
        "unlabelled": on_unlabelled,
        "size_bytes": Path(artifact).stat().st_size,
        "latency_ms": {"load": load_ms, "first": run.first_ms, "p50": latency["p50"], "p90": latency["p90"],
                       "p99": latency["p99"], "mean": latency["mean"]},
        "peak_rss_mb": rss["peak_rss_mb"],
        "peak_rss_delta_mb": rss["peak_rss_delta_mb"],
        "test_examples": len(test),
    }
    return Measurement(metrics, list(session.input_names), session.fixed_length, LatencyDistribution.of(run.samples_ms),
                       estimate)

