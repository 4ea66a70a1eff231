"""QAT at export gets the teacher's cached logits through the distilled student's distill.json."""

from __future__ import annotations

import numpy as np

from edgedistill.distill.teacher_cache import teacher_logits
from edgedistill.export.reference import prepare
from edgedistill.export.trials import qat_teacher_logits
from edgedistill.targets.registry import load_profile
from edgedistill.targets.registry import get_target


def test_qat_recipes_receive_the_teachers_logits_on_the_train_split(tiny_teacher, tiny_distilled):
    profile = load_profile("x86-64-host")
    target = get_target("executorch")
    prepared = prepare(tiny_distilled, profile, None)
    qat, ptq = target.recipe("int8-qat", profile), target.recipe("int8-ptq", profile)
    assert qat.needs_teacher and not ptq.needs_teacher

    logits = qat_teacher_logits(prepared, qat, profile)
    expected = teacher_logits(tiny_teacher, prepared.splits.train.texts, 128)
    assert logits is not None and logits.shape == (len(prepared.splits.train), 2)
    np.testing.assert_array_equal(logits, expected)
    assert qat_teacher_logits(prepared, ptq, profile) is None
