"""Tiny config-built models and synthetic data shared by the tests (no downloads)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

POSITIVE = ["great", "wonderful", "moving", "brilliant", "funny", "charming", "superb", "delightful"]
NEGATIVE = ["dull", "awful", "boring", "clumsy", "tedious", "bland", "terrible", "messy"]
FILLER = ["the", "film", "movie", "plot", "acting", "is", "was", "really", "quite", "a", "story", "and",
          "cast", "script", "ending", "with", "very", "of", "its", "director"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def synthetic_rows(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """Sentences whose label follows the majority of sentiment words, with varied lengths."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = "pos" if index % 2 == 0 else "neg"
        major, minor = (POSITIVE, NEGATIVE) if label == "pos" else (NEGATIVE, POSITIVE)
        words = rng.choices(FILLER, k=rng.randint(3, 40)) + rng.choices(major, k=3) + rng.choices(minor, k=rng.randint(0, 1))
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def save_tiny_encoder(path: Path, layers: int = 2, hidden: int = 32, heads: int = 2, seed: int = 0) -> Path:
    """A randomly initialised BERT classifier + WordPiece tokenizer, as a Hugging Face directory."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    words = SPECIAL + sorted(set(POSITIVE + NEGATIVE + FILLER))
    BertTokenizerFast(vocab={word: index for index, word in enumerate(words)}, do_lower_case=True).save_pretrained(path)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(words), hidden_size=hidden,
        num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=hidden * 2,
        max_position_embeddings=128, num_labels=2, initializer_range=0.1,
    )
    BertForSequenceClassification(config).save_pretrained(path)
    return path
