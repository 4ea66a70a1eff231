"""fp32 PyTorch logits of the student: the reference every artifact is measured against."""

from __future__ import annotations

import numpy as np
import torch

from edgedistill.model.wrapper import ExportableClassifier


@torch.inference_mode()
def reference_logits(model: ExportableClassifier, input_ids: np.ndarray, attention_mask: np.ndarray,
                     batch_size: int = 64) -> np.ndarray:
    """Logits for int64 arrays of shape (N, L), computed in batches."""
    outputs = []
    for start in range(0, len(input_ids), batch_size):
        ids = torch.from_numpy(input_ids[start:start + batch_size])
        mask = torch.from_numpy(attention_mask[start:start + batch_size])
        outputs.append(model(ids, mask).float().numpy())
    return np.concatenate(outputs, axis=0)
