"""Tiny config-built models and synthetic data shared by the tests (no downloads)."""

from __future__ import annotations

import contextlib
import csv
import random
from collections.abc import Iterator
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


MPNET_SPECIAL = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"]
FAMILIES = ("bert", "roberta", "mpnet", "deberta-v2")


def save_tiny_encoder(path: Path, layers: int = 2, hidden: int = 32, heads: int = 2, seed: int = 0,
                      family: str = "bert", extra_words: tuple[str, ...] = ()) -> Path:
    """A randomly initialised classifier of `family` + WordPiece tokenizer, as a Hugging Face directory.

    MPNet gets MPNet's own special tokens (`<s>`, `<pad>` = 1, ...), so its ids differ from BERT's;
    `extra_words` grows the vocabulary, so two tiny models can have different vocabularies.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, BertTokenizerFast, MPNetTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    special = MPNET_SPECIAL if family == "mpnet" else SPECIAL
    words = special + sorted(set(POSITIVE + NEGATIVE + FILLER + list(extra_words)))
    vocab = {word: index for index, word in enumerate(words)}
    tokenizer = (MPNetTokenizerFast if family == "mpnet" else BertTokenizerFast)(vocab=vocab, do_lower_case=True)
    tokenizer.save_pretrained(path)
    torch.manual_seed(seed)
    config = _family_config(family, vocab_size=len(words), hidden_size=hidden, num_hidden_layers=layers,
                            num_attention_heads=heads, intermediate_size=hidden * 2, max_position_embeddings=128,
                            num_labels=2, initializer_range=0.1, pad_token_id=vocab[tokenizer.pad_token])
    AutoModelForSequenceClassification.from_config(config).save_pretrained(path)
    return path


def _family_config(family: str, **settings):
    from transformers import BertConfig, DebertaV2Config, MPNetConfig, RobertaConfig

    if family == "roberta":
        # RoBERTa numbers positions from pad_token_id + 1, so its table needs pad_token_id + 1 extra rows.
        settings["max_position_embeddings"] += settings["pad_token_id"] + 1
        return RobertaConfig(**settings)
    if family == "mpnet":
        settings["max_position_embeddings"] += settings["pad_token_id"] + 1
        return MPNetConfig(**settings)
    if family == "deberta-v2":
        return DebertaV2Config(**settings, relative_attention=True, position_biased_input=False,
                               pos_att_type=["p2c", "c2p"], max_relative_positions=64)
    return BertConfig(**settings)


def train_tiny_student(path: Path, data_csv: Path, family: str = "bert", extra_words: tuple[str, ...] = ()) -> Path:
    """A 1-layer classifier of `family` trained 12 epochs with cross-entropy, saved as a student directory."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from edgedistill.data import DataSpec, load_splits
    from edgedistill.jsonio import write_json
    from edgedistill.modeldir import write_data_spec, write_labels

    save_tiny_encoder(path, layers=1, seed=1, family=family, extra_words=extra_words)
    spec = DataSpec(source=str(data_csv))
    splits = load_splits(spec)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    torch.manual_seed(0)
    model.train()
    for _epoch in range(12):
        order = torch.randperm(len(splits.train)).tolist()
        for start in range(0, len(order), 32):
            batch = [order[i] for i in range(start, min(start + 32, len(order)))]
            encoded = tokenizer([splits.train.texts[i] for i in batch], padding=True, return_tensors="pt",
                                return_token_type_ids=False)
            labels = torch.tensor([splits.train.labels[i] for i in batch])
            loss = model(**encoded, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    model.config.id2label = dict(enumerate(splits.label_names))
    model.config.label2id = {name: i for i, name in enumerate(splits.label_names)}
    model.save_pretrained(path)
    write_labels(path, splits.label_names)
    write_data_spec(path, spec)
    with torch.no_grad():
        encoded = tokenizer(splits.test.texts, padding=True, return_tensors="pt", return_token_type_ids=False)
        predictions = model(**encoded).logits.argmax(-1)
    accuracy = float((predictions == torch.tensor(splits.test.labels)).float().mean())
    write_json(path / "metrics.json", {"student": {"accuracy": accuracy}, "teacher": {"accuracy": accuracy}})
    return path


PEOPLE = ["alice", "bob", "carol", "dave"]
PLACES = ["paris", "rome", "oslo", "lima"]
TAGGED_WORDS = tuple(PEOPLE + PLACES + ["met", "in", "visited", "from"])


def synthetic_tagged(count: int, seed: int = 0) -> list[dict]:
    """Sentences of filler words with people (one or two words: B-PER I-PER) and places (B-LOC) in them."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        tokens, tags = [], []
        for _part in range(rng.randint(1, 3)):
            filler = rng.choices(FILLER + ["met", "in", "visited", "from"], k=rng.randint(1, 4))
            tokens += filler
            tags += ["O"] * len(filler)
            if rng.random() < 0.5:
                person = rng.sample(PEOPLE, rng.randint(1, 2))
                tokens += person
                tags += ["B-PER"] + ["I-PER"] * (len(person) - 1)
            else:
                tokens.append(rng.choice(PLACES))
                tags.append("B-LOC")
        rows.append({"tokens": tokens, "tags": tags})
    return rows


def write_tagged_jsonl(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@contextlib.contextmanager
def isolated_training(cache: Path) -> Iterator[None]:
    """A private teacher-logit cache and one torch thread: reruns are bit-reproducible and the shared CPU stays calm."""
    import pytest
    import torch

    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDGEDISTILL_CACHE", str(cache))
        patch.setenv("OMP_NUM_THREADS", "1")
        torch.set_num_threads(1)
        yield
    torch.set_num_threads(threads)
