"""Measure one exported artifact in its real runtime on the validation and test splits and on unlabelled
in-domain texts (no torch here).

The validation figures and the agreement on unlabelled texts decide whether a recipe is within budget; the
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
from edgedistill.check.latency import LatencyDistribution, summarize
from edgedistill.check.memory import PeakMemory
from edgedistill.check.runner import Example, encode_examples, load_session, run_timed
from edgedistill.data.dataset import LabelledTexts
from edgedistill.metrics import accuracy, accuracy_drop_interval, agreement, macro_f1, max_abs_logit_diff
from edgedistill.targets.base import Target
from edgedistill.profiles import DeviceProfile

# fp32 student logits for the exact inputs an artifact ran on.
ReferenceFor = Callable[[list[Example]], np.ndarray]


@dataclass
class Measurement:
    metrics: dict[str, Any]
    input_names: list[str]
    fixed_length: int | None
    # The shape of the per-call latencies behind metrics' p50/p90/p99, for the report (not the manifest).
    latency_distribution: LatencyDistribution


def measure_artifact(target: Target, artifact: Path, profile: DeviceProfile, tokenizer_json: Path,
                     validation: LabelledTexts, test: LabelledTexts, unlabelled: list[str], num_classes: int,
                     reference_for: ReferenceFor) -> Measurement:
    """Load, run every validation, test and unlabelled text at batch 1 with the profile's threads and cores,
    and compare with the fp32 student."""
    with pinned_to(profile.cpu_affinity), PeakMemory() as memory:
        session, load_ms = load_session(target, artifact, profile.threads)
        examples = encode_examples(tokenizer_json, measured_texts(validation, test, unlabelled), profile.sequence, session.fixed_length)
        run = run_timed(session, examples)
    reference = reference_for(examples)
    held_out, labelled = len(validation), len(validation) + len(test)
    on_validation = _scores(run.logits[:held_out], reference[:held_out], validation.labels, num_classes)
    on_test = _scores(run.logits[held_out:labelled], reference[held_out:labelled], test.labels, num_classes)
    on_unlabelled = ({"agreement": agreement(run.logits[labelled:], reference[labelled:]), "examples": len(unlabelled)}
                     if unlabelled else None)
    latency = summarize(run.samples_ms)
    rss = memory.as_dict()
    metrics = {
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
    return Measurement(metrics, list(session.input_names), session.fixed_length, LatencyDistribution.of(run.samples_ms))


def measured_texts(validation: LabelledTexts, test: LabelledTexts, unlabelled: list[str]) -> list[str]:
    """Every text a candidate runs on, in the order its logits are split: validation, test, unlabelled."""
    return validation.texts + test.texts + unlabelled


def _scores(logits: np.ndarray, reference: np.ndarray, labels: list[int], num_classes: int) -> dict[str, Any]:
    return {"accuracy": accuracy(logits, labels), "macro_f1": macro_f1(logits, labels, num_classes),
            "reference_accuracy": accuracy(reference, labels), "agreement": agreement(logits, reference),
            "max_abs_logit_diff": max_abs_logit_diff(logits, reference), "examples": len(labels),
            "accuracy_drop_ci95_points": list(accuracy_drop_interval(logits, reference, labels))}
