"""`edgedistill teach`: fine-tune a local Hugging Face encoder into the teacher classifier.

The best epoch is chosen on the validation split; the test split is only used for the final figures.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from edgedistill.distill.backbones import resolve_backbone
from edgedistill.distill.batches import load_tokenizer
from edgedistill.distill.checkpoint import CheckpointStore, fingerprint
from edgedistill.distill.config import TeachConfig
from edgedistill.distill.console import log
from edgedistill.distill.distributed import distributed_context
from edgedistill.distill.outputs import (
    finish_stage,
    require_output_dir,
    write_model_dir,
)
from edgedistill.distill.student import count_parameters
from edgedistill.distill.teach_data import teach_task
from edgedistill.distill.training import TrainSettings, train, training_record
from edgedistill.model.classifiers import (
    TOKEN_TASK,
    check_max_length,
    check_vocabulary,
    load_base_classifier,
    read_model_config,
)


def _longer(config: TeachConfig, result) -> tuple[str, str]:
    """Where the run ended, and the flag of a longer schedule to try."""
    if config.steps is not None:
        return f"step ({config.steps})", f"--steps {config.steps * 2}"
    epochs = round(result.planned_epochs)
    return f"epoch ({epochs})", f"--epochs {epochs + 2}"


def run_teach(config: TeachConfig) -> dict:
    """Fine-tune `config.base` on the train split and write the teacher directory; return its metrics."""
    started = time.perf_counter()
    settings = TrainSettings.from_config(config)
    data = teach_task(config.task, config.data, config.label_subtokens)
    require_output_dir(config.out, config.overwrite, [("base encoder", config.base), ("data", config.data.source),
                                                      ("test data", config.data.test_source)])
    base = resolve_backbone(config.base)
    check_max_length(config.max_length, read_model_config(base))
    run_key = {**asdict(config), "base": str(base), "resume": None, "overwrite": None}
    store = CheckpointStore(config.out, fingerprint(run_key, *data.fingerprint_rows))
    if config.resume:
        store.resumable()  # fails fast on a checkpoint of other settings, before any heavy work
    with distributed_context(config.threads) as ctx:
        tokenizer = load_tokenizer(base, words=config.task == TOKEN_TASK)
        model = load_base_classifier(base, data.label_names, config.seed, config.task)
        check_vocabulary(tokenizer, model, base)
        log(f"teach: {base} on {data.sizes[0]} train / {data.sizes[1]} validation examples ({config.task})", ctx.is_main)
        prepared = data.prepare(model, tokenizer, config.max_length)
        training_started = time.perf_counter()
        result = train(prepared.objective, prepared.train_set, prepared.validator, settings, store, config.resume, ctx)
        train_seconds = time.perf_counter() - training_started
        if result.still_rising:
            where, flag = _longer(config, result)
            log(f"warning: validation {prepared.validator.metric} was still rising at the last {where}; "
                f"more training would likely help: try {flag}", ctx.is_main)

        def write() -> dict:
            metrics = {
                "task": config.task,
                "teacher": {**data.test_metrics(model, prepared.test_set), "params": count_parameters(model)[0]},
                "base": str(base),
                "still_rising": result.still_rising,
                **training_record(result, ctx, started, train_seconds=train_seconds),
            }
            write_model_dir(config.out, model, tokenizer, data.label_names, config.data, metrics, overwrite=config.overwrite)
            return metrics

        return finish_stage(ctx, store, config.out, write)
