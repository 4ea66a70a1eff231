"""The student as every backend exports it: (input_ids, attention_mask) -> logits.

The wrapper builds its own additive 4-D attention mask. Hugging Face's mask builder
breaks ExecuTorch calibration and leaves extra ops outside delegates; a plain
`(1 - mask) * -1e4` gives identical logits. -1e4 rather than finfo.min keeps the
mask quantizable: a huge fill wrecks int8 ranges.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
from torch import nn

from edgedistill.modeldir import require_model_dir

MASK_FILL = -1e4
INPUT_NAMES = ["input_ids", "attention_mask"]
OUTPUT_NAMES = ["logits"]


class ExportableClassifier(nn.Module):
    """A Hugging Face encoder classifier with a self-built additive mask and logits-only output."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        # BERT-style models take segment ids (all zero for one text); MPNet and DistilBERT have none.
        self.takes_token_types = "token_type_ids" in inspect.signature(model.forward).parameters

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * MASK_FILL
        segments = {"token_type_ids": torch.zeros_like(input_ids)} if self.takes_token_types else {}
        return self.model(input_ids=input_ids, attention_mask=additive, **segments).logits


def load_exportable(model_dir: Path) -> ExportableClassifier:
    """The student wrapped for export, in eval mode, with eager attention (exportable everywhere)."""
    from edgedistill.model.classifiers import load_trained_classifier

    require_model_dir(model_dir, "student")
    return ExportableClassifier(load_trained_classifier(model_dir, eager_attention=True)).eval()


def example_inputs(vocab_size: int, length: int, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and a mask with some padding, for tracing and export."""
    input_ids = torch.randint(0, vocab_size, (batch, length), dtype=torch.long)
    attention_mask = torch.ones((batch, length), dtype=torch.long)
    attention_mask[:, length - max(1, length // 4):] = 0
    return input_ids, attention_mask
