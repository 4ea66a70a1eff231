"""Per-evaluation training state in a work directory beside `--out`, for `--resume`.

Layout of `<out parent>/.<out name>.checkpoint/` (replaced atomically after each evaluation):
- `trainable.safetensors`: everything being trained (model, loss projections);
- `best.safetensors`: the classifier weights of the best validation evaluation so far;
- `state.pt`: optimizer, scheduler and progress, only tensors and primitives, read with
  `torch.load(weights_only=True)`;
- `fingerprint.txt`: the hash of the settings and data that made it (see `fingerprint`).
Random state is not stored: the trainer reseeds from (seed, interval, rank) at every evaluation interval.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from edgedistill.errors import UserError, first_line
from edgedistill.fsutil import atomic_output_dir, holds_only, named_path

TRAINABLE_FILE = "trainable.safetensors"
BEST_FILE = "best.safetensors"
STATE_FILE = "state.pt"
FINGERPRINT_FILE = "fingerprint.txt"
CHECKPOINT_FILES = (TRAINABLE_FILE, BEST_FILE, STATE_FILE, FINGERPRINT_FILE)


@dataclass
class TrainProgress:
    """How far training got and the best validation result so far."""

    steps_done: int = 0
    best_evaluation: int = 0  # 1-based index into history; 0: none yet
    best_rank: list[float] = field(default_factory=lambda: [float("-inf"), float("-inf")])  # (metric, tie-breaker)
    history: list[dict] = field(default_factory=list)
    rows_seen: int = 0
    soft_rows_seen: int = 0


def checkpoint_dir(out: Path) -> Path:
    """The work directory of the run that writes `out`: a hidden sibling, so `out` itself only appears when done
    (beside where `out` leads, when the user named a link)."""
    out = named_path(out)
    return out.parent / f".{out.name}.checkpoint"


def fingerprint(settings: dict, texts: list[str], labels: list[int]) -> str:
    """Hash of the run's settings and training data: a checkpoint only resumes the run that made it."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for text, label in zip(texts, labels):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


class CheckpointStore:
    """Saves and restores the training state of one output directory."""

    def __init__(self, out: Path, fingerprint: str):
        self.path = checkpoint_dir(out)
        self.fingerprint = fingerprint

    def clear(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def save(self, trainable: nn.Module, optimizer: torch.optim.Optimizer, scheduler, progress: TrainProgress,
             best_state: dict[str, torch.Tensor]) -> None:
        with atomic_output_dir(self.path, holds_only(CHECKPOINT_FILES)) as scratch:
            save_model(trainable, str(scratch / TRAINABLE_FILE))
            save_file({name: tensor.contiguous() for name, tensor in best_state.items()}, str(scratch / BEST_FILE))
            torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                        "progress": asdict(progress)}, scratch / STATE_FILE)
            (scratch / FINGERPRINT_FILE).write_text(self.fingerprint + "\n", encoding="utf-8")

    def resumable(self) -> bool:
        """Whether a checkpoint of this very run exists; one made by other settings or data is an error."""
        if not (self.path / FINGERPRINT_FILE).is_file():
            return False
        if (self.path / FINGERPRINT_FILE).read_text(encoding="utf-8").strip() != self.fingerprint:
            raise UserError(f"the checkpoint in {self.path} was made with other settings or data; "
                            "rerun without --resume to start over")
        return True

    def load(self, trainable: nn.Module, optimizer: torch.optim.Optimizer, scheduler) -> tuple[TrainProgress, dict[str, torch.Tensor]]:
        """Restore the saved state into the given objects (check `resumable` first)."""
        try:
            state = torch.load(self.path / STATE_FILE, weights_only=True)
            load_model(trainable, str(self.path / TRAINABLE_FILE))
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            return TrainProgress(**state["progress"]), load_file(str(self.path / BEST_FILE))
        except Exception as exc:  # truncated or edited files fail in torch, safetensors or here, in many ways
            raise UserError(f"the checkpoint in {self.path} is damaged ({first_line(exc)}); "
                            "rerun without --resume to start over") from None
