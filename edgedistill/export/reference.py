"""What every recipe of every runtime is measured against, prepared once: the student, its splits, calibration
and agreement texts, golden vectors, and the fp32 student's outputs and test figure."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.bundle.golden import build_golden, pick_golden_sentences, pick_golden_texts
from edgedistill.check.evaluation import TaskScoring, load_task_splits, scoring_for
from edgedistill.check.runner import Example, encode_examples
from edgedistill.data.dataset import Splits
from edgedistill.data.tagged import TaggedSplits
from edgedistill.export.calibration import calibration_texts
from edgedistill.export.model_card import CardText
from edgedistill.export.unlabelled import InDomainTexts, in_domain_texts
from edgedistill.progress import say
from edgedistill.modeldir import read_data_spec, read_labels
from edgedistill.profiles import DeviceProfile
from edgedistill.tasks.kinds import TOKEN_TASK


@dataclass
class Prepared:
    """What every recipe of every runtime shares: the student, its splits, the reference, golden vectors."""

    student_dir: Path
    model: Any
    scoring: TaskScoring
    splits: Splits | TaggedSplits
    golden: dict[str, Any]
    calibration: list[str]
    # Unlabelled in-domain texts for the agreement budget and the expected accuracy drop, and where they came from.
    unlabelled: InDomainTexts
    # The fp32 student's task metric on the test split.
    reference_score: float
    reference_cache: dict[str, list[np.ndarray]]
    # For the model card: the exporter's own words, and what vocabulary pruning kept and cost.
    card_text: CardText = dataclasses.field(default_factory=CardText)
    pruning: dict[str, Any] | None = None

    def reference_for(self, examples: list[Example]) -> list[np.ndarray]:
        """fp32 student outputs for these exact inputs, computed once per distinct input set."""
        key = _inputs_key(examples)
        if key not in self.reference_cache:
            self.reference_cache[key] = _reference_outputs(self.model, examples)
        return self.reference_cache[key]


def prepare(student_dir: Path, profile: DeviceProfile, calibration: str | None) -> Prepared:
    """Load the student, its splits, calibration texts, golden vectors and fp32 reference outputs."""
    from edgedistill.model.classifiers import classifier_task
    from edgedistill.model.reference import reference_logits
    from edgedistill.model.wrapper import load_exportable

    scoring = scoring_for(classifier_task(student_dir), read_labels(student_dir))
    splits = load_task_splits(read_data_spec(student_dir), scoring.task, scoring.labels)
    texts = calibration_texts(calibration, splits.train)
    say(f"loading student {student_dir}")
    model = load_exportable(student_dir)
    words = scoring.task == TOKEN_TASK
    picked = pick_golden_sentences(splits.test.tokens) if words else pick_golden_texts(splits.test.texts)
    golden = build_golden(picked, student_dir / "tokenizer.json", profile.sequence,
                          lambda ids, mask: reference_logits(model, ids, mask), words=words)
    # The gates' unlabelled inputs are texts; a token classifier's agreement is read on its validation words.
    if words:
        unlabelled = InDomainTexts([], {}, ["a token classifier's agreement is read on its validation words"])
    else:
        unlabelled = in_domain_texts(student_dir, texts, calibration, set(splits.validation.texts + splits.test.texts))
    # The inputs every candidate is measured on, so the first measurement at the policy's own widths reuses
    # this fp32 pass instead of running the student again.
    items = scoring.items(splits.validation) + scoring.items(splits.test)
    labelled = scoring.encode(student_dir / "tokenizer.json", items, profile.sequence)
    examples = labelled.examples + encode_examples(student_dir / "tokenizer.json", unlabelled.texts, profile.sequence)
    reference = _reference_outputs(model, examples)
    rows = labelled.rows(reference[:len(labelled.examples)])
    test_score = scoring.score(rows[len(splits.validation):], splits.test)[scoring.metric]
    prepared = Prepared(student_dir, model, scoring, splits, golden, texts, unlabelled, test_score,
                        {_inputs_key(examples): reference})
    say(f"fp32 student: {scoring.metric} {test_score:.2%} on {len(splits.test)} test items; "
        f"{len(texts)} calibration texts; the gates read {len(unlabelled.texts):,} unlabelled texts: "
        f"{unlabelled.source}")
    for note in unlabelled.notes:
        say(note, "yellow")
    return prepared


def _inputs_key(examples: list[Example]) -> str:
    """A digest of the exact token ids and masks (not just their widths, which many input sets share)."""
    digest = hashlib.sha256()
    for ids, mask in examples:
        digest.update(np.ascontiguousarray(ids).tobytes() + b"|" + np.ascontiguousarray(mask).tobytes() + b";")
    return digest.hexdigest()


def _reference_outputs(model, examples: list[Example]) -> list[np.ndarray]:
    """Each example's fp32 output (batch 1), batched by width so the reference sees exactly the artifact's inputs."""
    from edgedistill.model.reference import reference_logits

    by_width: dict[int, list[int]] = defaultdict(list)
    for position, (ids, _) in enumerate(examples):
        by_width[ids.shape[1]].append(position)
    logits: list[np.ndarray | None] = [None] * len(examples)
    for positions in by_width.values():
        ids = np.concatenate([examples[i][0] for i in positions])
        mask = np.concatenate([examples[i][1] for i in positions])
        for position, row in zip(positions, reference_logits(model, ids, mask)):
            logits[position] = np.asarray(row, dtype=np.float32)[None]
    return logits
