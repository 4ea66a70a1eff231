"""What one training step minimises: cross-entropy for `teach`, KD (+ intermediate losses) for `distill`.

Each objective is an nn.Module whose `forward(batch)` returns the loss and whose `classifier`
is the model being trained, so one training loop (and DistributedDataParallel) serves both stages.
Targets are looked up by the batch's dataset rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from edgedistill.distill.batches import Batch, EncodedTexts, collate
from edgedistill.distill.losses import IntermediateLosses, kd_loss


class ClassifierObjective(nn.Module):
    """Cross-entropy of the classifier against the gold labels."""

    def __init__(self, classifier: nn.Module, labels: list[int]):
        super().__init__()
        self.classifier = classifier
        self.register_buffer("labels", torch.tensor(labels, dtype=torch.long), persistent=False)

    def forward(self, batch: Batch) -> torch.Tensor:
        logits = self.classifier(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        return F.cross_entropy(logits, self.labels[batch.rows])


class FrozenTeacher:
    """The teacher for per-batch intermediate targets, fed the batch's texts in its own tokenization.

    A plain object, not an nn.Module attribute, so the optimizer, DDP and checkpoints skip its weights.
    """

    def __init__(self, model: nn.Module, encoded: EncodedTexts, attentions: bool):
        self.model = model.eval().requires_grad_(False)
        self.encoded = encoded
        self.attentions = attentions

    def __call__(self, batch: Batch):
        own = collate(self.encoded, batch.rows.cpu().numpy()).to(batch.input_ids.device)
        self.model.to(batch.input_ids.device)
        with torch.no_grad():
            return self.model(input_ids=own.input_ids, attention_mask=own.attention_mask,
                              output_hidden_states=True, output_attentions=self.attentions)


@dataclass(frozen=True)
class KDSettings:
    temperature: float
    alpha: float
    kl_reduction: str = "batchmean"


class DistillationObjective(nn.Module):
    """Hinton KD against cached teacher logits, plus weighted intermediate losses when configured.

    Labels of -1 mark transfer-set rows, which learn from the teacher's soft labels alone.
    """

    def __init__(self, student: nn.Module, labels: list[int], teacher_logits: torch.Tensor, settings: KDSettings,
                 intermediate: IntermediateLosses | None = None, teacher: FrozenTeacher | None = None):
        super().__init__()
        if (intermediate is None) != (teacher is None):
            raise ValueError("intermediate losses and the teacher that feeds them come together")
        self.classifier = student
        self.intermediate = intermediate
        self.teacher = teacher
        self.register_buffer("labels", torch.tensor(labels, dtype=torch.long), persistent=False)
        self.register_buffer("teacher_logits", teacher_logits, persistent=False)
        self.settings = settings

    def forward(self, batch: Batch) -> torch.Tensor:
        deep = self.intermediate is not None
        output = self.classifier(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                                 output_hidden_states=deep, output_attentions=deep and self.intermediate.needs_attentions)
        loss = kd_loss(output.logits, self.teacher_logits[batch.rows], self.labels[batch.rows],
                       self.settings.temperature, self.settings.alpha, self.settings.kl_reduction)
        if deep:
            terms = self.intermediate(output, self.teacher(batch), batch.attention_mask)
            loss = loss + sum(terms.values())
        return loss
