"""Loading the encoders and classifiers that teach and distill start from."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from torch import nn

from edgedistill.errors import UserError, first_line
from edgedistill.jsonio import read_json
from edgedistill.modeldir import LABELS_FILE, read_labels
from edgedistill.tasks.kinds import SEQUENCE_TASK, TOKEN_TASK

# The Hugging Face head of each task, by the suffix of its architecture name.
HEAD_SUFFIXES = {SEQUENCE_TASK: "ForSequenceClassification", TOKEN_TASK: "ForTokenClassification"}


def require_classifier_dir(path: Path) -> list[str]:
    """Check that `path` is a classifier written by `edgedistill teach`; return its label names."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"teacher directory {path} not found")
    config = read_json(path / "config.json", "model config")
    _require_classifier(path, config.get("architectures") if isinstance(config, dict) else None)
    if not (path / LABELS_FILE).is_file():
        raise UserError(f"{path} is not a classifier from `edgedistill teach` (no {LABELS_FILE}); fine-tune one with `edgedistill teach`")
    return read_labels(path)


def _require_classifier(path: Path, architectures: object) -> str:
    """The task of the classifier head `architectures` names (see HEAD_SUFFIXES)."""
    names = [str(name) for name in architectures] if isinstance(architectures, list) else []
    for task, suffix in HEAD_SUFFIXES.items():
        if any(name.endswith(suffix) for name in names):
            return task
    raise UserError(f"{path} is not a classifier ({', '.join(names) or 'no architecture'}); "
                    "pass a directory written by `edgedistill teach` or `edgedistill distill`")


def classifier_task(path: Path) -> str:
    """sequence-classification or token-classification, from the saved model's architecture."""
    return _require_classifier(Path(path), read_model_config(path).architectures)


def _auto_class(task: str):
    import transformers

    return getattr(transformers, f"AutoModel{HEAD_SUFFIXES[task]}")


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' own progress bars and warnings (e.g. about the new head, which is new on purpose)."""
    from transformers.utils import logging

    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def read_model_config(path: Path):
    """The Hugging Face config of the model in `path`, without loading its weights."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(path)
    except Exception as exc:  # a malformed config fails in json, transformers or huggingface_hub, in many ways
        raise UserError(f"cannot read the model config in {path}: {first_line(exc)}") from None


def load_base_classifier(base: Path, label_names: list[str], seed: int, task: str = SEQUENCE_TASK) -> nn.Module:
    """An encoder with a fresh head for `task` over `label_names`, initialised from `seed`."""
    import torch

    try:
        with quiet_transformers(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return _auto_class(task).from_pretrained(
                base, num_labels=len(label_names), id2label=dict(enumerate(label_names)),
                label2id={name: i for i, name in enumerate(label_names)}, ignore_mismatched_sizes=True,
            )
    except Exception as exc:  # truncated weights, shapes that disagree with the config: safetensors, torch, transformers
        raise UserError(f"cannot load {base} as an encoder: {first_line(exc)}") from None


def load_trained_classifier(path: Path, eager_attention: bool = False) -> nn.Module:
    """A saved classifier in eval mode; eager attention when attention maps are needed."""
    config = read_model_config(path)
    task = _require_classifier(Path(path), config.architectures)
    if eager_attention:
        config._attn_implementation = "eager"
    try:
        with quiet_transformers():
            model = _auto_class(task).from_pretrained(path, config=config)
    except Exception as exc:  # truncated weights, shapes that disagree with the config: safetensors, torch, transformers
        raise UserError(f"cannot load the classifier in {path}: {first_line(exc)}") from None
    return model.eval()


def check_vocabulary(tokenizer, model: nn.Module, path: Path) -> None:
    """Every token id the tokenizer can produce must have a row in the model's embedding table."""
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise UserError(f"{path}: the tokenizer has {len(tokenizer)} tokens but the model embeds only {rows}; "
                        "its config.json or tokenizer files do not belong together")


def check_max_length(max_length: int, model_config) -> None:
    """`max_length` must leave room for special tokens and fit the model's position table."""
    limit = getattr(model_config, "max_position_embeddings", None)
    if max_length < 4 or (limit is not None and max_length > limit):
        raise UserError(f"--max-length must lie between 4 and {limit} for this model (got {max_length})")
