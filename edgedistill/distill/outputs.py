"""Writing a finished teacher or student directory, all at once or not at all, from rank 0."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from edgedistill.data.dataset import DataSpec
from edgedistill.distill.checkpoint import CHECKPOINT_FILES, CheckpointStore, checkpoint_dir
from edgedistill.distill.distributed import DistContext
from edgedistill.fsutil import atomic_output_dir, holds_only, named_path, require_apart, require_replaceable
from edgedistill.jsonio import write_json
from edgedistill.model.classifiers import quiet_transformers
from edgedistill.modeldir import METRICS_FILE, is_written_model_dir, read_metrics, write_data_spec, write_labels


def write_model_dir(out: Path, model: nn.Module, tokenizer, label_names: list[str], spec: DataSpec, metrics: dict,
                    extra_json: dict[str, object] | None = None, overwrite: bool = True) -> None:
    """Save the model (safetensors), tokenizer, labels.json, data.json, metrics.json and any extra JSON files."""
    model.config.id2label = dict(enumerate(label_names))
    model.config.label2id = {name: index for index, name in enumerate(label_names)}
    with atomic_output_dir(named_path(out), is_written_model_dir, overwrite=overwrite) as scratch:
        with quiet_transformers():
            model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        write_labels(scratch, label_names)
        write_data_spec(scratch, spec)
        write_json(scratch / METRICS_FILE, metrics)
        for name, payload in (extra_json or {}).items():
            write_json(scratch / name, payload)


def require_output_dir(out: Path, overwrite: bool, inputs: list[tuple[str, object]]) -> None:
    """Fail before training, not after it, when `out` overlaps one of the stage's `inputs` or cannot take the model
    (see `write_model_dir`), or when a link stands where its checkpoint goes."""
    require_apart(out, inputs)
    require_replaceable(named_path(out), is_written_model_dir, overwrite)
    require_replaceable(checkpoint_dir(out), holds_only(CHECKPOINT_FILES))


def finish_stage(ctx: DistContext, store: CheckpointStore, out: Path, write: Callable[[], dict]) -> dict:
    """Rank 0 writes the output directory and drops the checkpoint; every rank returns the metrics."""
    if ctx.is_main:
        metrics = write()
        store.clear()
    ctx.barrier()
    return metrics if ctx.is_main else read_metrics(out)
