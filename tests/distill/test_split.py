"""Distillation reuses the teacher's split: no teacher-training sentence may reach the student's test set."""

import json

from edgedistill.cli import main
from edgedistill.data import load_splits
from edgedistill.modeldir import read_data_spec


def test_student_seed_does_not_move_the_test_split(tmp_path, tiny_teacher, distill_argv):
    out = tmp_path / "student"
    assert main(distill_argv(tiny_teacher, out, "--seed", "99", "--epochs", "1")) == 0

    teacher_spec, student_spec = read_data_spec(tiny_teacher), read_data_spec(out)
    assert student_spec.seed == teacher_spec.seed != 99
    teacher_train = set(load_splits(teacher_spec).train.texts)
    assert not teacher_train & set(load_splits(student_spec).test.texts)
    assert json.loads((out / "distill.json").read_text())["seed"] == 99
