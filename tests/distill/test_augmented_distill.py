"""`distill --augment`: teacher-labelled variants learn from the teacher alone, and everything is made once."""

from __future__ import annotations

import numpy as np
import pytest

from edgedistill.cli import main
from edgedistill.distill import neighbours, objectives
from edgedistill.distill.losses import UNLABELLED
from edgedistill.distill.config import DistillConfig
from edgedistill.distill.trainer import run_distill
from edgedistill.errors import UserError
from edgedistill.modeldir import read_data_spec, read_metrics


def test_augmented_rows_learn_from_the_teacher_alone_and_are_made_once(tmp_path, tiny_teacher, distill_argv,
                                                                     monkeypatch, capsys):
    seen = {}
    init = objectives.DistillationObjective.__init__

    def record(self, student, labels, teacher_logits, *args, **kwargs):
        seen.update(labels=list(labels), teacher_rows=len(teacher_logits))
        init(self, student, labels, teacher_logits, *args, **kwargs)

    monkeypatch.setattr(objectives.DistillationObjective, "__init__", record)
    argv = [*distill_argv(tiny_teacher, tmp_path / "a"), "--augment", "3", "--steps", "12", "--seed", "21"]
    assert main(argv) == 0
    metrics = read_metrics(tmp_path / "a")
    counts = metrics["train_texts"]
    assert counts["augmented"] > 2 * counts["labelled"]
    labels = np.array(seen["labels"])
    assert len(labels) == seen["teacher_rows"] == counts["labelled"] + counts["augmented"]
    assert (labels[:counts["labelled"]] >= 0).all() and (labels[counts["labelled"]:] == UNLABELLED).all()
    assert metrics["augment"]["variants"] == counts["augmented"] and metrics["augment"]["copies"] == 3
    assert 0 < metrics["rows_seen"]["teacher_labels_only"] < metrics["rows_seen"]["all"] == 12 * 32
    assert metrics["teacher_labelling"]["texts"] > counts["augmented"]
    assert metrics["teacher_labelling"]["texts_per_second"] > 0
    capsys.readouterr()

    def fail(*args, **kwargs):
        raise AssertionError("the neighbour table was built again")

    monkeypatch.setattr(neighbours, "word_vectors", fail)
    argv[argv.index(str(tmp_path / "a"))] = str(tmp_path / "b")
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "teacher logits: all" in err and "texts cached" in err
    again = read_metrics(tmp_path / "b")
    assert again["augment"]["file"] == metrics["augment"]["file"]
    assert again["teacher_labelling"]["texts"] == 0 and again["teacher_labelling"]["runtime"] == "cached"


def test_augmenting_a_token_classifier_is_refused(tmp_path, tiny_tagger_dir):
    spec = read_data_spec(tiny_tagger_dir)
    out = tmp_path / "student"
    with pytest.raises(UserError, match="--augment applies to text classification only"):
        run_distill(DistillConfig(data=spec, teacher=tiny_tagger_dir, out=out, augment=2, max_length=32))
    assert not out.exists()
