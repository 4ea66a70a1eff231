"""PT2E int8 for XNNPACK: dynamic, calibrated PTQ or teacher-supervised QAT, plus int8 embedding tables.

Only `nn.Linear` gets int8 (per-channel symmetric weights): quantizing the mask add, Softmax and
LayerNorm as well collapses accuracy. Its activations are either static (one per-tensor range
observed on sample texts) or dynamic (a range per call, computed at run time by XNNPACK).
Embedding tables, which dominate a small student's file, are quantized weight-only (per-row)
and run as `embedding_byte` outside XNNPACK.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.export import ExportedProgram

from edgedistill.targets.executorch.convert import SequenceShape
from edgedistill.targets.executorch.settings import QatSettings
from edgedistill.text.encode import TextEncoder


class BatchEncoder:
    """Texts → int64 tensors at the program's shape: the fixed length, or the batch's longest row."""

    def __init__(self, student_dir: Path, shape: SequenceShape):
        self.encoder = TextEncoder(student_dir / "tokenizer.json", shape.length)
        self.pad_to = None if shape.dynamic else shape.length

    def __call__(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask = self.encoder.encode(texts, pad_to=self.pad_to)
        return torch.from_numpy(ids), torch.from_numpy(mask)


def xnnpack_quantizer(quantize_embedding: bool, qat: bool = False, dynamic: bool = False):
    """Linear-only int8 for XNNPACK (static or dynamic activations), composed with the per-row embedding quantizer."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantizer import ComposableQuantizer
    from torchao.quantization.pt2e.quantizer.embedding_quantizer import EmbeddingQuantizer

    class LinearOnlyQuantizer(XNNPACKQuantizer):
        """XNNPACKQuantizer without its scalar-to-tensor rewrite, which only serves quantized scalar ops (none
        here) and turns integer scalars into float tensors, breaking MPNet's relative-position index arithmetic."""

        def transform_for_annotation(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
            return model

    linear = LinearOnlyQuantizer().set_module_type(
        torch.nn.Linear, get_symmetric_quantization_config(is_per_channel=True, is_qat=qat, is_dynamic=dynamic))
    return ComposableQuantizer([EmbeddingQuantizer(), linear]) if quantize_embedding else linear


def calibrate(captured: ExportedProgram, quantizer, texts: list[str], encode: BatchEncoder,
              batch_size: int = 32) -> torch.fx.GraphModule:
    """PTQ: observe activation ranges on `texts`, then fold in the int8 quantize/dequantize pairs."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    prepared = prepare_pt2e(captured.module(), quantizer)
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            prepared(*encode(texts[start:start + batch_size]))
    return convert_pt2e(prepared)


def quantize_dynamic(captured: ExportedProgram, quantizer, example: tuple[torch.Tensor, ...]) -> torch.fx.GraphModule:
    """Dynamic int8: one pass over any input lets the weight observers see the weights; activations
    keep no observed range (their scale is computed per call), so no calibration texts are needed."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    prepared = prepare_pt2e(captured.module(), quantizer)
    with torch.no_grad():
        prepared(*example)
    return convert_pt2e(prepared)


def train_qat(captured: ExportedProgram, quantizer, texts: list[str], labels: list[int],
              teacher_logits: np.ndarray | None, encode: BatchEncoder, settings: QatSettings
              ) -> tuple[torch.fx.GraphModule, dict]:
    """QAT: fine-tune through fake-quant on KD loss against the teacher (hard labels without one)."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_qat_pt2e

    from edgedistill.distill.losses import kd_loss

    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)
    prepared = prepare_qat_pt2e(captured.module(), quantizer)
    parameters = [p for p in prepared.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=0.0)
    targets = torch.as_tensor(labels, dtype=torch.long)
    teacher = torch.from_numpy(np.asarray(teacher_logits, dtype=np.float32)) if teacher_logits is not None else None
    epoch_losses = []
    for _epoch in range(settings.epochs):
        losses = []
        order = torch.randperm(len(texts), generator=generator)
        for start in range(0, len(order), settings.batch_size):
            rows = order[start:start + settings.batch_size]
            logits = prepared(*encode([texts[i] for i in rows]))
            if teacher is None:
                loss = torch.nn.functional.cross_entropy(logits, targets[rows])
            else:
                loss = kd_loss(logits, teacher[rows], targets[rows], settings.temperature, settings.alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        epoch_losses.append(round(sum(losses) / len(losses), 4))
    report = {
        "qat_supervision": "labels" if teacher is None else "teacher",
        "qat_steps": settings.epochs * -(-len(texts) // settings.batch_size),
        "qat_epoch_losses": epoch_losses,
    }
    return convert_pt2e(prepared), report
