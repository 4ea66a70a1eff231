"""The unlabelled in-domain texts the export gates score, gathered once per export: the calibration texts (every text
of a --calibration file, not only the 200 that static recipes calibrate on), the student's transfer set, and the
augmented variants distillation trained on (`augment.file` in its metrics.json, rendered with the student's own
mask token). Never a validation or test text.

The agreement budget reads them, and so does the accuracy gate's expected drop (check/drop_estimate.py), whose
limit caps them in a seeded sample. A source this machine cannot read (a transfer set or augmented file left where
the student was distilled) is left out, and the report says so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.check.drop_estimate import UNLABELLED_LIMIT
from edgedistill.data.augment import read_augmented
from edgedistill.data.splits import load_unlabelled
from edgedistill.errors import UserError
from edgedistill.export.calibration import SAMPLE_SEED, read_calibration_set
from edgedistill.modeldir import METRICS_FILE, read_distill_record, read_metrics
from edgedistill.text.encode import config_token


@dataclass(frozen=True)
class InDomainTexts:
    texts: list[str]
    # Distinct texts each source added, before the sample, by source.
    offered: dict[str, int]
    # What was left out, and why.
    notes: list[str]

    @property
    def source(self) -> str:
        """Where the texts came from, in words."""
        offered = ", ".join(f"{name} ({count:,})" for name, count in self.offered.items()) or "none"
        sampled = f"; a seeded sample of {len(self.texts):,}" if len(self.texts) < sum(self.offered.values()) else ""
        return offered + sampled

    def record(self) -> dict[str, Any]:
        return {"source": self.source, "texts": len(self.texts), "offered": dict(self.offered),
                "notes": list(self.notes)}


def in_domain_texts(student_dir: Path, calibration: list[str], calibration_source: str | None, held_out: set[str],
                    limit: int = UNLABELLED_LIMIT) -> InDomainTexts:
    """The calibration, transfer and augmented texts, less `held_out` (validation and test) and repeats, sampled down
    to `limit` with a fixed seed."""
    notes: list[str] = []
    sources = {"calibration texts": read_calibration_set(calibration_source) if calibration_source else calibration}
    transfer = read_distill_record(student_dir).get("transfer")
    if transfer:
        try:
            sources[f"transfer set {transfer}"] = load_unlabelled(str(transfer), seed=SAMPLE_SEED)
        except UserError as exc:
            notes.append(f"transfer set left out: {exc}")
    augmented = _augmented_file(student_dir)
    if augmented is not None and augmented.is_file():
        # A variant holds a mask only where distill masked, which it does only with the student's mask token.
        sources["augmented variants"] = read_augmented(augmented, config_token(student_dir / "tokenizer.json",
                                                                               "mask_token") or "")
    elif augmented is not None:
        notes.append(f"augmented variants left out: {augmented} is not on this machine")
    seen, texts, offered = set(held_out), [], {}
    for name, pool in sources.items():
        fresh = [text for text in dict.fromkeys(pool) if text not in seen]
        seen.update(fresh)
        texts += fresh
        offered[name] = len(fresh)
    if len(texts) > limit:
        texts = random.Random(SAMPLE_SEED).sample(texts, limit)
    return InDomainTexts(texts, offered, notes)


def _augmented_file(student_dir: Path) -> Path | None:
    """The cached augmented set distill trained the student on, as its metrics.json records it; None without one."""
    if not (student_dir / METRICS_FILE).is_file():
        return None
    record = read_metrics(student_dir).get("augment")
    return Path(record["file"]) if isinstance(record, dict) and record.get("file") else None
