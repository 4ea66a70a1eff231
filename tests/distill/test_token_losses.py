"""Token-level KD against a value worked out by hand, with padding and unlabelled words masked out."""

import math

import pytest
import torch

from edgedistill.distill.token_losses import gather_words, token_kd_loss
from edgedistill.tasks.words import IGNORED


def _kl(p: list[float], q: list[float]) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q))


def _softmax(row: list[float], temperature: float) -> list[float]:
    exps = [math.exp(v / temperature) for v in row]
    return [e / sum(exps) for e in exps]


def test_token_kd_matches_a_hand_computed_value_over_real_words_only():
    student = torch.tensor([[[1.0, 0.0, -1.0], [0.5, 0.5, 0.0], [9.0, -9.0, 3.0]]])
    teacher = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-9.0, 9.0, 0.0]]])
    mask = torch.tensor([[1, 1, 0]])              # the third "word" is padding: it must not count
    labels = torch.tensor([[0, IGNORED, 2]])      # the second word is unlabelled (transfer text)
    t, alpha = 2.0, 0.25
    kl = sum(_kl(_softmax(teacher[0, w].tolist(), t), _softmax(student[0, w].tolist(), t)) for w in (0, 1)) / 2
    cross_entropy = -math.log(_softmax(student[0, 0].tolist(), 1.0)[0])
    expected = alpha * cross_entropy + (1 - alpha) * t * t * kl
    assert token_kd_loss(student, teacher, labels, mask, t, alpha).item() == pytest.approx(expected, rel=1e-6)


def test_no_gradient_reaches_the_teacher_and_all_unlabelled_batches_are_fine():
    student = torch.randn(2, 4, 5, requires_grad=True)
    teacher = torch.randn(2, 4, 5, requires_grad=True)
    loss = token_kd_loss(student, teacher, torch.full((2, 4), IGNORED), torch.ones(2, 4), 4.0, 0.5)
    loss.backward()
    assert student.grad is not None and teacher.grad is None and torch.isfinite(loss)


def test_gather_words_picks_first_subtoken_rows():
    logits = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    positions = torch.tensor([[1, 3], [2, -1]])  # -1: the second sentence has one word
    gathered = gather_words(logits, positions)
    assert torch.equal(gathered[0], logits[0, [1, 3]]) and torch.equal(gathered[1, 0], logits[1, 2])


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="alike"):
        token_kd_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4), torch.zeros(1, 2, dtype=torch.long), torch.ones(1, 2), 1.0, 0.5)
