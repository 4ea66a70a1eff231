"""Entity spans from IOB2 tags and entity-level precision, recall and F1, with conlleval's chunk rules (numpy-free).

A chunk starts at a B- tag, or at an I- tag whose type differs from the previous tag's (so `O I-PER` and
`B-LOC I-PER` each start a PER entity, as conlleval and seqeval's default mode read them). A prediction
counts only when its type, first word and last word all match a true entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OUTSIDE = "O"


@dataclass(frozen=True, order=True)
class Entity:
    """Words `start` to `end` inclusive, of type `kind` (PER, ORG, ...)."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class EntityScores:
    precision: float
    recall: float
    f1: float
    per_type: dict[str, dict[str, float]]
    true_entities: int
    predicted_entities: int

    def to_dict(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "per_type": self.per_type,
                "true_entities": self.true_entities, "predicted_entities": self.predicted_entities}


def split_tag(tag: str) -> tuple[str, str]:
    """("B", "PER") for "B-PER"; ("O", "") for "O". Raises ValueError on anything else."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, _, kind = tag.partition("-")
    if prefix not in ("B", "I") or not kind:
        raise ValueError(f"tag {tag!r} is not IOB2 (expected O, B-TYPE or I-TYPE)")
    return prefix, kind


def entities(tags: Sequence[str]) -> list[Entity]:
    """The entities an IOB2 tag sequence marks, in order."""
    found: list[Entity] = []
    start, kind = None, ""
    for position, tag in enumerate(tags):
        prefix, tag_kind = split_tag(tag)
        starts = prefix == "B" or (prefix == "I" and tag_kind != kind)
        if start is not None and (prefix == OUTSIDE or starts):
            found.append(Entity(start, position - 1, kind))
            start, kind = None, ""
        if starts:
            start, kind = position, tag_kind
    if start is not None:
        found.append(Entity(start, len(tags) - 1, kind))
    return found


def entity_scores(true_tags: Sequence[Sequence[str]], predicted_tags: Sequence[Sequence[str]]) -> EntityScores:
    """Micro-averaged entity precision, recall and F1 over sentences, plus the same per entity type."""
    if len(true_tags) != len(predicted_tags):
        raise ValueError(f"{len(true_tags)} true sentences but {len(predicted_tags)} predicted")
    counts: dict[str, list[int]] = {}  # kind -> [true, predicted, correct]
    for sentence, (truth, prediction) in enumerate(zip(true_tags, predicted_tags)):
        if len(truth) != len(prediction):
            raise ValueError(f"sentence {sentence}: {len(truth)} true tags but {len(prediction)} predicted")
        true_set, predicted_set = set(entities(truth)), set(entities(prediction))
        for group, column in ((true_set, 0), (predicted_set, 1), (true_set & predicted_set, 2)):
            for entity in group:
                counts.setdefault(entity.kind, [0, 0, 0])[column] += 1
    totals = [sum(column) for column in zip(*counts.values())] if counts else [0, 0, 0]
    precision, recall, f1 = _prf(*totals)
    per_type = {kind: dict(zip(("precision", "recall", "f1"), _prf(*value)), support=value[0])
                for kind, value in sorted(counts.items())}
    return EntityScores(precision, recall, f1, per_type, true_entities=totals[0], predicted_entities=totals[1])


def _prf(true: int, predicted: int, correct: int) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
