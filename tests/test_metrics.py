import numpy as np
import pytest

from edgedistill.metrics import accuracy, accuracy_drop_interval, agreement, drop_points, macro_f1, max_abs_logit_diff

LOGITS = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.5], [0.2, 0.1]])  # argmax 0, 1, 0, 0


def test_accuracy_and_agreement():
    assert accuracy(LOGITS, [0, 1, 1, 0]) == 0.75
    assert agreement(LOGITS, LOGITS[:, ::-1]) == 0.0
    assert agreement(LOGITS, LOGITS * 2) == 1.0


def test_drop_points_is_how_far_below_the_reference_in_points():
    assert drop_points(0.9, 0.925) == pytest.approx(2.5)
    assert drop_points(0.95, 0.925) == pytest.approx(-2.5)  # better than the reference: a negative drop


def test_macro_f1_by_hand():
    # class 0: tp 2, predicted 3, true 2 -> 0.8; class 1: tp 1, predicted 1, true 2 -> 2/3
    assert macro_f1(LOGITS, [0, 1, 1, 0], 2) == pytest.approx((0.8 + 2 / 3) / 2)


def test_max_abs_logit_diff():
    other = LOGITS.copy()
    other[2, 1] += 0.25
    assert max_abs_logit_diff(LOGITS, other) == pytest.approx(0.25)


def test_paired_bootstrap_interval_of_the_accuracy_drop():
    labels = np.array([0, 1] * 200)
    right = np.eye(2)[labels]
    assert accuracy_drop_interval(right, right, labels) == (0.0, 0.0)  # identical predictions: no uncertainty
    flipped = right.copy()
    flipped[:8] = flipped[:8, ::-1]  # 8 of 400 texts flip: a 2-point drop
    low, high = accuracy_drop_interval(flipped, right, labels)
    assert 0.0 < low < 2.0 < high < 4.0
    assert accuracy_drop_interval(flipped, right, labels) == (low, high)  # seeded
