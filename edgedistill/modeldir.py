"""The on-disk contract of a teacher or student directory (torch-free).

A model directory is a Hugging Face `save_pretrained` directory (config, safetensors,
tokenizer files) plus:
- `labels.json`: `{"labels": [name, ...]}`, list index = class id;
- `data.json`: the DataSpec it was trained on, so later stages re-derive the same test split;
- `metrics.json`: figures measured on the held-out test split.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgedistill.data.dataset import DataSpec
from edgedistill.errors import UserError
from edgedistill.jsonio import read_json, write_json
from edgedistill.typed_config import from_mapping

LABELS_FILE = "labels.json"
DATA_FILE = "data.json"
METRICS_FILE = "metrics.json"
DISTILL_FILE = "distill.json"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")
# Everything `save_pretrained` may write for an encoder classifier and its tokenizer, plus our own files.
_WRITTEN_FILES = frozenset(TOKENIZER_FILES + (
    "config.json", "generation_config.json", "model.safetensors", "model.safetensors.index.json", "merges.txt",
    "vocab.json", "added_tokens.json", "spm.model", "sentencepiece.bpe.model", "tokenizer.model", "chat_template.jinja",
    LABELS_FILE, DATA_FILE, METRICS_FILE, DISTILL_FILE))
_WEIGHT_SHARD = re.compile(r"^model-\d{5}-of-\d{5}\.safetensors$")


def is_written_model_dir(path: Path) -> bool:
    """Whether `path` is a teacher or student directory that teach/distill wrote (and so may replace).

    A Hugging Face model directory of the user's own has no labels.json/metrics.json and is never taken for one.
    """
    path = Path(path)
    entries = list(path.iterdir())
    return (all(entry.is_file() and not entry.is_symlink()
                and (entry.name in _WRITTEN_FILES or _WEIGHT_SHARD.match(entry.name)) for entry in entries)
            and {LABELS_FILE, METRICS_FILE} <= {entry.name for entry in entries})


def require_model_dir(path: Path, role: str) -> Path:
    """Check that `path` looks like a classifier directory made by teach/distill."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{role} directory {path} not found")
    missing = [name for name in ("config.json", LABELS_FILE) if not (path / name).is_file()]
    if missing:
        raise UserError(f"{path} is not a {role} directory from edgedistill (missing {', '.join(missing)})")
    return path


def read_labels(path: Path) -> list[str]:
    payload = read_json(Path(path) / LABELS_FILE, "label map")
    labels = payload.get("labels") if isinstance(payload, dict) else None
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise UserError(f"{Path(path) / LABELS_FILE}: expected {{\"labels\": [at least two names]}}")
    return labels


def write_labels(path: Path, labels: list[str]) -> None:
    write_json(Path(path) / LABELS_FILE, {"labels": list(labels)})


def read_data_spec(path: Path) -> DataSpec:
    return from_mapping(DataSpec, read_json(Path(path) / DATA_FILE, "data spec"), str(Path(path) / DATA_FILE))


def write_data_spec(path: Path, spec: DataSpec) -> None:
    write_json(Path(path) / DATA_FILE, spec.to_dict())


def read_metrics(path: Path) -> dict:
    return read_json(Path(path) / METRICS_FILE, "metrics")


def read_distill_record(path: Path) -> dict:
    """A student's distill.json (the settings that made it), or {} for a model `distill` did not write."""
    record_file = Path(path) / DISTILL_FILE
    record = read_json(record_file, "distill config") if record_file.is_file() else {}
    if not isinstance(record, dict):
        raise UserError(f"{record_file}: expected a JSON object")
    return record
