"""Typed configs for `teach` and `distill`; the CLI fills them, or a TOML/YAML file does."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from edgedistill.data.augment import AugmentSettings
from edgedistill.data.dataset import DataSpec

# At least this many optimizer steps, however small the dataset: 2 epochs of a 2,000-text train split
# (125 steps) left a teacher weaker than its own student; 300 is 3 epochs of MR at batch 32.
MIN_STEPS = 300
# Stop after this many evaluations without a better validation score.
PATIENCE = 2


@dataclass(kw_only=True)
class TrainingConfig:
    """What `teach` and `distill` share: the data, the output and the training schedule."""

    data: DataSpec
    out: Path
    epochs: int
    batch_size: int = 32
    learning_rate: float
    max_length: int = 128
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1  # of all steps, then linear decay to 0
    min_steps: int = MIN_STEPS
    patience: int | None = PATIENCE  # evaluations
    steps: int | None = None  # the whole schedule in optimizer steps, instead of epochs
    threads: int | None = None  # None: OMP_NUM_THREADS, else every core this process may use
    eval_every: int | None = None  # steps between validations; None: the stage's default
    seed: int = 13
    resume: bool = False
    overwrite: bool = True


@dataclass(kw_only=True)
class TeachConfig(TrainingConfig):
    base: str | None = None  # a model directory or builtin:NAME; None: builtin:all-minilm-l6-v2
    # One label per text, or one IOB2 tag per word (data: CoNLL columns, {"tokens", "tags"} JSON lines, builtin:conll2003).
    task: Literal["sequence-classification", "token-classification"] = "sequence-classification"
    # Token classification: train on each word's first sub-token only, or on all of them (a word's continuation
    # sub-tokens take its I- tag). Prediction always reads the first sub-token.
    label_subtokens: Literal["first", "all"] = "first"
    epochs: int = 3
    learning_rate: float = 5e-5


@dataclass(kw_only=True)
class DistillConfig(TrainingConfig):
    teacher: Path
    layers: int | None = None  # None with no layer_map: half the teacher's layers
    layer_map: list[int] | None = None  # layers of the teacher, or of student_base when given
    student_base: str | None = None  # another pretrained encoder (directory or builtin:NAME) to take layers from
    init: Literal["teacher", "random"] = "teacher"
    temperature: float = 4.0
    alpha: float = 0.5
    epochs: int = 4
    learning_rate: float = 1e-4
    transfer: str | None = None
    transfer_limit: int | None = None  # None: every transfer text
    # Intermediate losses by name ("hidden", "attention", "pkd") with their weights.
    losses: dict[str, float] = field(default_factory=dict)
    # "batchmean" is correct KD; "mean" reproduces nn.KLDivLoss()'s default for ablations only.
    kl_reduction: Literal["batchmean", "mean"] = "batchmean"
    # Teacher-labelled variants of every labelled training text (data.augment); they learn from the teacher alone.
    augment: int = 0
    augment_mask: float = AugmentSettings.mask
    augment_replace: float = AugmentSettings.replace
    augment_ngram: float = AugmentSettings.ngram
    # Where the teacher labels texts: "auto" times PyTorch against its ONNX Runtime export and keeps the faster.
    teacher_runtime: Literal["auto", "torch", "onnxruntime"] = "auto"

    @property
    def augment_settings(self) -> AugmentSettings:
        return AugmentSettings(copies=self.augment, mask=self.augment_mask, replace=self.augment_replace,
                               ngram=self.augment_ngram)


StageConfig = TypeVar("StageConfig", TeachConfig, DistillConfig)

# Command-line flags that set a field other than the one of their own name.
FLAG_FIELDS = {
    "data": ("data.source",), "text_column": ("data.text_column",), "label_column": ("data.label_column",),
    "test_data": ("data.test_source",), "seed": ("seed", "data.seed"), "loss": ("losses",),
}


def with_flag_overrides(base: StageConfig, from_flags: StageConfig, flags: set[str]) -> StageConfig:
    """`base` (read from a config file) with the fields of the flags given on the command line taken from `from_flags`."""
    for flag in sorted(flags):
        for dotted in FLAG_FIELDS.get(flag, (flag,)):
            base = _replace(base, dotted.split("."), _lookup(from_flags, dotted.split(".")))
    return base


def _lookup(config: Any, path: list[str]) -> Any:
    for name in path:
        config = getattr(config, name)
    return config


def _replace(config: Any, path: list[str], value: Any) -> Any:
    head, *rest = path
    return dataclasses.replace(config, **{head: _replace(getattr(config, head), rest, value) if rest else value})
