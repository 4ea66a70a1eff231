"""Golden-value tests for the KD loss and the intermediate-layer losses."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from edgedistill.distill.losses import (
    INTERMEDIATE_LOSSES,
    build_intermediate_losses,
    kd_loss,
    validate_kd_settings,
)
from edgedistill.errors import UserError

STUDENT = [[1.0, 2.0, 0.5], [0.2, -1.0, 3.0]]
TEACHER = [[2.0, 1.0, 0.0], [0.0, 0.5, 2.5]]


def softmax(row: list[float]) -> list[float]:
    exps = [math.exp(value) for value in row]
    return [value / sum(exps) for value in exps]


def cross_entropy(row: list[float], label: int) -> float:
    return -math.log(softmax(row)[label])


def kl_teacher_student(student: list[float], teacher: list[float], temperature: float) -> float:
    """KL(softmax(teacher/T) || softmax(student/T)) of one row, summed over classes."""
    p = softmax([value / temperature for value in teacher])
    q = softmax([value / temperature for value in student])
    return sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q))


def kd(labels: list[int], temperature: float, alpha: float, kl_reduction: str = "batchmean") -> float:
    student, teacher = torch.tensor(STUDENT, dtype=torch.float64), torch.tensor(TEACHER, dtype=torch.float64)
    return float(kd_loss(student, teacher, torch.tensor(labels), temperature, alpha, kl_reduction))


def test_kd_loss_matches_hand_computed_golden_value():
    by_hand = 0.3 * (cross_entropy(STUDENT[0], 1) + cross_entropy(STUDENT[1], 2)) / 2 + 0.7 * 2**2 * (
        kl_teacher_student(STUDENT[0], TEACHER[0], 2) + kl_teacher_student(STUDENT[1], TEACHER[1], 2)
    ) / 2
    assert by_hand == pytest.approx(0.3233148007602783, rel=1e-12)
    assert kd([1, 2], temperature=2, alpha=0.3) == pytest.approx(0.3233148007602783, rel=1e-6)
    in_float32 = kd_loss(torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor([1, 2]), 2.0, 0.3)
    assert float(in_float32) == pytest.approx(0.3233148007602783, rel=1e-6)


def test_mean_reduction_divides_the_kl_by_the_number_of_classes():
    batchmean = kd([1, 2], temperature=2, alpha=0.0)
    assert kd([1, 2], temperature=2, alpha=0.0, kl_reduction="mean") == pytest.approx(batchmean / 3, rel=1e-6)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 5.0])
def test_soft_term_is_scaled_by_temperature_squared(temperature):
    kl = sum(kl_teacher_student(s, t, temperature) for s, t in zip(STUDENT, TEACHER)) / 2
    assert kd([1, 2], temperature, alpha=0.0) == pytest.approx(temperature**2 * kl, rel=1e-6)


def test_unlabelled_rows_count_in_the_kl_term_only():
    kl = sum(kl_teacher_student(s, t, 2) for s, t in zip(STUDENT, TEACHER)) / 2
    expected = 0.3 * cross_entropy(STUDENT[0], 1) + 0.7 * 4 * kl
    assert kd([1, -1], temperature=2, alpha=0.3) == pytest.approx(expected, rel=1e-6)


def test_all_unlabelled_batch_has_zero_cross_entropy():
    kl = sum(kl_teacher_student(s, t, 2) for s, t in zip(STUDENT, TEACHER)) / 2
    assert kd([-1, -1], temperature=2, alpha=0.3) == pytest.approx(0.7 * 4 * kl, rel=1e-6)
    assert kd([-1, -1], temperature=2, alpha=1.0) == 0.0


def test_no_gradient_reaches_the_teacher_logits():
    student = torch.tensor(STUDENT, requires_grad=True)
    teacher = torch.tensor(TEACHER, requires_grad=True)
    kd_loss(student, teacher, torch.tensor([1, 2]), 2.0, 0.3).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temperature": 0.0},
        {"alpha": 1.5},
        {"alpha": -0.1},
        {"kl_reduction": "sum"},
        {"teacher_logits": torch.zeros(2, 4)},
        {"labels": torch.tensor([1, 2, 0])},
    ],
)
def test_kd_loss_rejects_programming_errors(kwargs):
    arguments = dict(
        student_logits=torch.tensor(STUDENT), teacher_logits=torch.tensor(TEACHER), labels=torch.tensor([1, 2]),
        temperature=2.0, alpha=0.3,
    )
    with pytest.raises(ValueError):
        kd_loss(**{**arguments, **kwargs})


@pytest.mark.parametrize("temperature, alpha", [(0.0, 0.5), (-1.0, 0.5), (float("nan"), 0.5), (2.0, 1.01), (2.0, -0.5)])
def test_validate_kd_settings_raises_user_error(temperature, alpha):
    with pytest.raises(UserError):
        validate_kd_settings(temperature, alpha)


def test_validate_kd_settings_accepts_the_edges():
    validate_kd_settings(0.5, 0.0)
    validate_kd_settings(8.0, 1.0)


# --- intermediate losses, on fixed tensors -------------------------------------------------------


def config(hidden: int = 2, layers: int = 1, heads: int = 1) -> SimpleNamespace:
    return SimpleNamespace(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads)


def outputs(hidden_states=None, attentions=None) -> SimpleNamespace:
    return SimpleNamespace(
        hidden_states=None if hidden_states is None else tuple(torch.tensor(h, dtype=torch.float32) for h in hidden_states),
        attentions=None if attentions is None else tuple(torch.tensor(a, dtype=torch.float32) for a in attentions),
    )


def hidden_loss(student, teacher, mask, student_config=None, teacher_config=None):
    losses = build_intermediate_losses({"hidden": 1.0}, teacher_config or config(layers=2), student_config or config(), [1])
    return losses, losses(student, teacher, mask)["hidden"]


# Student (1 layer) vs teacher (2 layers), layer map [1]: embeddings <-> embeddings, student 0 <-> teacher 1.
HIDDEN_STUDENT = [[[[1.0, 2.0], [3.0, 4.0]]], [[[0.0, 0.0], [0.0, 0.0]]]]
HIDDEN_TEACHER = [[[[1.0, 0.0], [3.0, 4.0]]], [[[99.0, 99.0], [99.0, 99.0]]], [[[1.0, 1.0], [2.0, 0.0]]]]


def test_hidden_loss_golden_value_includes_embeddings_and_skips_unmapped_layers():
    # Embeddings: (0 + 4 + 0 + 0) / (2 tokens * 2 dims) = 1; layer: (1 + 1 + 4 + 0) / 4 = 1.5.
    _, loss = hidden_loss(outputs(HIDDEN_STUDENT), outputs(HIDDEN_TEACHER), torch.tensor([[1, 1]]))
    assert float(loss) == pytest.approx(2.5, rel=1e-6)


def test_hidden_loss_ignores_padded_tokens():
    # Only token 0: embeddings 4 / 2 = 2; layer (1 + 1) / 2 = 1.
    mask = torch.tensor([[1, 0]])
    _, loss = hidden_loss(outputs(HIDDEN_STUDENT), outputs(HIDDEN_TEACHER), mask)
    assert float(loss) == pytest.approx(3.0, rel=1e-6)
    changed = [[[row[0], [-50.0, 70.0]] for row in state] for state in HIDDEN_STUDENT]
    _, changed_loss = hidden_loss(outputs(changed), outputs(HIDDEN_TEACHER), mask)
    assert float(changed_loss) == float(loss)


def test_hidden_loss_is_zero_for_identical_states():
    states = outputs([[[[0.3, -1.0], [2.0, 5.0]]]] * 3)
    losses = build_intermediate_losses({"hidden": 1.0}, config(layers=2), config(layers=2), [0, 1])
    assert float(losses(states, states, torch.tensor([[1, 1]]))["hidden"]) == 0.0


def test_hidden_loss_projects_a_narrower_student_with_a_learned_linear():
    student = outputs([[[[1.0, 2.0]]], [[[3.0, -1.0]]]])
    teacher = outputs([[[[1.0, 2.0, 3.0]]], [[[0.0, 0.0, 0.0]]], [[[3.0, -1.0, 0.0]]]])
    losses, _ = hidden_loss(student, teacher, None, config(hidden=2), config(hidden=3, layers=2))
    projection = losses.losses["hidden"].projection
    assert isinstance(projection, torch.nn.Linear) and len(list(losses.parameters())) == 2
    with torch.no_grad():
        projection.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        projection.bias.zero_()
    # Embeddings project to [1, 2, 3] (exact); the layer projects to [3, -1, 2]: 2**2 / 3 dims.
    loss = losses(student, teacher, None)["hidden"]
    assert loss.item() == pytest.approx(4 / 3, rel=1e-6)
    loss.backward()
    assert projection.weight.grad.abs().sum() > 0


def test_hidden_loss_has_no_parameters_when_widths_match():
    losses = build_intermediate_losses({"hidden": 1.0}, config(layers=2), config(), [1])
    assert list(losses.parameters()) == []


def attention_loss(student_maps, teacher_maps, mask):
    losses = build_intermediate_losses({"attention": 1.0}, config(layers=2), config(), [1])
    teacher = outputs(attentions=[[[[[9.0, 9.0], [9.0, 9.0]]]], teacher_maps])
    return float(losses(outputs(attentions=[student_maps]), teacher, mask)["attention"])


STUDENT_MAP = [[[[0.5, 0.5], [0.5, 0.5]]]]
TEACHER_MAP = [[[[1.0, 0.0], [0.25, 0.75]]]]


def test_attention_loss_golden_value():
    # (0.25 + 0.25 + 0.0625 + 0.0625) / (4 pairs * 1 head)
    assert attention_loss(STUDENT_MAP, TEACHER_MAP, torch.tensor([[1, 1]])) == pytest.approx(0.15625, rel=1e-6)
    assert attention_loss(TEACHER_MAP, TEACHER_MAP, torch.tensor([[1, 1]])) == 0.0


def test_attention_loss_ignores_padded_queries_and_keys():
    mask = torch.tensor([[1, 0]])
    assert attention_loss(STUDENT_MAP, TEACHER_MAP, mask) == pytest.approx(0.25, rel=1e-6)
    assert attention_loss([[[[0.5, 7.0], [-3.0, 4.0]]]], TEACHER_MAP, mask) == pytest.approx(0.25, rel=1e-6)


def test_attention_loss_needs_equal_head_counts():
    with pytest.raises(UserError, match="head"):
        build_intermediate_losses({"attention": 1.0}, config(layers=2, heads=4), config(heads=2), [1])


def test_attention_loss_asks_for_attentions():
    losses = build_intermediate_losses({"attention": 1.0}, config(layers=2), config(), [1])
    states = outputs([[[[0.0, 0.0]]]] * 3)
    with pytest.raises(ValueError, match="eager"):
        losses(states, states, None)


def pkd_loss(student_states, teacher_states, layer_map):
    losses = build_intermediate_losses({"pkd": 1.0}, config(layers=3), config(layers=2), layer_map)
    return float(losses(outputs(student_states), outputs(teacher_states), torch.tensor([[1, 0]]))["pkd"])


# Student layer 0 <-> teacher layer 1 is the only pair: the student's last layer is left to KD.
PKD_TEACHER = [[[[0.0, 0.0], [0.0, 0.0]]], [[[9.0, 9.0], [0.0, 0.0]]], [[[1.0, 0.0], [5.0, 5.0]]], [[[0.0, 1.0], [0.0, 0.0]]]]


def test_pkd_golden_value_on_normalised_cls_states():
    # [3, 4] / 5 = [0.6, 0.8] against [1, 0]: ((0.6 - 1)**2 + 0.8**2) / 2 = 0.4.
    student = [[[[0.0, 0.0], [0.0, 0.0]]], [[[3.0, 4.0], [1.0, 1.0]]], [[[7.0, -7.0], [0.0, 0.0]]]]
    assert pkd_loss(student, PKD_TEACHER, [1, 2]) == pytest.approx(0.4, rel=1e-6)


def test_pkd_ignores_scale_non_cls_tokens_and_the_last_student_layer():
    student = [[[[0.0, 0.0], [0.0, 0.0]]], [[[30.0, 40.0], [-8.0, 2.0]]], [[[-1.0, 5.0], [3.0, 3.0]]]]
    assert pkd_loss(student, PKD_TEACHER, [1, 2]) == pytest.approx(0.4, rel=1e-6)
    aligned = [[[[0.0, 0.0], [0.0, 0.0]]], [[[2.0, 0.0], [0.0, 0.0]]], [[[5.0, 5.0], [0.0, 0.0]]]]
    assert pkd_loss(aligned, PKD_TEACHER, [1, 2]) == 0.0


def test_pkd_needs_two_student_layers():
    with pytest.raises(UserError, match="at least 2"):
        build_intermediate_losses({"pkd": 1.0}, config(layers=3), config(layers=1), [2])


def test_pkd_projects_a_narrower_student():
    losses = build_intermediate_losses({"pkd": 1.0}, config(hidden=4, layers=3), config(hidden=2, layers=2), [0, 2])
    assert isinstance(losses.losses["pkd"].projection, torch.nn.Linear)


# --- the registry ---------------------------------------------------------------------------


def test_registry_lists_valid_names_on_unknown_loss():
    assert {"hidden", "attention", "pkd"} <= set(INTERMEDIATE_LOSSES)
    with pytest.raises(UserError, match="attention, hidden, pkd"):
        build_intermediate_losses({"hiden": 1.0}, config(layers=2), config(), [1])


def test_weights_scale_each_loss_and_zero_switches_it_off():
    one = build_intermediate_losses({"hidden": 1.0}, config(layers=2), config(), [1])
    weighted = build_intermediate_losses({"hidden": 2.5, "attention": 0.0}, config(layers=2), config(), [1])
    assert set(weighted.losses) == {"hidden"} and not weighted.needs_attentions
    student, teacher = outputs(HIDDEN_STUDENT), outputs(HIDDEN_TEACHER)
    assert float(weighted(student, teacher, None)["hidden"]) == pytest.approx(2.5 * float(one(student, teacher, None)["hidden"]))
    assert build_intermediate_losses({"attention": 1.0, "hidden": 1.0}, config(layers=2), config(), [1]).needs_attentions
    assert build_intermediate_losses({}, config(layers=2), config(), [1])(student, teacher, None) == {}


@pytest.mark.parametrize("weight", [-1.0, float("inf")])
def test_bad_weights_raise_user_error(weight):
    with pytest.raises(UserError, match="weight"):
        build_intermediate_losses({"hidden": weight}, config(layers=2), config(), [1])


def test_losses_run_on_real_bert_outputs():
    """Real eager outputs: a student copied from the teacher's layers scores exactly zero on those layers."""
    from transformers import BertConfig, BertForSequenceClassification

    from edgedistill.distill.student import build_student

    torch.manual_seed(0)
    bert_config = BertConfig(vocab_size=40, hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64)
    bert_config._attn_implementation = "eager"
    teacher = BertForSequenceClassification(bert_config).eval()
    student = build_student(teacher, [0, 1, 2]).eval()
    losses = build_intermediate_losses({"hidden": 1.0, "attention": 1.0, "pkd": 1.0}, teacher.config, student.config, [0, 1, 2])
    assert losses.needs_attentions
    ids = torch.randint(5, 40, (2, 6))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    run = dict(input_ids=ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
    with torch.no_grad():
        values = losses(student(**run), teacher(**run), mask)
    assert {name: float(value) for name, value in values.items()} == {"hidden": 0.0, "attention": 0.0, "pkd": 0.0}
    shifted = build_intermediate_losses({"hidden": 1.0, "attention": 1.0}, teacher.config, student.config, [1, 2, 3])
    with torch.no_grad():
        assert all(float(value) > 0 for value in shifted(student(**run), teacher(**run), mask).values())
