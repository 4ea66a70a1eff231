"""`edgedistill teach`: fine-tune a local Hugging Face encoder into the teacher classifier.

The best epoch is chosen on the validation split; the test split is only used for the final figures.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import torch

from edgedistill.data import load_splits
from edgedistill.distill.backbones import resolve_backbone
from edgedistill.distill.batches import encode_texts, load_tokenizer
from edgedistill.distill.checkpoint import CheckpointStore, fingerprint
from edgedistill.distill.config import TeachConfig
from edgedistill.distill.console import log
from edgedistill.distill.distributed import device_name, distributed_context
from edgedistill.distill.evaluate import classification_metrics
from edgedistill.distill.objectives import ClassifierObjective
from edgedistill.distill.outputs import finish_stage, require_output_dir, write_model_dir
from edgedistill.distill.predict import predict_logits
from edgedistill.distill.student import count_parameters
from edgedistill.distill.training import TrainSettings, train
from edgedistill.model.classifiers import check_max_length, check_vocabulary, load_base_classifier, read_model_config


def run_teach(config: TeachConfig) -> dict:
    """Fine-tune `config.base` on the train split and write the teacher directory; return its metrics."""
    started = time.perf_counter()
    settings = TrainSettings.from_config(config)
    splits = load_splits(config.data)
    require_output_dir(config.out, config.overwrite)
    base = resolve_backbone(config.base)
    check_max_length(config.max_length, read_model_config(base))
    run_key = {**asdict(config), "base": str(base), "resume": None, "overwrite": None}
    store = CheckpointStore(config.out, fingerprint(run_key, splits.train.texts, splits.train.labels))
    if config.resume:
        store.resumable()  # fails fast on a checkpoint of other settings, before any heavy work
    with distributed_context() as ctx:
        tokenizer = load_tokenizer(base)
        model = load_base_classifier(base, splits.label_names, config.seed)
        check_vocabulary(tokenizer, model, base)
        log(f"teach: {base} on {len(splits.train)} train / {len(splits.validation)} validation texts", ctx.is_main)
        train_set = encode_texts(tokenizer, splits.train.texts, config.max_length)
        validation_set = encode_texts(tokenizer, splits.validation.texts, config.max_length)
        training_started = time.perf_counter()
        result = train(ClassifierObjective(model, splits.train.labels), train_set, validation_set,
                       splits.validation.labels, settings, store, config.resume, ctx)
        train_seconds = time.perf_counter() - training_started
        if result.still_rising:
            log(f"warning: validation accuracy was still rising at the last epoch ({result.planned_epochs}); "
                f"more training would likely help: try --epochs {result.planned_epochs + 2}", ctx.is_main)

        def write() -> dict:
            test_logits = predict_logits(model, encode_texts(tokenizer, splits.test.texts, config.max_length))
            metrics = {
                "teacher": {**classification_metrics(test_logits, splits.test.labels), "params": count_parameters(model)[0]},
                "base": str(base),
                "best_epoch": result.best_epoch,
                "still_rising": result.still_rising,
                "validation": result.best_validation,
                "history": result.history,
                "timings": {"train_seconds": train_seconds, "threads": torch.get_num_threads(), "processes": ctx.world_size,
                            "device": device_name(ctx.device)},
                "wall_seconds": time.perf_counter() - started,
            }
            write_model_dir(config.out, model, tokenizer, splits.label_names, config.data, metrics, overwrite=config.overwrite)
            return metrics

        return finish_stage(ctx, store, config.out, write)
