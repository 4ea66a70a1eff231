"""Distillation losses: soft-target KD on the logits, plus intermediate-layer losses chosen by name.

Intermediate losses read Hugging Face outputs computed with `output_hidden_states=True` (and
`output_attentions=True` when `needs_attentions`). Student layer i (hidden_states[i + 1],
attentions[i]) imitates teacher layer layer_map[i] (hidden_states[layer_map[i] + 1],
attentions[layer_map[i]]). Per-layer terms are summed over the mapped layers, as in TinyBERT and PKD.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from edgedistill.errors import UserError

UNLABELLED = -1
KL_REDUCTIONS = ("batchmean", "mean")


def validate_kd_settings(temperature: float, alpha: float) -> None:
    """Reject user-supplied KD settings with a one-line message."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise UserError(f"temperature must be a number above 0 (got {temperature}); 1 is plain softmax, 2 to 8 are usual")
    if not 0 <= alpha <= 1:
        raise UserError(f"alpha must lie between 0 and 1 (got {alpha}): it weighs the label loss against the teacher's")


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    alpha: float,
    kl_reduction: str = "batchmean",
) -> torch.Tensor:
    """`alpha * CE(student, labels) + (1 - alpha) * T**2 * KL(softmax(teacher/T) || softmax(student/T))`.

    Rows labelled -1 are unlabelled (transfer set): they count in the KL term only, and the
    cross-entropy averages over the labelled rows (0 when there are none). The teacher is a fixed
    target, so no gradient flows into `teacher_logits`.

    `kl_reduction="batchmean"` sums the KL over classes and averages over rows, which is the true KL.
    `"mean"` reproduces `nn.KLDivLoss()`'s default, which also divides by the number of classes and so
    shrinks the teacher's signal by that factor; it exists only so a benchmark can show that cost.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if kl_reduction not in KL_REDUCTIONS:
        raise ValueError(f"kl_reduction must be one of {KL_REDUCTIONS}, got {kl_reduction!r}")
    if student_logits.dim() != 2 or student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"logits must be (rows, classes) and alike: student {tuple(student_logits.shape)}, teacher {tuple(teacher_logits.shape)}"
        )
    if labels.shape != student_logits.shape[:1]:
        raise ValueError(f"labels must be ({student_logits.shape[0]},), got {tuple(labels.shape)}")

    labelled = labels != UNLABELLED
    if labelled.any():
        hard = F.cross_entropy(student_logits[labelled], labels[labelled])
    else:
        hard = student_logits.new_zeros(())
    # T**2 keeps the soft-target gradients on the same scale as the hard ones (Hinton et al. 2015).
    soft = F.kl_div(
        F.log_softmax(student_logits / temperature, dim=-1),
        F.log_softmax(teacher_logits.detach() / temperature, dim=-1),
        reduction="batchmean",
        log_target=True,
    ) * temperature**2
    if kl_reduction == "mean":
        # Spelled out rather than passed to kl_div, whose "mean" torch plans to turn into "batchmean".
        soft = soft / student_logits.shape[-1]
    return alpha * hard + (1 - alpha) * soft


class IntermediateLoss(nn.Module):
    """One unweighted intermediate loss between mapped student and teacher layers."""

    needs_attentions: ClassVar[bool] = False
    # Compares teacher and student position by position, so both must tokenise alike.
    needs_aligned_tokens: ClassVar[bool] = True

    def __init__(self, teacher_config, student_config, layer_map: list[int]):
        super().__init__()
        if len(layer_map) != student_config.num_hidden_layers:
            raise ValueError(
                f"layer map has {len(layer_map)} entries but the student has {student_config.num_hidden_layers} layers"
            )
        self.layer_map = list(layer_map)

    def forward(self, student_out, teacher_out, attention_mask: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError


INTERMEDIATE_LOSSES: dict[str, type[IntermediateLoss]] = {}


def register_intermediate_loss(name: str) -> Callable[[type[IntermediateLoss]], type[IntermediateLoss]]:
    """Class decorator: make the loss available under `name` in distillation configs."""

    def register(cls: type[IntermediateLoss]) -> type[IntermediateLoss]:
        if name in INTERMEDIATE_LOSSES:
            raise ValueError(f"intermediate loss {name!r} is already registered")
        INTERMEDIATE_LOSSES[name] = cls
        return cls

    return register


def get_intermediate_loss(name: str) -> type[IntermediateLoss]:
    try:
        return INTERMEDIATE_LOSSES[name]
    except KeyError:
        raise UserError(f"unknown intermediate loss {name!r}: choose from {', '.join(sorted(INTERMEDIATE_LOSSES))}") from None


def _width_projection(teacher_config, student_config) -> nn.Module:
    """A learned map into the teacher's width when the widths differ (FitNets' regressor), else identity."""
    if student_config.hidden_size == teacher_config.hidden_size:
        return nn.Identity()
    return nn.Linear(student_config.hidden_size, teacher_config.hidden_size)


def _hidden_states(output, who: str) -> tuple[torch.Tensor, ...]:
    if output.hidden_states is None:
        raise ValueError(f"{who} outputs lack hidden states: run the model with output_hidden_states=True")
    return output.hidden_states


def _token_mask(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    if attention_mask is None:
        return hidden.new_ones(hidden.shape[:2])
    return attention_mask.to(hidden.dtype)


@register_intermediate_loss("hidden")
class HiddenStateLoss(IntermediateLoss):
    """FitNets / TinyBERT hidden-state loss: MSE over real tokens, embedding output included.

    One projection is shared by all layers (as in TinyBERT), since every hidden state has the same width.
    Per layer: squared error summed over real tokens and the teacher's width, divided by their count.
    """

    def __init__(self, teacher_config, student_config, layer_map: list[int]):
        super().__init__(teacher_config, student_config, layer_map)
        self.projection = _width_projection(teacher_config, student_config)

    def forward(self, student_out, teacher_out, attention_mask):
        student_states = _hidden_states(student_out, "student")
        teacher_states = _hidden_states(teacher_out, "teacher")
        pairs = [(0, 0)] + [(index + 1, teacher_index + 1) for index, teacher_index in enumerate(self.layer_map)]
        total = student_states[0].new_zeros(())
        for student_index, teacher_index in pairs:
            student = self.projection(student_states[student_index])
            teacher = teacher_states[teacher_index].detach()
            mask = _token_mask(teacher, attention_mask)
            squared = (student - teacher).pow(2).sum(-1) * mask
            total = total + squared.sum() / (mask.sum() * teacher.shape[-1])
        return total


@register_intermediate_loss("attention")
class AttentionLoss(IntermediateLoss):
    """TinyBERT attention loss: MSE between attention probability maps of mapped layers.

    Pairs (query, key) where either side is padding are left out; the mean runs over the real pairs
    and all heads. Needs eager attention (`config._attn_implementation = "eager"`) to get the maps.
    """

    needs_attentions: ClassVar[bool] = True

    def __init__(self, teacher_config, student_config, layer_map: list[int]):
        super().__init__(teacher_config, student_config, layer_map)
        if teacher_config.num_attention_heads != student_config.num_attention_heads:
            raise UserError(
                f"the attention loss needs equal head counts, but the teacher has {teacher_config.num_attention_heads} "
                f"and the student {student_config.num_attention_heads}: drop 'attention' from the losses"
            )

    def forward(self, student_out, teacher_out, attention_mask):
        if student_out.attentions is None or teacher_out.attentions is None:
            raise ValueError(
                "outputs lack attentions: set config._attn_implementation = 'eager' and run with output_attentions=True"
            )
        total = student_out.attentions[0].new_zeros(())
        for index, teacher_index in enumerate(self.layer_map):
            student = student_out.attentions[index]
            teacher = teacher_out.attentions[teacher_index].detach()
            batch, heads, length, _ = teacher.shape
            tokens = _token_mask(teacher[:, 0, :, 0], attention_mask)
            pairs = tokens[:, None, :, None] * tokens[:, None, None, :]
            squared = (student - teacher).pow(2) * pairs
            total = total + squared.sum() / (pairs.sum() * heads)
        return total


@register_intermediate_loss("pkd")
class PatientLoss(IntermediateLoss):
    """Patient KD (Sun et al. 2019): MSE between L2-normalised [CLS] states of mapped layers.

    As in the paper, the student's last layer is left out: its [CLS] feeds the classifier, which
    the KD loss already supervises. So the student needs at least two layers. [CLS] is position 0,
    always a real token, so no mask is needed. Widths that differ go through a learned projection.
    Only the first token is compared, so it also works between models with different tokenizers.
    """

    needs_aligned_tokens: ClassVar[bool] = False

    def __init__(self, teacher_config, student_config, layer_map: list[int]):
        super().__init__(teacher_config, student_config, layer_map)
        if len(layer_map) < 2:
            raise UserError(
                "the pkd loss needs a student of at least 2 layers (its last layer is left to KD): add layers or drop 'pkd'"
            )
        self.projection = _width_projection(teacher_config, student_config)

    def forward(self, student_out, teacher_out, attention_mask):
        student_states = _hidden_states(student_out, "student")
        teacher_states = _hidden_states(teacher_out, "teacher")
        total = student_states[0].new_zeros(())
        for index, teacher_index in enumerate(self.layer_map[:-1]):
            student = F.normalize(self.projection(student_states[index + 1][:, 0]), dim=-1)
            teacher = F.normalize(teacher_states[teacher_index + 1][:, 0].detach(), dim=-1)
            total = total + F.mse_loss(student, teacher)
        return total


class IntermediateLosses(nn.Module):
    """The weighted intermediate losses of one distillation run.

    A module because losses may hold learned projections: add its parameters to the optimizer.
    """

    def __init__(self, losses: dict[str, IntermediateLoss], weights: dict[str, float]):
        super().__init__()
        self.losses = nn.ModuleDict(losses)
        self.weights = dict(weights)

    @property
    def needs_attentions(self) -> bool:
        return any(loss.needs_attentions for loss in self.losses.values())

    def forward(self, student_out, teacher_out, attention_mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        return {
            name: self.weights[name] * loss(student_out, teacher_out, attention_mask)
            for name, loss in self.losses.items()
        }


def build_intermediate_losses(
    weights: dict[str, float], teacher_config, student_config, layer_map: list[int], aligned_tokens: bool = True
) -> IntermediateLosses:
    """Instantiate the named losses; a weight of 0 switches a loss off.

    `aligned_tokens=False` (the student has its own tokenizer) refuses the losses that compare positions.
    """
    losses = {}
    for name, weight in weights.items():
        cls = get_intermediate_loss(name)
        if not (math.isfinite(weight) and weight >= 0):
            raise UserError(f"the weight of loss {name!r} must be a number >= 0 (got {weight})")
        if weight > 0 and cls.needs_aligned_tokens and not aligned_tokens:
            raise UserError(f"the {name!r} loss compares teacher and student token by token, but the student's tokenizer "
                            f"differs from the teacher's, so positions do not line up: use 'pkd' or drop {name!r}")
        if weight > 0:
            losses[name] = cls(teacher_config, student_config, layer_map)
    return IntermediateLosses(losses, {name: float(weights[name]) for name in losses})
