"""Entity spans and entity-level scores against hand-worked examples and against seqeval's conlleval mode."""

import random

import pytest
from seqeval.metrics import (
    classification_report,
    f1_score,
    precision_score,
    recall_score,
)

from edgedistill.tasks.entities import Entity, entities, entity_scores


@pytest.mark.parametrize("tags, expected", [
    (["B-PER", "I-PER", "O", "B-LOC"], [Entity(0, 1, "PER"), Entity(3, 3, "LOC")]),
    (["O", "I-PER", "I-PER"], [Entity(1, 2, "PER")]),                          # I- after O starts an entity
    (["B-PER", "I-LOC"], [Entity(0, 0, "PER"), Entity(1, 1, "LOC")]),           # a type change starts one
    (["B-PER", "B-PER", "I-PER"], [Entity(0, 0, "PER"), Entity(1, 2, "PER")]),  # B- always starts one
    (["I-ORG", "B-ORG"], [Entity(0, 0, "ORG"), Entity(1, 1, "ORG")]),
    (["B-MISC", "I-MISC"], [Entity(0, 1, "MISC")]),                            # an entity may end the sentence
    (["O", "O"], []),
])
def test_entities_follow_conlleval_chunk_rules(tags, expected):
    assert entities(tags) == expected


def test_scores_on_a_hand_worked_example():
    truth = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    # PER span too short (wrong), LOC right, ORG typed as MISC (wrong), one spurious LOC.
    prediction = [["B-PER", "O", "O", "B-LOC"], ["B-MISC", "B-LOC"]]
    scores = entity_scores(truth, prediction)
    assert (scores.true_entities, scores.predicted_entities) == (3, 4)
    assert scores.precision == pytest.approx(1 / 4) and scores.recall == pytest.approx(1 / 3)
    assert scores.f1 == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    assert scores.per_type["LOC"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert scores.per_type["PER"]["f1"] == 0.0 and scores.per_type["MISC"]["support"] == 0


def test_no_entities_anywhere_scores_zero_not_a_crash():
    assert entity_scores([["O"]], [["O"]]).f1 == 0.0


def test_mismatched_lengths_and_non_iob2_tags_are_refused():
    with pytest.raises(ValueError, match="sentence 0"):
        entity_scores([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="not IOB2"):
        entities(["E-PER"])


def test_agrees_with_seqeval_on_random_sequences():
    rng = random.Random(0)
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "B-ORG"]
    truth = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    prediction = [[tag if rng.random() < 0.7 else rng.choice(tags) for tag in sentence] for sentence in truth]
    scores = entity_scores(truth, prediction)
    assert scores.f1 == pytest.approx(f1_score(truth, prediction))
    assert scores.precision == pytest.approx(precision_score(truth, prediction))
    assert scores.recall == pytest.approx(recall_score(truth, prediction))
    report = classification_report(truth, prediction, output_dict=True)
    for kind, figures in scores.per_type.items():
        assert figures["f1"] == pytest.approx(report[kind]["f1-score"]) and figures["support"] == report[kind]["support"]
