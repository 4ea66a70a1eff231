"""`edgedistill distill` for a token classifier: word-level KD from the teacher's per-word soft tags.

The same straight line as for texts (see trainer.py), with words in place of texts: the teacher's logits are
taken at each word's first sub-token in the teacher's own tokenization and cached per sentence; the student
reads the same words in its own tokenization and is compared word by word, so a student with another
tokenizer than the teacher's learns from it too. Transfer text is split into words at whitespace and
learns from the teacher's soft tags alone. Epochs are picked by validation entity F1. Intermediate losses
work as for texts: position by position where the student shares the teacher's tokenizer, [CLS] states (pkd) across.
"""

from __future__ import annotations

import time

import numpy as np

from edgedistill.data.tagged import (
    TaggedSentences,
    load_tagged_splits,
    load_transfer_sentences,
)
from edgedistill.distill.batches import load_tokenizer
from edgedistill.distill.checkpoint import CheckpointStore, fingerprint
from edgedistill.distill.config import DistillConfig
from edgedistill.distill.console import log
from edgedistill.distill.distributed import distributed_context
from edgedistill.distill.losses import IntermediateLosses
from edgedistill.distill.objectives import FrozenTeacher, KDSettings
from edgedistill.distill.outputs import finish_stage, write_model_dir
from edgedistill.distill.student import count_parameters, describe_layer_map
from edgedistill.distill.student_source import StudentSource, teacher_and_student
from edgedistill.distill.teacher_cache import teacher_word_logits
from edgedistill.distill.token_task import (
    TokenObjective,
    encode_words,
    predict_word_logits,
    token_validator,
)
from edgedistill.distill.training import TrainSettings, train, training_record
from edgedistill.errors import UserError
from edgedistill.modeldir import DISTILL_FILE
from edgedistill.tasks.words import IGNORED, word_metrics, word_tag_predictions


def run_token_distill(config: DistillConfig, label_names: list[str], layer_map: list[int], source: StudentSource, record: dict,
                      settings: TrainSettings, intermediate: IntermediateLosses | None = None) -> dict:
    """Distil the token classifier `config.teacher` into a student at `config.out`; return the test metrics."""
    started = time.perf_counter()
    data = config.data
    splits = load_tagged_splits(data.source, data.test_source, data.seed, data.validation_fraction, data.test_fraction)
    if splits.tag_names != label_names and not set(splits.tag_names) <= set(label_names):
        raise UserError(f"{data.source} has tags {', '.join(sorted(set(splits.tag_names) - set(label_names)))} "
                        f"that the teacher does not know ({', '.join(label_names)})")
    ids = {tag: index for index, tag in enumerate(label_names)}
    transfer = _transfer_sentences(config, splits.validation, splits.test)
    train_words = splits.train.tokens + transfer
    train_labels = [[ids[tag] for tag in tags] for tags in splits.train.tags] + [[IGNORED] * len(w) for w in transfer]
    store = CheckpointStore(config.out, fingerprint(record, [" ".join(words) for words in train_words], train_labels))
    if config.resume:
        store.resumable()
    with distributed_context(config.threads) as ctx:
        log(f"layer map: {describe_layer_map(layer_map, source.name)}", ctx.is_main)
        teacher, student = teacher_and_student(config, source, label_names, layer_map, intermediate)
        logits_started = time.perf_counter()
        every = train_words + splits.validation.tokens + splits.test.tokens
        soft = teacher_word_logits(config.teacher, every, config.max_length, show_progress=ctx.is_main)
        soft_train, teacher_test = soft[:len(train_words)], soft[len(train_words) + len(splits.validation):]
        logits_seconds = time.perf_counter() - logits_started
        tokenizer = load_tokenizer(source.path, words=True)
        train_set = encode_words(tokenizer, train_words, config.max_length)
        frozen_teacher = None
        if intermediate is not None:
            teacher_encoded = encode_words(load_tokenizer(config.teacher, words=True), train_words, config.max_length)
            frozen_teacher = FrozenTeacher(teacher, teacher_encoded, attentions=intermediate.needs_attentions)
        objective = TokenObjective(student, train_set, train_labels, soft_train, KDSettings(config.temperature, config.alpha),
                                   intermediate=intermediate, teacher=frozen_teacher)
        validation_set = encode_words(tokenizer, splits.validation.tokens, config.max_length)
        training_started = time.perf_counter()
        result = train(objective, train_set, token_validator(validation_set, splits.validation.tags, label_names),
                       settings, store, config.resume, ctx)
        train_seconds = time.perf_counter() - training_started

        def write() -> dict:
            test_set = encode_words(tokenizer, splits.test.tokens, config.max_length)
            student_test = predict_word_logits(student, test_set)
            total, non_embedding = count_parameters(student)
            counts = [len(words) for words in splits.test.tokens]
            metrics = {
                "task": "token-classification",
                "teacher": {**word_metrics(teacher_test, counts, splits.test.tags, label_names),
                            "params": count_parameters(teacher)[0]},
                "student": {**word_metrics(student_test, counts, splits.test.tags, label_names),
                            "params": total, "non_embedding_params": non_embedding},
                "agreement": word_agreement(student_test, teacher_test, counts, label_names),
                "layer_map": layer_map,
                "student_base": source.name,
                "train_sentences": {"labelled": len(splits.train), "transfer": len(transfer)},
                **training_record(result, ctx, started, teacher_logits_seconds=logits_seconds,
                                  train_seconds=train_seconds),
            }
            write_model_dir(config.out, student, tokenizer, label_names, config.data, metrics,
                            extra_json={DISTILL_FILE: record}, overwrite=config.overwrite)
            return metrics

        return finish_stage(ctx, store, config.out, write)


def word_agreement(student: list[np.ndarray], teacher: list[np.ndarray], counts: list[int], tag_names: list[str]) -> float:
    """Share of words tagged alike by student and teacher."""
    ours, theirs = (word_tag_predictions(logits, counts, tag_names) for logits in (student, teacher))
    pairs = [(a, b) for first, second in zip(ours, theirs) for a, b in zip(first, second)]
    return sum(a == b for a, b in pairs) / max(len(pairs), 1)


def _transfer_sentences(config: DistillConfig, validation: TaggedSentences, test: TaggedSentences) -> list[list[str]]:
    """Unlabelled transfer text split into words at whitespace, minus any sentence of validation or test."""
    if config.transfer is None:
        return []
    kept, dropped = load_transfer_sentences(config.transfer, config.data.text_column, config.transfer_limit,
                                            config.seed, validation.tokens + test.tokens)
    if dropped:
        log(f"transfer set: dropped {dropped} sentences that are in the validation or test split")
    return kept
