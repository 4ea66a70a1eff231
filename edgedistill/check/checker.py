"""`edgedistill check`: re-measure a bundle in its runtime and hold it to its budgets (no torch).

One check, run here or on another ISA: `arch="arm64"` on an x86 host runs this same code in the emulated arm64
Python (check/emulated.py), so accuracy and parity come from Arm kernels.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.bundle.reader import Bundle, open_bundle
from edgedistill.check.evaluation import TaskScoring, load_task_splits, scoring_for
from edgedistill.check.latency import summarize
from edgedistill.check.parity import golden_parity, tokenizer_matches
from edgedistill.check.runner import load_session, run_timed
from edgedistill.data.dataset import DataSpec, LabelledTexts
from edgedistill.data.sources import BUILTIN_PREFIX, read_labelled
from edgedistill.data.tagged import TaggedSentences, read_tagged_file
from edgedistill.errors import UserError
from edgedistill.metrics import drop_points
from edgedistill.profiles import exceeds_drop_budget, host_isa
from edgedistill.targets.registry import get_target
from edgedistill.tasks.kinds import TOKEN_TASK
from edgedistill.typed_config import from_mapping


@dataclass
class BundleRun:
    """A check's report with the rows behind it (a text's logits, or a word's), for comparing two ISAs."""

    report: dict[str, Any]
    logits: np.ndarray  # (rows, classes)
    # What each row is about, for showing the rows that differ: its text (or word in its sentence) and label.
    row_texts: list[str]
    row_labels: list[int]


def run_check(bundle: Path, data: str | None = None, text_column: str = "text", label_column: str = "label") -> BundleRun:
    """The check on this machine, with its rows."""
    opened = open_bundle(bundle)
    manifest = opened.manifest
    sequence, budgets = manifest.sequence_policy(), manifest.budget_limits()
    scoring = scoring_for(manifest.task_kind, opened.labels)
    test, source = _test_set(opened, scoring, data, text_column, label_column)

    target = get_target(manifest.runtime)
    session, load_ms = load_session(target, opened.model_path, manifest.threads)
    encoded = scoring.encode(opened.tokenizer_json, scoring.items(test), sequence, session.fixed_length)
    run = run_timed(session, encoded.examples)
    rows = encoded.rows(run.outputs)
    parity = golden_parity(session, opened.golden, target.tolerance(manifest.precision))

    metric = scoring.metric
    scores = scoring.score(rows, test)
    measured, recorded = scores[metric], float(manifest.metrics[metric])
    reference = float(manifest.metrics[f"reference_{metric}"])
    # Export chose this recipe on the validation split (the test split is only reported), so the gate here is
    # that this runtime, on this machine, reproduces the figure export recorded for this very bundle, within the
    # budget; the drop below the fp32 student on the test split is reported beside it.
    drift_points = drop_points(measured, recorded)
    gates = {
        metric: not exceeds_drop_budget(drift_points, budgets),
        "parity": parity["passed"],
        "tokenizer": tokenizer_matches(opened.tokenizer_json, opened.golden),
    }
    report = {
        "bundle": str(bundle), "runtime": manifest.runtime, "recipe": opened.recipe, "precision": manifest.precision,
        "task": scoring.task, "metric": metric, "data": source, "examples": len(test),
        **scores, f"reference_{metric}": reference, f"manifest_{metric}": recorded,
        f"{metric}_drop_points": drop_points(measured, reference), "drift_from_export_points": drift_points,
        "max_accuracy_drop": budgets.max_accuracy_drop,
        "parity": parity,
        "latency_ms": {"load": load_ms, "first": run.first_ms, **summarize(run.samples_ms)},
        "gates": gates,
        "passed": all(value for value in gates.values() if value is not None),
        "isa": host_isa(), "machine": platform.machine(),
    }
    texts, labels = _row_subjects(scoring, test)
    return BundleRun(report, scoring.flat(rows), texts, labels)


def _row_subjects(scoring: TaskScoring, test) -> tuple[list[str], list[int]]:
    """Each row's text and label id: the test texts, or each kept word in its sentence with its tag."""
    if scoring.task != TOKEN_TASK:
        return test.texts, test.labels
    index = {tag: number for number, tag in enumerate(scoring.labels)}
    texts, labels = [], []
    for words, tags in zip(test.tokens, test.tags):
        for position, (word, tag) in enumerate(zip(words, tags)):
            texts.append(f"{word} (word {position} of: {' '.join(words)})")
            labels.append(index[tag])
    return texts, labels


def _test_set(bundle: Bundle, scoring: TaskScoring, data: str | None, text_column: str,
              label_column: str) -> tuple[LabelledTexts | TaggedSentences, str]:
    """`--data` in full, else the bundle's own test split re-derived from its data spec."""
    if data is not None:
        return _read_data(bundle, scoring, data, text_column, label_column), data
    spec = from_mapping(DataSpec, bundle.manifest.data, f"{bundle.path} manifest data")
    for source in (spec.source, spec.test_source):
        if source and not source.startswith(BUILTIN_PREFIX) and not Path(source).is_file():
            raise UserError(f"the bundle's test data {source} is not on this machine; pass --data FILE")
    return load_task_splits(spec, scoring.task, bundle.labels).test, f"{spec.source} (test split)"


def _read_data(bundle: Bundle, scoring: TaskScoring, data: str, text_column: str, label_column: str):
    if scoring.task == TOKEN_TASK:
        sentences = read_tagged_file(data)
        unknown = sorted({tag for tags in sentences.tags for tag in tags} - set(bundle.labels))
        if unknown:
            raise UserError(f"{data}: tag {unknown[0]!r} is not one of the bundle's tags ({', '.join(bundle.labels)})")
        return sentences
    texts, raw = read_labelled(data, text_column, label_column)
    index = {name: i for i, name in enumerate(bundle.labels)}
    unknown = sorted(set(raw) - set(index))
    if unknown:
        raise UserError(f"{data}: label {unknown[0]!r} is not one of the bundle's labels ({', '.join(bundle.labels)})")
    return LabelledTexts(texts, [index[label] for label in raw])
