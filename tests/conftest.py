"""Session-wide fixtures: offline hubs, synthetic data, and tiny trained models."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

from tests.tiny import save_tiny_encoder, synthetic_rows, train_tiny_student, write_csv


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
    """A 1-layer BERT student directory trained a few epochs with plain cross-entropy.

    Built directly (not through `distill`) so target tests don't depend on the trainer.
    """
    return train_tiny_student(tmp_path_factory.mktemp("student") / "tiny-student", tiny_csv)


@pytest.fixture(scope="session")
def tiny_mpnet_student_dir(tmp_path_factory, tiny_csv):
    """The same, with MPNet's architecture (relative position bias, no segment ids) and tokenizer."""
    return train_tiny_student(tmp_path_factory.mktemp("mpnet-student") / "tiny-mpnet", tiny_csv, family="mpnet")


@pytest.fixture(scope="session")
def tiny_tagger_dir(tmp_path_factory):
    """A 2-layer BERT token classifier (people and places, IOB2) trained by `teach` on 480 synthetic sentences."""
    from edgedistill.data import DataSpec
    from edgedistill.distill.config import TeachConfig
    from edgedistill.distill.teach import run_teach
    from edgedistill.tasks.kinds import TOKEN_TASK
    from tests.tiny import TAGGED_WORDS, synthetic_tagged, write_tagged_jsonl

    data = write_tagged_jsonl(tmp_path_factory.mktemp("tagged") / "people.jsonl", synthetic_tagged(480))
    base = save_tiny_encoder(tmp_path_factory.mktemp("tagger-base") / "tiny", extra_words=TAGGED_WORDS)
    out = tmp_path_factory.mktemp("tagger") / "tiny-tagger"
    run_teach(TeachConfig(data=DataSpec(source=str(data)), out=out, base=str(base), task=TOKEN_TASK, epochs=8,
                          batch_size=8, min_steps=0, patience=None, learning_rate=3e-3, max_length=32))
    return out
