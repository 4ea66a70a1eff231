"""Tokenised texts and length-bucketed batches with dynamic padding.

Texts are tokenised once. Each batch holds texts of similar length and is padded only to its
own longest text, which on short sentences makes a step several times cheaper than padding
to `max_length`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgedistill.errors import UserError, first_line
from edgedistill.text.encode import clip_text

# Texts are shuffled, then sorted by length inside windows of this many batches, so that batches
# are nearly uniform in length yet still differ from epoch to epoch.
BUCKET_WINDOW_BATCHES = 50


@dataclass
class EncodedTexts:
    """Token ids of each text (no padding), truncated to the model's `max_length`."""

    token_ids: list[list[int]]
    pad_id: int

    def __len__(self) -> int:
        return len(self.token_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.token_ids), dtype=np.int64, count=len(self.token_ids))


@dataclass
class Batch:
    """Padded model inputs and the dataset rows they came from."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    rows: torch.Tensor

    def to(self, device: torch.device) -> Batch:
        return Batch(self.input_ids.to(device, non_blocking=True), self.attention_mask.to(device, non_blocking=True),
                     self.rows.to(device, non_blocking=True))


def load_tokenizer(model_dir: Path, words: bool = False):
    """The fast tokenizer saved with a Hugging Face model; `words` readies byte-level BPE ones (RoBERTa, GPT-2)
    for pre-split words, which they must see with a leading space as inside a sentence."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, use_fast=True)
        if words and _refuses_split_words(tokenizer):
            tokenizer = AutoTokenizer.from_pretrained(model_dir, use_fast=True, add_prefix_space=True)
        return tokenizer
    except Exception as exc:  # malformed tokenizer files fail in transformers or tokenizers, in many ways
        raise UserError(f"cannot load the tokenizer in {model_dir} ({type(exc).__name__}: {first_line(exc)})") from None


def _refuses_split_words(tokenizer) -> bool:
    try:
        tokenizer([["word"]], is_split_into_words=True)
    except ValueError as exc:
        if "add_prefix_space" in str(exc):
            return True
        raise
    return False


def encode_texts(tokenizer, texts: list[str], max_length: int) -> EncodedTexts:
    """Tokenise `texts` once, with special tokens, truncated to `max_length` tokens."""
    encoded = tokenizer([clip_text(text, max_length) for text in texts], truncation=True, max_length=max_length,
                        padding=False, return_attention_mask=False, return_token_type_ids=False)
    return EncodedTexts(token_ids=encoded["input_ids"], pad_id=padding_id(tokenizer))


def padding_id(tokenizer) -> int:
    """The id batches are padded with: the tokenizer's pad token, else 0."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def collate(encoded: EncodedTexts, rows: np.ndarray) -> Batch:
    """Pad the texts at `rows` to the longest of them."""
    sequences = [encoded.token_ids[row] for row in rows]
    width = max(len(ids) for ids in sequences)
    input_ids = np.full((len(sequences), width), encoded.pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
    for position, ids in enumerate(sequences):
        input_ids[position, :len(ids)] = ids
        attention_mask[position, :len(ids)] = 1
    return Batch(torch.from_numpy(input_ids), torch.from_numpy(attention_mask), torch.from_numpy(np.asarray(rows, dtype=np.int64)))


def training_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Rows grouped into shuffled, length-bucketed batches; the same (seed, epoch) gives the same batches."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    window = batch_size * BUCKET_WINDOW_BATCHES
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def inference_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Rows sorted by length into batches, for the least padding at inference."""
    order = np.argsort(lengths, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
