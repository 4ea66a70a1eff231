"""Session-wide fixtures: offline hubs, synthetic data, and tiny trained models."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

from tests.tiny import save_tiny_encoder, synthetic_rows, write_csv


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory):
    """A balanced two-class CSV (`text`, `label`) of 400 synthetic sentences."""
    return write_csv(tmp_path_factory.mktemp("data") / "tiny.csv", synthetic_rows(400))


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """An untrained 2-layer BERT classifier directory, as `teach --base` takes."""
    return save_tiny_encoder(tmp_path_factory.mktemp("base") / "encoder", layers=2)


@pytest.fixture(scope="session")
def tiny_student_dir(tmp_path_factory, tiny_csv):
    """A 1-layer student directory trained a few epochs with plain cross-entropy.

    Built directly (not through `distill`) so target tests don't depend on the trainer.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from edgedistill.data import DataSpec, load_splits
    from edgedistill.jsonio import write_json
    from edgedistill.modeldir import write_data_spec, write_labels

    path = save_tiny_encoder(tmp_path_factory.mktemp("student") / "tiny-student", layers=1, seed=1)
    spec = DataSpec(source=str(tiny_csv))
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
            encoded = tokenizer([splits.train.texts[i] for i in batch], padding=True, return_tensors="pt")
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
        encoded = tokenizer(splits.test.texts, padding=True, return_tensors="pt")
        predictions = model(**encoded).logits.argmax(-1)
    accuracy = float((predictions == torch.tensor(splits.test.labels)).float().mean())
    write_json(path / "metrics.json", {"student": {"accuracy": accuracy}, "teacher": {"accuracy": accuracy}})
    return path
