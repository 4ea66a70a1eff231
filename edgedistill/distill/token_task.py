"""Token classification in training: words to sub-tokens, the per-word objective, and per-word predictions.

Each word speaks through its first sub-token (see edgedistill.tasks.words). Rows carry their words'
first-sub-token positions and tag ids; a batch pads both to its longest sentence, so padding, special tokens
and continuation sub-tokens never reach a loss or a score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgedistill.distill.batches import (
    Batch,
    EncodedTexts,
    collate,
    inference_batches,
    padding_id,
)
from edgedistill.distill.losses import IntermediateLosses
from edgedistill.distill.objectives import FrozenTeacher, KDSettings
from edgedistill.distill.predict import INFERENCE_BATCH_SIZE
from edgedistill.distill.token_losses import gather_words, token_kd_loss
from edgedistill.distill.training import Validator
from edgedistill.tasks.words import IGNORED, first_subtokens, word_metrics


@dataclass
class EncodedWords(EncodedTexts):
    """Sub-token ids of each sentence plus, per sentence, the position of each kept word's first sub-token."""

    word_positions: list[list[int]]
    num_words: list[int]
    # Each sub-token's word index (None for special tokens).
    word_ids: list[list[int | None]]


def encode_words(tokenizer, sentences: list[list[str]], max_length: int) -> EncodedWords:
    """Tokenise pre-split words once, with special tokens, truncated to `max_length` sub-tokens."""
    encoded = tokenizer(sentences, is_split_into_words=True, truncation=True, max_length=max_length,
                        padding=False, return_attention_mask=False, return_token_type_ids=False)
    word_ids = [encoded.word_ids(row) for row in range(len(sentences))]
    return EncodedWords(encoded["input_ids"], padding_id(tokenizer), [first_subtokens(ids) for ids in word_ids],
                        [len(words) for words in sentences], word_ids)


def continuation_ids(tag_names: list[str]) -> list[int]:
    """The tag id a word's continuation sub-tokens take, per tag id: B-X's is I-X's, every other tag keeps its own."""
    index = {tag: number for number, tag in enumerate(tag_names)}
    return [index.get(f"I-{tag[2:]}", number) if tag.startswith("B-") else number for number, tag in enumerate(tag_names)]


def subtoken_labels(word_ids: list[list[int | None]], word_labels: list[list[int]],
                    continuation: list[int]) -> list[list[int]]:
    """A tag id for every sub-token: its word's tag at the first, the tag's continuation at the rest, and IGNORED
    at special tokens and at the words of unlabelled sentences."""
    rows = []
    for ids, labels in zip(word_ids, word_labels):
        row, seen = [], set()
        for word in ids:
            if word is None or labels[word] == IGNORED:
                row.append(IGNORED)
            else:
                row.append(labels[word] if word not in seen else continuation[labels[word]])
                seen.add(word)
        rows.append(row)
    return rows


def _padded(rows: list[list[int]] | list[np.ndarray], fill) -> np.ndarray:
    width = max((len(row) for row in rows), default=0)
    first = next((np.asarray(row) for row in rows if len(row)), np.zeros(0))
    out = np.full((len(rows), width, *first.shape[1:]), fill, dtype=first.dtype if first.size else np.int64)
    for index, row in enumerate(rows):
        out[index, :len(row)] = row
    return out


class TokenObjective(nn.Module):
    """Cross-entropy over labelled words, or with `teacher_word_logits` token-level KD mixed by alpha.

    `word_labels` holds each row's tag ids per word (IGNORED for transfer sentences); teacher word logits are
    (words, tags) per row, from the teacher's own tokenization, so only words both sides kept are compared.
    """

    def __init__(self, classifier: nn.Module, encoded: EncodedWords, word_labels: list[list[int]],
                 teacher_word_logits: list[np.ndarray] | None = None, settings: KDSettings | None = None,
                 subtoken_labels: list[list[int]] | None = None, intermediate: IntermediateLosses | None = None,
                 teacher: FrozenTeacher | None = None):
        super().__init__()
        if (teacher_word_logits is None) != (settings is None):
            raise ValueError("teacher logits and KD settings come together")
        if (intermediate is None) != (teacher is None):
            raise ValueError("intermediate losses and the teacher that feeds them come together")
        self.intermediate = intermediate
        self.teacher = teacher
        if subtoken_labels is not None and teacher_word_logits is not None:
            raise ValueError("labels on every sub-token apply to cross-entropy training, not word-level KD")
        self.subtoken_labels = subtoken_labels
        self.classifier = classifier
        self.encoded = encoded
        self.word_labels = word_labels
        self.teacher_word_logits = teacher_word_logits
        self.settings = settings

    def _words_kept(self, row: int) -> int:
        kept = len(self.encoded.word_positions[row])
        return kept if self.teacher_word_logits is None else min(kept, len(self.teacher_word_logits[row]))

    def forward(self, batch: Batch) -> torch.Tensor:
        rows = batch.rows.tolist()
        kept = [self._words_kept(row) for row in rows]
        device = batch.input_ids.device
        positions = torch.from_numpy(_padded([self.encoded.word_positions[r][:k] for r, k in zip(rows, kept)], -1)).to(device)
        labels = torch.from_numpy(_padded([self.word_labels[r][:k] for r, k in zip(rows, kept)], IGNORED)).to(device)
        deep = self.intermediate is not None
        output = self.classifier(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                                 output_hidden_states=deep, output_attentions=deep and self.intermediate.needs_attentions)
        logits = output.logits
        if self.subtoken_labels is not None:
            every = _padded([self.subtoken_labels[r] for r in rows], IGNORED)
            every = np.pad(every, ((0, 0), (0, logits.shape[1] - every.shape[1])), constant_values=IGNORED)
            tags = torch.from_numpy(every).to(device)
            labelled = tags != IGNORED
            return F.cross_entropy(logits[labelled], tags[labelled]) if labelled.any() else logits.sum() * 0.0
        student = gather_words(logits, positions)
        if self.teacher_word_logits is None:
            labelled = labels != IGNORED
            return F.cross_entropy(student[labelled], labels[labelled]) if labelled.any() else student.sum() * 0.0
        teacher = torch.from_numpy(_padded([self.teacher_word_logits[r][:k] for r, k in zip(rows, kept)], 0.0)).to(device)
        loss = token_kd_loss(student, teacher, labels, positions >= 0, self.settings.temperature, self.settings.alpha)
        if deep:
            loss = loss + sum(self.intermediate(output, self.teacher(batch), batch.attention_mask).values())
        return loss


def predict_word_logits(model: nn.Module, encoded: EncodedWords, batch_size: int = INFERENCE_BATCH_SIZE) -> list[np.ndarray]:
    """float32 logits (kept words, tags) per sentence, in the order of `encoded`, computed in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(encoded)
    with torch.inference_mode():
        for rows in inference_batches(encoded.lengths, batch_size):
            batch = collate(encoded, rows).to(device)
            logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits.float().cpu().numpy()
            for index, row in enumerate(rows):
                out[row] = logits[index, encoded.word_positions[row]]
    model.train(was_training)
    return out


def token_validator(encoded: EncodedWords, tags: list[list[str]], tag_names: list[str]) -> Validator:
    """Epochs of a token classifier are scored, and the best picked, by validation entity F1."""

    def measure(model: nn.Module) -> dict[str, float]:
        figures = word_metrics(predict_word_logits(model, encoded), encoded.num_words, tags, tag_names)
        return {name: value for name, value in figures.items() if name != "per_type"}

    return Validator("entity_f1", measure)
