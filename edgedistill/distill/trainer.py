"""`edgedistill distill`: train a shallower student on the teacher's soft labels.

Straight line: check the inputs, pick the layer map, build the student, get the teacher's logits
(once per text, from the cache), train with KD (+ intermediate losses), measure teacher and student
on the held-out test split, write the student directory.

The student is a shallower copy of the teacher (DistilBERT style), or, with `student_base`, layers
of another pretrained encoder with its own width and tokenizer. The teacher always reads texts in
its own tokenization; the student in its own.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from edgedistill.data import DataSpec, load_splits
from edgedistill.data.splits import load_transfer
from edgedistill.distill.batches import encode_texts, load_tokenizer
from edgedistill.distill.checkpoint import CheckpointStore, fingerprint
from edgedistill.distill.config import DistillConfig
from edgedistill.distill.console import log
from edgedistill.distill.distributed import (
    DistContext,
    distributed_context,
)
from edgedistill.distill.evaluate import classification_metrics, text_validator
from edgedistill.distill.layer_map import resolve_layer_map, top_aligned_layer_map
from edgedistill.distill.losses import (
    UNLABELLED,
    IntermediateLosses,
    build_intermediate_losses,
    validate_kd_settings,
)
from edgedistill.distill.objectives import (
    DistillationObjective,
    FrozenTeacher,
    KDSettings,
)
from edgedistill.distill.outputs import (
    finish_stage,
    require_output_dir,
    write_model_dir,
)
from edgedistill.distill.predict import predict_logits
from edgedistill.distill.student import count_parameters, describe_layer_map
from edgedistill.distill.student_source import StudentSource, teacher_and_student
from edgedistill.distill.teacher_augment import augmented_set
from edgedistill.distill.teacher_cache import label_with_teacher, teacher_logits
from edgedistill.distill.token_distill import run_token_distill
from edgedistill.distill.training import TrainSettings, train, training_record
from edgedistill.errors import UserError
from edgedistill.metrics import agreement
from edgedistill.model.classifiers import (
    TOKEN_TASK,
    check_max_length,
    classifier_task,
    read_model_config,
    require_classifier_dir,
)
from edgedistill.modeldir import DATA_FILE, DISTILL_FILE, read_data_spec


def split_like_teacher(spec: DataSpec, teacher_dir: Path) -> DataSpec:
    """The teacher's split of the same data, so no teacher-training sentence lands in the student's test set.

    Only the training seed may differ between stages; the split follows the data the teacher saw.
    """
    if not (Path(teacher_dir) / DATA_FILE).is_file():
        return spec
    teacher_spec = read_data_spec(teacher_dir)
    if teacher_spec.source != spec.source:
        return spec
    return dataclasses.replace(spec, seed=teacher_spec.seed, validation_fraction=teacher_spec.validation_fraction,
                               test_fraction=teacher_spec.test_fraction,
                               test_source=spec.test_source or teacher_spec.test_source)


def run_distill(config: DistillConfig) -> dict:
    """Distil `config.teacher` into a student written to `config.out`; return the test metrics."""
    started = time.perf_counter()
    settings = TrainSettings.from_config(config)
    validate_kd_settings(config.temperature, config.alpha)
    label_names = require_classifier_dir(config.teacher)
    require_output_dir(config.out, config.overwrite, [
        ("teacher", config.teacher), ("student base", config.student_base), ("data", config.data.source),
        ("test data", config.data.test_source), ("transfer set", config.transfer)])
    config.augment_settings.validate()
    config = dataclasses.replace(config, data=split_like_teacher(config.data, config.teacher))
    teacher_config = read_model_config(config.teacher)
    source = StudentSource.of(config)
    check_max_length(config.max_length, teacher_config)
    check_max_length(config.max_length, source.config)
    layer_map = resolve_layer_map(source.config.num_hidden_layers, config.layers, config.layer_map)
    intermediate = _intermediate_losses(config, teacher_config, source, layer_map)
    if classifier_task(config.teacher) == TOKEN_TASK:
        if config.augment:
            raise UserError("--augment applies to text classification only; a token classifier's teacher labels "
                            "its transfer sentences instead (--transfer)")
        return run_token_distill(config, label_names, layer_map, source, _distill_record(config, layer_map), settings,
                                 intermediate)
    splits = load_splits(config.data, label_names)
    held_out = splits.validation.texts + splits.test.texts
    transfer = _transfer_texts(config, held_out)
    record = _distill_record(config, layer_map)
    with distributed_context(config.threads) as ctx:
        tokenizer, teacher_tokenizer = load_tokenizer(source.path), load_tokenizer(config.teacher)
        augmented = augmented_set(ctx, config, splits.train.texts, held_out, (tokenizer, teacher_tokenizer))
        extra = transfer + augmented.student_texts
        train_texts = splits.train.texts + extra
        train_labels = splits.train.labels + [UNLABELLED] * len(extra)
        store = CheckpointStore(config.out, fingerprint(record, train_texts, train_labels))
        if config.resume:
            store.resumable()  # fails fast on a checkpoint of other settings, before any heavy work
        log(f"layer map: {describe_layer_map(layer_map, source.name)}", ctx.is_main)
        teacher, student = teacher_and_student(config, source, label_names, layer_map, intermediate)
        teacher_train_texts = splits.train.texts + transfer + augmented.teacher_texts
        every_text = teacher_train_texts + splits.validation.texts + splits.test.texts
        all_logits, labelling = _shared_teacher_logits(ctx, config, every_text)
        soft_labels, teacher_validation_logits, teacher_test_logits = np.split(
            all_logits, np.cumsum([len(train_texts), len(splits.validation)]))

        frozen_teacher = None
        if intermediate is not None:
            teacher_encoded = encode_texts(teacher_tokenizer, teacher_train_texts, config.max_length)
            frozen_teacher = FrozenTeacher(teacher, teacher_encoded, attentions=intermediate.needs_attentions)
        objective = DistillationObjective(
            student, train_labels, torch.from_numpy(np.ascontiguousarray(soft_labels)),
            KDSettings(config.temperature, config.alpha, config.kl_reduction), intermediate, frozen_teacher,
        )
        training_started = time.perf_counter()
        validation_set = encode_texts(tokenizer, splits.validation.texts, config.max_length)
        if extra and settings.eval_every is None:  # validate once per pass over the labelled texts
            settings = dataclasses.replace(settings, eval_every=max(1, math.ceil(len(splits.train) / settings.batch_size)))
        result = train(objective, encode_texts(tokenizer, train_texts, config.max_length),
                       text_validator(validation_set, splits.validation.labels, teacher_validation_logits),
                       settings, store, config.resume, ctx, soft_only=np.array(train_labels) == UNLABELLED)
        train_seconds = time.perf_counter() - training_started
        teacher_validation = classification_metrics(teacher_validation_logits, splits.validation.labels)["accuracy"]
        _warn_on_weak_teacher(result.best.get("validation_accuracy", 0.0), teacher_validation, ctx.is_main)

        def write() -> dict:
            student_logits = predict_logits(student, encode_texts(tokenizer, splits.test.texts, config.max_length))
            total, non_embedding = count_parameters(student)
            metrics = {
                "teacher": {**classification_metrics(teacher_test_logits, splits.test.labels),
                            "params": count_parameters(teacher)[0]},
                "student": {**classification_metrics(student_logits, splits.test.labels),
                            "params": total, "non_embedding_params": non_embedding},
                "agreement": agreement(student_logits, teacher_test_logits),
                "layer_map": layer_map,
                "student_base": source.name,
                "teacher_validation_accuracy": teacher_validation,
                "train_texts": {"labelled": len(splits.train), "transfer": len(transfer),
                                "augmented": len(augmented.student_texts)},
                "augment": augmented.record,
                "teacher_labelling": labelling,
                **training_record(result, ctx, started, teacher_logits_seconds=labelling["seconds"],
                                  train_seconds=train_seconds),
            }
            write_model_dir(config.out, student, tokenizer, label_names, config.data, metrics,
                            extra_json={DISTILL_FILE: record}, overwrite=config.overwrite)
            return metrics

        return finish_stage(ctx, store, config.out, write)


def _intermediate_losses(config: DistillConfig, teacher_config, source: StudentSource,
                         layer_map: list[int]) -> IntermediateLosses | None:
    """The configured intermediate losses, built (and so checked) before any weights load; None when there are none.

    A student copied from the teacher imitates the layers it was copied from; a student from another
    model imitates teacher layers spread evenly up to the teacher's last.
    """
    student_config = copy.deepcopy(source.config)
    student_config.num_hidden_layers = len(layer_map)
    imitated = layer_map if source.is_teacher else top_aligned_layer_map(teacher_config.num_hidden_layers, len(layer_map))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # the projections' initial weights
        intermediate = build_intermediate_losses(config.losses, teacher_config, student_config, imitated,
                                                 aligned_tokens=source.shares_tokenizer)
    return intermediate if intermediate.losses else None


def _warn_on_weak_teacher(student_validation: float, teacher_validation: float, enabled: bool) -> None:
    """A student that beats its teacher on validation says the teacher is under-trained, not that KD worked."""
    if student_validation > teacher_validation:
        log(f"warning: the student beats its teacher on validation ({student_validation:.4f} > {teacher_validation:.4f}); "
            "the teacher is likely under-trained: teach it longer (--epochs, --min-steps) or from a larger --base", enabled)


def _transfer_texts(config: DistillConfig, held_out: list[str]) -> list[str]:
    """The unlabelled transfer set, minus any text of the validation or test split (no leakage)."""
    if config.transfer is None:
        return []
    kept, dropped = load_transfer(config.transfer, config.data.text_column, config.transfer_limit, config.seed, held_out)
    if dropped:
        log(f"transfer set: dropped {dropped} texts that are in the validation or test split")
    return kept


def _shared_teacher_logits(ctx: DistContext, config: DistillConfig, texts: list[str]) -> tuple[np.ndarray, dict]:
    """The teacher's logits of `texts` and what labelling cost: each process labels its share of the texts the
    cache lacks, then every process reads them all from the cache."""
    logits, report = label_with_teacher(config.teacher, texts, config.max_length, ctx.is_main, config.teacher_runtime,
                                        shard=(ctx.rank, ctx.world_size))
    ctx.barrier()
    if ctx.enabled:
        logits = teacher_logits(config.teacher, texts, config.max_length, show_progress=False)
    return logits, {**report.as_dict(), "processes": ctx.world_size}


def _distill_record(config: DistillConfig, layer_map: list[int]) -> dict:
    """distill.json: the settings that made this student, with the resolved layer map."""
    record = asdict(config)
    for invocation_only in ("resume", "overwrite"):
        record.pop(invocation_only)
    record.update(teacher=str(Path(config.teacher).resolve()), out=str(config.out), layer_map=layer_map)
    return record
