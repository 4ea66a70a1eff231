"""Batched inference of a classifier over tokenised texts."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edgedistill.distill.batches import EncodedTexts, collate, inference_batches
from edgedistill.distill.console import progress

INFERENCE_BATCH_SIZE = 64


def predict_logits(model: nn.Module, encoded: EncodedTexts, batch_size: int = INFERENCE_BATCH_SIZE,
                   description: str | None = None, show_progress: bool = True) -> np.ndarray:
    """float32 logits [N, classes] in the order of `encoded`, computed in eval mode."""
    was_training = model.training
    model.eval()
    batches = inference_batches(encoded.lengths, batch_size)
    device = next(model.parameters()).device
    outputs: list[torch.Tensor] = []
    with torch.inference_mode():
        for rows in progress(batches, description or "predict", enabled=show_progress and description is not None):
            batch = collate(encoded, rows).to(device)
            outputs.append(model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits.float())
    model.train(was_training)
    logits = torch.cat(outputs).cpu().numpy()
    ordered = np.empty_like(logits)
    ordered[np.concatenate(batches)] = logits
    return ordered
