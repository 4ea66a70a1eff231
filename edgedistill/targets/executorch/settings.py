"""The typed settings of an ExecuTorch recipe (torch-free, so recipes can be listed without torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QatSettings:
    """The quantization-aware fine-tune against the teacher's logits."""

    epochs: int
    learning_rate: float
    batch_size: int
    temperature: float
    alpha: float
    seed: int


@dataclass(frozen=True)
class XnnpackSettings:
    """An int8 recipe: whether embedding tables become int8 too, and the QAT fine-tune when there is one."""

    quantize_embedding: bool
    qat: QatSettings | None = None
