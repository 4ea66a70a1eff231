"""Token-level Hinton KD: the logit loss compared word by word, at each word's first sub-token.

Teacher and student logits are first gathered to word positions (`gather_words`), so the two may use
different tokenizers; padding, special tokens and continuation sub-tokens never enter the loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from edgedistill.tasks.words import IGNORED


def gather_words(logits: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """(rows, words, tags) logits at `positions` (rows, words) of (rows, sequence, tags) logits; pad positions with 0."""
    index = positions.clamp(min=0).unsqueeze(-1).expand(-1, -1, logits.shape[-1])
    return logits.gather(1, index)


def token_kd_loss(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, word_mask: torch.Tensor,
                  temperature: float, alpha: float) -> torch.Tensor:
    """`alpha * CE + (1 - alpha) * T**2 * KL(softmax(teacher/T) || softmax(student/T))` over real words.

    `student`/`teacher` are (rows, words, tags) word-level logits; `word_mask` (rows, words) marks real words;
    `labels` (rows, words) holds tag ids, IGNORED for unlabelled words (the transfer set, or truncated ones).
    The KL is summed over tags and averaged over real words; the cross-entropy is averaged over labelled
    words (0 when there are none). The teacher is a fixed target.
    """
    if student.shape != teacher.shape or student.dim() != 3 or word_mask.shape != student.shape[:2]:
        raise ValueError(f"expected alike (rows, words, tags) logits and a (rows, words) mask; got student "
                         f"{tuple(student.shape)}, teacher {tuple(teacher.shape)}, mask {tuple(word_mask.shape)}")
    real = word_mask.bool()
    log_student = F.log_softmax(student[real] / temperature, dim=-1)
    log_teacher = F.log_softmax(teacher.detach()[real] / temperature, dim=-1)
    words = max(int(real.sum()), 1)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum() / words * temperature ** 2
    labelled = real & (labels != IGNORED)
    cross_entropy = F.cross_entropy(student[labelled], labels[labelled]) if labelled.any() else student.sum() * 0.0
    return alpha * cross_entropy + (1 - alpha) * kl
