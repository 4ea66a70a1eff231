"""A student with its vocabulary cut to the tokens its task's texts use, and its embedding rows sliced to match.

The kept tokens come from the training split and the transfer set the student was distilled with. The held-out
texts (validation and test) only measure what pruning cost: the share of their tokens that become [UNK], and the
validation and test scores before and after (accuracy; entity F1 for a token classifier, whose sentences are
tokenized as the words it reads). Export counts the validation cost against the profile's budget.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.data.dataset import LabelledTexts
from edgedistill.data.splits import load_splits, load_transfer
from edgedistill.data.tagged import (
    TaggedSentences,
    load_tagged_splits,
    load_transfer_sentences,
)
from edgedistill.errors import UserError, first_line
from edgedistill.fsutil import atomic_output_dir, named_path, require_apart, require_replaceable
from edgedistill.jsonio import read_json, write_json
from edgedistill.metrics import accuracy, drop_points
from edgedistill.model.classifiers import classifier_task
from edgedistill.modeldir import (
    METRICS_FILE,
    is_written_model_dir,
    read_data_spec,
    read_distill_record,
    read_labels,
    require_model_dir,
)
from edgedistill.tasks.kinds import TASK_METRICS, TOKEN_TASK
from edgedistill.tasks.words import first_subtokens, word_metrics
from edgedistill.text.prune import (
    Items,
    kept_token_ids,
    pruned_tokenizer_json,
    unknown_share,
    wordpiece_parts,
)

TOKENIZER_FILE = "tokenizer.json"
WEIGHTS_FILE = "model.safetensors"
_EMBEDDING_SUFFIX = "embeddings.word_embeddings.weight"
_TOKEN_ID_KEYS = ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id")
_DEFAULT_MAX_LENGTH = 128


def prune_student(student_dir: Path, out_dir: Path, overwrite: bool = True, min_count: int = 1) -> dict[str, Any]:
    """Write the pruned copy of `student_dir` to `out_dir` and return what pruning kept and cost; `min_count` is how
    many times the task's texts must produce a token for it to stay."""
    from tokenizers import Tokenizer

    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise UserError(f"the pruning min count must be a whole number of at least 1 (got {min_count!r})")
    student_dir = require_model_dir(Path(student_dir), "student")
    if not (student_dir / WEIGHTS_FILE).is_file():
        raise UserError(f"{student_dir} has no single {WEIGHTS_FILE} to prune (sharded checkpoints are not supported)")
    require_apart(out_dir, [("student", student_dir)])
    out_dir = named_path(out_dir)
    require_replaceable(out_dir, is_written_model_dir, overwrite)  # before the texts are tokenized
    payload = read_json(student_dir / TOKENIZER_FILE, "tokenizer")
    vocab, special_ids = wordpiece_parts(payload, str(student_dir / TOKENIZER_FILE))
    record = read_distill_record(student_dir)
    task = _task_items(student_dir, record)
    original = Tokenizer.from_str(json.dumps(payload))
    keep = kept_token_ids(original, vocab, special_ids, task.kept_from, min_count)
    pruned_payload = pruned_tokenizer_json(payload, keep)
    pruned = Tokenizer.from_str(json.dumps(pruned_payload))
    unk_token = payload["model"].get("unk_token", "[UNK]")
    report: dict[str, Any] = {
        "tokens_before": len(vocab), "tokens_after": len(keep), "task_texts": len(task.kept_from), "min_count": min_count,
        "held_out_unknown_share_before": unknown_share(original, vocab[unk_token], task.held_out),
        "held_out_unknown_share_after": unknown_share(pruned, pruned_payload["model"]["vocab"][unk_token], task.held_out),
    }
    with atomic_output_dir(out_dir, is_written_model_dir, overwrite=overwrite) as scratch:
        for source in student_dir.iterdir():
            if source.is_file() and source.name not in (TOKENIZER_FILE, WEIGHTS_FILE, "config.json", METRICS_FILE):
                shutil.copyfile(source, scratch / source.name)
        # Compact, as the tokenizers library writes it: the tokenizer ships in every bundle, and indented it is about
        # a third larger.
        (scratch / TOKENIZER_FILE).write_text(json.dumps(pruned_payload, ensure_ascii=False, separators=(",", ":")),
                                              encoding="utf-8")
        report["embedding_bytes_saved"] = _slice_embeddings(student_dir / WEIGHTS_FILE, scratch / WEIGHTS_FILE, keep)
        config = read_json(student_dir / "config.json", "model config")
        if not isinstance(config, dict):
            raise UserError(f"{student_dir / 'config.json'}: expected a JSON object (a Hugging Face model config)")
        write_json(scratch / "config.json", _pruned_config(config, keep))
        max_length = int(record.get("max_length") or _DEFAULT_MAX_LENGTH)
        metric = TASK_METRICS[task.task]
        report["metric"] = metric
        for name, split in (("validation", task.validation), ("test", task.test)):
            report[f"{name}_{metric}_before"] = task.score(student_dir, split, max_length)
            report[f"{name}_{metric}_after"] = task.score(scratch, split, max_length)
        # What export counts against the budget: the validation points pruning cost (0 when it cost nothing).
        report["validation_cost_points"] = max(
            0.0, drop_points(report[f"validation_{metric}_after"], report[f"validation_{metric}_before"]))
        metrics = read_json(student_dir / METRICS_FILE, "metrics")
        write_json(scratch / METRICS_FILE, {**metrics, "vocab_prune": report})
    return report


@dataclass
class _TaskItems:
    """A student's task as pruning reads it: the items whose tokens stay (training split and transfer set), the
    held-out items whose [UNK] share is reported, and the held-out splits scored before and after."""

    task: str
    labels: list[str]
    kept_from: Items
    held_out: Items
    validation: LabelledTexts | TaggedSentences
    test: LabelledTexts | TaggedSentences

    def score(self, model_dir: Path, split: LabelledTexts | TaggedSentences, max_length: int) -> float:
        """The task metric of the model at `model_dir` on `split`."""
        if self.task == TOKEN_TASK:
            rows = student_word_logits(model_dir, split.tokens, max_length)
            return word_metrics(rows, [len(words) for words in split.tokens], split.tags, self.labels)["entity_f1"]
        return accuracy(student_logits(model_dir, split.texts, max_length), split.labels)


def _task_items(student_dir: Path, record: dict[str, Any]) -> _TaskItems:
    """The splits the student was trained on, and the transfer set selected exactly as distill selected it."""
    spec, labels = read_data_spec(student_dir), read_labels(student_dir)
    transfer = record.get("transfer")
    text_column = (record.get("data") or {}).get("text_column", "text")
    transfer_args = (str(transfer), text_column, record.get("transfer_limit"), int(record.get("seed", 13)))
    task = classifier_task(student_dir)
    if task == TOKEN_TASK:
        tagged = load_tagged_splits(spec.source, spec.test_source, spec.seed, spec.validation_fraction,
                                    spec.test_fraction)
        held_out = tagged.validation.tokens + tagged.test.tokens
        sentences = load_transfer_sentences(*transfer_args, held_out)[0] if transfer else []
        return _TaskItems(task, labels, tagged.train.tokens + sentences, held_out, tagged.validation, tagged.test)
    splits = load_splits(spec, label_names=labels)
    held_out = splits.validation.texts + splits.test.texts
    texts = load_transfer(*transfer_args, held_out)[0] if transfer else []
    return _TaskItems(task, labels, splits.train.texts + texts, held_out, splits.validation, splits.test)


def _slice_embeddings(source: Path, destination: Path, keep: list[int]) -> int:
    """Copy the weights with only the kept rows of the word-embedding table; returns the bytes saved."""
    import torch
    from safetensors.torch import load_file, save_file

    try:
        tensors = load_file(str(source))
    except Exception as exc:  # safetensors raises its own error types for truncated or garbled files
        raise UserError(f"cannot read the weights in {source}: {first_line(exc)}") from None
    names = [name for name in tensors if name.endswith(_EMBEDDING_SUFFIX)]
    if len(names) != 1:
        raise UserError(f"{source}: expected one word-embedding table (*{_EMBEDDING_SUFFIX}), found {len(names)}")
    table = tensors[names[0]]
    if keep[-1] >= table.shape[0]:
        raise UserError(f"{source}: the tokenizer has ids up to {keep[-1]} but the embedding table has {table.shape[0]} rows")
    tensors[names[0]] = table[torch.tensor(keep)].contiguous()
    save_file(tensors, str(destination), metadata={"format": "pt"})
    return (table.shape[0] - len(keep)) * table.shape[1] * table.element_size()


def _pruned_config(config: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    new_id = {old: new for new, old in enumerate(keep)}
    pruned = {**config, "vocab_size": len(keep)}
    for key in _TOKEN_ID_KEYS:
        if isinstance(config.get(key), int) and config[key] in new_id:
            pruned[key] = new_id[config[key]]
        elif isinstance(config.get(key), int):
            pruned[key] = None  # a special the tokenizer does not define; the classifier never reads it
    return pruned


def student_logits(model_dir: Path, texts: list[str], max_length: int = _DEFAULT_MAX_LENGTH) -> np.ndarray:
    """fp32 logits of a student directory on `texts`, tokenized by its own tokenizer."""
    from edgedistill.model.reference import reference_logits
    from edgedistill.model.wrapper import load_exportable
    from edgedistill.text.encode import TextEncoder

    ids, mask = TextEncoder(Path(model_dir) / TOKENIZER_FILE, max_length).encode(texts)
    return reference_logits(load_exportable(Path(model_dir)), ids, mask)


def student_word_logits(model_dir: Path, sentences: list[list[str]], max_length: int = _DEFAULT_MAX_LENGTH
                        ) -> list[np.ndarray]:
    """fp32 logits of a token-classifier directory at each kept word's first sub-token, one array per sentence."""
    from edgedistill.model.reference import reference_logits
    from edgedistill.model.wrapper import load_exportable
    from edgedistill.text.encode import TextEncoder

    ids, mask, word_ids = TextEncoder(Path(model_dir) / TOKENIZER_FILE, max_length).encode_words(sentences)
    logits = reference_logits(load_exportable(Path(model_dir)), ids, mask)
    return [logits[row][first_subtokens(positions)] for row, positions in enumerate(word_ids)]

