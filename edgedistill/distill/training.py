"""The training loop shared by `teach` and `distill`.

The schedule is counted in optimizer steps. It runs `epochs` passes over the training set (more when
that gives fewer than `min_steps` updates), or exactly `steps` when they are given, with a linear warmup
and decay over them. Every `eval_every` steps (default: one epoch) rank 0 scores the model on the
validation split, keeps the best weights and checkpoints; training stops early once `patience`
evaluations in a row have not improved on the best. Ties on the validation metric go to the
tie-breaker (distill: agreement with the teacher). The test split never enters.

Batches are length-bucketed, fixed by (seed, epoch), and dropout is reseeded at every evaluation
interval, so a run resumed from any checkpoint ends exactly where an uninterrupted one does.
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
    patience: int | None = None  # evaluations without a better validation score before stopping; None: never
    steps: int | None = None  # the whole schedule in optimizer steps; None: from epochs and min_steps
    eval_every: int | None = None  # steps between validations; None: one epoch

    @classmethod
    def from_config(cls, config, eval_every: int | None = None) -> TrainSettings:
        """The loop settings of a TeachConfig or DistillConfig, checked; `eval_every` is the stage's default."""
        settings = cls(epochs=config.epochs, batch_size=config.batch_size, learning_rate=config.learning_rate,
                       seed=config.seed, weight_decay=config.weight_decay, warmup_fraction=config.warmup_fraction,
                       min_steps=config.min_steps, patience=config.patience, steps=config.steps,
                       eval_every=config.eval_every or eval_every)
        settings.validate()
        return settings

    def planned_epochs(self, steps_per_epoch: int) -> int:
        """`epochs`, or more when that many would give fewer than `min_steps` updates."""
        return max(self.epochs, math.ceil(self.min_steps / max(1, steps_per_epoch)))

    def planned_steps(self, steps_per_epoch: int) -> int:
        """`steps` when given, else whole epochs: `planned_epochs` of them."""
        return self.steps if self.steps is not None else self.planned_epochs(steps_per_epoch) * steps_per_epoch

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
            raise UserError(f"--patience must be at least 1 evaluation (got {self.patience})")
        if self.steps is not None and self.steps < 1:
            raise UserError(f"--steps must be at least 1 (got {self.steps})")
        if self.eval_every is not None and self.eval_every < 1:
            raise UserError(f"--eval-every must be at least 1 step (got {self.eval_every})")


@dataclass(frozen=True)
class Validator:
    """How the model is scored on the validation split: `measure(classifier)` gives named figures, `metric` names
    the one that picks the best weights (accuracy for texts, entity F1 for tagged words), and `tie_breaker` the
    one that decides between equal scores (agreement with the teacher), if any."""

    metric: str
    measure: Callable[[nn.Module], dict[str, float]]
    tie_breaker: str | None = None

    def rank(self, scores: dict[str, float]) -> tuple[float, float]:
        return scores[self.metric], scores[self.tie_breaker] if self.tie_breaker else 0.0


@dataclass
class TrainResult:
    progress: TrainProgress
    steps_per_epoch: int
    planned_steps: int
    eval_every: int

    @property
    def history(self) -> list[dict]:
        return self.progress.history

    @property
    def best(self) -> dict:
        return self.history[self.progress.best_evaluation - 1] if self.history else {}

    @property
    def best_epoch(self) -> int:
        """The epoch the best weights were reached in (the first is 1)."""
        return math.ceil(self.best.get("step", 0) / self.steps_per_epoch)

    @property
    def planned_epochs(self) -> float:
        return self.planned_steps / self.steps_per_epoch

    @property
    def still_rising(self) -> bool:
        """Whether the run went its whole length and its last evaluation was the best so far (a strict improvement):
        more training would likely help."""
        return (len(self.history) >= 2 and self.progress.steps_done == self.planned_steps
                and self.progress.best_evaluation == len(self.history))


def training_record(result: TrainResult, ctx: DistContext, started: float, **seconds: float) -> dict:
    """What every stage's metrics.json says about its training: the best evaluation, the validation history, the
    schedule and the rows it went through, the `seconds` of each phase, the threads, processes and device, and the
    wall time since `started`."""
    progress = result.progress
    return {"best_epoch": result.best_epoch, "best_step": result.best.get("step", 0), "validation": result.best,
            "history": result.history,
            "schedule": {"steps": progress.steps_done, "planned_steps": result.planned_steps,
                         "steps_per_epoch": result.steps_per_epoch, "eval_every": result.eval_every,
                         "stopped_early": progress.steps_done < result.planned_steps},
            "rows_seen": {"all": progress.rows_seen, "teacher_labels_only": progress.soft_rows_seen},
            "timings": {**seconds, "threads": torch.get_num_threads(), "processes": ctx.world_size,
                        "device": device_name(ctx.device)},
            "wall_seconds": time.perf_counter() - started}


def train(objective: nn.Module, train_set: EncodedTexts, validator: Validator, settings: TrainSettings,
          store: CheckpointStore, resume: bool, ctx: DistContext, soft_only: np.ndarray | None = None) -> TrainResult:
    """Train `objective` in place; on return its classifier holds the best validation weights. `soft_only` marks
    the rows that learn from the teacher alone, to count them."""
    classifier = objective.classifier
    objective.to(ctx.device)
    lengths = train_set.lengths
    steps_per_epoch = len(ctx.shard(training_batches(lengths, settings.batch_size, settings.seed, 0)))
    total_steps = settings.planned_steps(steps_per_epoch)
    eval_every = min(settings.eval_every or steps_per_epoch, total_steps)
    optimizer = build_optimizer(objective, settings.learning_rate, settings.weight_decay)
    scheduler = linear_schedule(optimizer, int(settings.warmup_fraction * total_steps), total_steps)
    state, best_state = _restore(store, resume, objective, optimizer, scheduler, steps_per_epoch, ctx)
    trainable = ctx.wrap(objective)
    epoch_batches: dict[int, list[np.ndarray]] = {}

    def batch_at(step: int) -> np.ndarray:
        epoch, position = divmod(step, steps_per_epoch)
        if epoch not in epoch_batches:
            epoch_batches.clear()
            epoch_batches[epoch] = ctx.shard(training_batches(lengths, settings.batch_size, settings.seed, epoch + 1))
        return epoch_batches[epoch][position]

    while state.steps_done < total_steps:
        stalled = settings.patience is not None and len(state.history) - state.best_evaluation >= settings.patience
        if ctx.decided_by_main(stalled):
            log(f"stopping early: validation {validator.metric} has not improved for {settings.patience} evaluations",
                ctx.is_main)
            break
        first, last = state.steps_done, min(state.steps_done + eval_every, total_steps)
        started = time.perf_counter()
        torch.manual_seed(_interval_seed(settings.seed, first // eval_every + 1, ctx.rank))
        objective.train()
        loss_sum = torch.zeros((), device=ctx.device)
        for step in progress(range(first, last), _describe(first, last, total_steps, steps_per_epoch), enabled=ctx.is_main):
            rows = batch_at(step)
            with _autocast(ctx.device):
                loss = trainable(collate(train_set, rows).to(ctx.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(objective.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach()
            state.rows_seen += len(rows) * ctx.world_size
            state.soft_rows_seen += int(soft_only[rows].sum()) * ctx.world_size if soft_only is not None else 0
        state.steps_done = last
        if ctx.is_main:
            best_state = _evaluate(state, best_state, float(loss_sum) / (last - first), time.perf_counter() - started,
                                   classifier, validator, total_steps, steps_per_epoch)
            store.save(objective, optimizer, scheduler, state, best_state)
        ctx.barrier()

    if ctx.is_main and best_state is not None:
        classifier.load_state_dict(best_state)
    classifier.eval()
    return TrainResult(state, steps_per_epoch, total_steps, eval_every)


def _describe(first: int, last: int, total: int, steps_per_epoch: int) -> str:
    """The progress bar's label: the epoch when intervals are epochs, else the steps."""
    if first % steps_per_epoch == 0 and last - first == steps_per_epoch:
        return f"epoch {last // steps_per_epoch}/{math.ceil(total / steps_per_epoch)}"
    return f"steps {first + 1}-{last}/{total}"


def _autocast(device: torch.device):
    """bfloat16 autocast on a GPU (2-3x faster steps, no loss scaling needed); nothing on the CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _restore(store, resume, objective, optimizer, scheduler, steps_per_epoch, ctx) -> tuple[TrainProgress, dict | None]:
    """The saved state with --resume, else a fresh start that discards any old checkpoint."""
    if resume and store.resumable():
        state, best_state = store.load(objective, optimizer, scheduler)
        log(f"resuming after step {state.steps_done} (epoch {state.steps_done / steps_per_epoch:.2f}) from {store.path}",
            ctx.is_main)
        return state, best_state
    if resume:
        log(f"no checkpoint in {store.path}; starting from the first step", ctx.is_main)
    elif ctx.is_main:
        store.clear()
    return TrainProgress(), None


def _evaluate(state: TrainProgress, best_state, train_loss, seconds, classifier, validator: Validator, total_steps: int,
              steps_per_epoch: int):
    """Score on validation, record the evaluation, and return the (possibly new) best weights."""
    scores = validator.measure(classifier)
    epoch = state.steps_done / steps_per_epoch
    state.history.append({"step": state.steps_done, "epoch": round(epoch, 3), "train_loss": train_loss,
                          "seconds": seconds, **{f"validation_{name}": value for name, value in scores.items()}})
    improved = list(validator.rank(scores)) > state.best_rank
    if improved:
        state.best_rank, state.best_evaluation = list(validator.rank(scores)), len(state.history)
        best_state = {name: tensor.detach().clone() for name, tensor in classifier.state_dict().items()}
    log(f"step {state.steps_done}/{total_steps} (epoch {epoch:.2f}): train loss {train_loss:.4f}, validation "
        f"{validator.metric} {scores[validator.metric]:.4f}{' (best)' if improved else ''}, {seconds:.1f} s")
    return best_state


def _interval_seed(seed: int, interval: int, rank: int) -> int:
    """Dropout randomness depends only on (seed, evaluation interval, rank), so a resumed run repeats it exactly."""
    return int(np.random.SeedSequence([seed, interval, rank]).generate_state(1)[0])
