"""The training loop shared by `teach` and `distill`.

Per epoch: reseed, train on length-bucketed batches (this rank's shard), then on rank 0 evaluate
on the validation split, keep the best epoch's weights and checkpoint. The test split never enters.

The schedule is set in steps as well as epochs: a small dataset gets at least `min_steps` updates
(more epochs), and training stops early once validation has not improved for `patience` epochs.
On a GPU the forward pass runs under bfloat16 autocast; weights and optimizer stay float32.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from edgedistill.distill.batches import EncodedTexts, collate, training_batches
from edgedistill.distill.checkpoint import CheckpointStore, TrainProgress
from edgedistill.distill.console import log, progress
from edgedistill.distill.distributed import DistContext, device_name
from edgedistill.distill.optim import build_optimizer, linear_schedule
from edgedistill.errors import UserError

MAX_GRAD_NORM = 1.0


@dataclass(frozen=True)
class TrainSettings:
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    min_steps: int = 0
    patience: int | None = None  # epochs without a better validation score before stopping; None: never

    @classmethod
    def from_config(cls, config) -> TrainSettings:
        """The loop settings of a TeachConfig or DistillConfig, checked."""
        settings = cls(epochs=config.epochs, batch_size=config.batch_size, learning_rate=config.learning_rate,
                       seed=config.seed, weight_decay=config.weight_decay, warmup_fraction=config.warmup_fraction,
                       min_steps=config.min_steps, patience=config.patience)
        settings.validate()
        return settings

    def planned_epochs(self, steps_per_epoch: int) -> int:
        """`epochs`, or more when that many would give fewer than `min_steps` updates."""
        return max(self.epochs, math.ceil(self.min_steps / max(1, steps_per_epoch)))

    def validate(self) -> None:
        """Reject settings that cannot train, with a one-line message."""
        if self.epochs < 1:
            raise UserError(f"--epochs must be at least 1 (got {self.epochs})")
        if self.batch_size < 1:
            raise UserError(f"--batch-size must be at least 1 (got {self.batch_size})")
        if not 0 < self.learning_rate < math.inf:
            raise UserError(f"--learning-rate must be a finite number above 0 (got {self.learning_rate})")
        if not 0 <= self.warmup_fraction < 1:
            raise UserError(f"warmup_fraction must lie in [0, 1) (got {self.warmup_fraction})")
        if self.weight_decay < 0:
            raise UserError(f"weight_decay must be >= 0 (got {self.weight_decay})")
        if self.min_steps < 0:
            raise UserError(f"--min-steps must be >= 0 (got {self.min_steps})")
        if self.patience is not None and self.patience < 1:
            raise UserError(f"--patience must be at least 1 epoch (got {self.patience})")


@dataclass(frozen=True)
class Validator:
    """How an epoch is scored on the validation split: `measure(classifier)` gives named figures, and `metric`
    names the one that picks the best epoch (accuracy for texts, entity F1 for tagged words)."""

    metric: str
    measure: Callable[[nn.Module], dict[str, float]]


@dataclass
class TrainResult:
    best_epoch: int
    best_validation: dict
    history: list[dict]
    planned_epochs: int

    @property
    def still_rising(self) -> bool:
        """Whether the last planned epoch was the best so far (a strict improvement): more training would likely help."""
        return len(self.history) == self.planned_epochs >= 2 and self.best_epoch == self.planned_epochs


def training_record(result: TrainResult, ctx: DistContext, started: float, **seconds: float) -> dict:
    """What every stage's metrics.json says about its training: the best epoch, the validation history, the
    `seconds` of each phase, the threads, processes and device, and the wall time since `started`."""
    return {"best_epoch": result.best_epoch, "validation": result.best_validation, "history": result.history,
            "timings": {**seconds, "threads": torch.get_num_threads(), "processes": ctx.world_size,
                        "device": device_name(ctx.device)},
            "wall_seconds": time.perf_counter() - started}


def train(objective: nn.Module, train_set: EncodedTexts, validator: Validator, settings: TrainSettings, store: CheckpointStore, resume: bool, ctx: DistContext) -> TrainResult:
    """Train `objective` in place; on return its classifier holds the best validation epoch's weights."""
    classifier = objective.classifier
    objective.to(ctx.device)
    lengths = train_set.lengths
    steps_per_epoch = len(ctx.shard(training_batches(lengths, settings.batch_size, settings.seed, 0)))
    epochs = settings.planned_epochs(steps_per_epoch)
    total_steps = steps_per_epoch * epochs
    optimizer = build_optimizer(objective, settings.learning_rate, settings.weight_decay)
    scheduler = linear_schedule(optimizer, int(settings.warmup_fraction * total_steps), total_steps)
    state, best_state = _restore(store, resume, objective, optimizer, scheduler, ctx)
    trainable = ctx.wrap(objective)

    for epoch in range(state.epochs_done + 1, epochs + 1):
        if settings.patience is not None and state.epochs_done - state.best_epoch >= settings.patience:
            log(f"stopping early: validation {validator.metric} has not improved for {settings.patience} epochs", ctx.is_main)
            break
        started = time.perf_counter()
        torch.manual_seed(_epoch_seed(settings.seed, epoch, ctx.rank))
        objective.train()
        batches = ctx.shard(training_batches(lengths, settings.batch_size, settings.seed, epoch))
        loss_sum = torch.zeros((), device=ctx.device)
        for rows in progress(batches, f"epoch {epoch}/{epochs}", enabled=ctx.is_main):
            with _autocast(ctx.device):
                loss = trainable(collate(train_set, rows).to(ctx.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(objective.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach()
        if ctx.is_main:
            best_state = _end_epoch(epoch, epochs, state, best_state, float(loss_sum) / len(batches),
                                    time.perf_counter() - started, classifier, validator)
            store.save(objective, optimizer, scheduler, state, best_state)
        ctx.barrier()

    if ctx.is_main:
        classifier.load_state_dict(best_state)
    classifier.eval()
    best = state.history[state.best_epoch - 1] if state.history else {}
    return TrainResult(best_epoch=state.best_epoch, best_validation=best, history=state.history, planned_epochs=epochs)


def _autocast(device: torch.device):
    """bfloat16 autocast on a GPU (2-3x faster steps, no loss scaling needed); nothing on the CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _restore(store, resume, objective, optimizer, scheduler, ctx) -> tuple[TrainProgress, dict | None]:
    """The saved state with --resume, else a fresh start that discards any old checkpoint."""
    if resume and store.resumable():
        state, best_state = store.load(objective, optimizer, scheduler)
        log(f"resuming after epoch {state.epochs_done} from {store.path}", ctx.is_main)
        return state, best_state
    if resume:
        log(f"no checkpoint in {store.path}; starting from the first epoch", ctx.is_main)
    elif ctx.is_main:
        store.clear()
    return TrainProgress(), None


def _end_epoch(epoch, epochs, state, best_state, train_loss, seconds, classifier, validator: Validator):
    """Evaluate on validation, record the epoch, and return the (possibly new) best weights."""
    scores = validator.measure(classifier)
    state.history.append({"epoch": epoch, "train_loss": train_loss, "seconds": seconds,
                          **{f"validation_{name}": value for name, value in scores.items()}})
    state.epochs_done = epoch
    improved = scores[validator.metric] > state.best_score
    if improved:
        state.best_score, state.best_epoch = scores[validator.metric], epoch
        best_state = {name: tensor.detach().clone() for name, tensor in classifier.state_dict().items()}
    log(f"epoch {epoch}/{epochs}: train loss {train_loss:.4f}, validation {validator.metric} "
        f"{scores[validator.metric]:.4f}{' (best)' if improved else ''}, {seconds:.1f} s")
    return best_state


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """Dropout randomness depends only on (seed, epoch, rank), so a resumed run repeats it exactly."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])
