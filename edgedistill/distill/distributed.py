"""Data-parallel training under `torchrun`: process group, rank roles and thread counts.

With WORLD_SIZE unset or 1 everything here is a no-op, so one code path serves both cases.
Rank 0 alone writes files (teacher-logit cache, checkpoints, outputs) and evaluates.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def decided_by_main(self, decision: bool) -> bool:
        """Rank 0's `decision` on every rank: only rank 0 validates, so only it knows when to stop early."""
        if not self.enabled:
            return decision
        box = [decision]
        dist.broadcast_object_list(box, src=0)
        return bool(box[0])

    def wrap(self, module: nn.Module) -> nn.Module:
        """DistributedDataParallel around `module` when several processes train together."""
        if not self.enabled:
            return module
        from torch.nn.parallel import DistributedDataParallel

        if self.device.type == "cuda":
            return DistributedDataParallel(module, device_ids=[self.device.index])
        return DistributedDataParallel(module)

    def shard(self, batches: list) -> list:
        """This rank's share of `batches`; every rank gets the same count so collective steps line up.

        The batch list is padded by wrapping around rather than truncated, so no text is skipped.
        """
        if not self.enabled:
            return batches
        per_rank = -(-len(batches) // self.world_size)
        padded = [batches[i % len(batches)] for i in range(per_rank * self.world_size)]
        return padded[self.rank::self.world_size]


@contextlib.contextmanager
def distributed_context(threads: int | None = None) -> Iterator[DistContext]:
    """Join the process group torchrun set up (nccl on GPUs, gloo on CPU), and leave it at the end; `threads`
    overrides the CPU threads each process trains with."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    torch.set_num_threads(threads or training_threads(world_size))
    device = training_device()
    if world_size <= 1:
        yield DistContext(device=device)
        return
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    try:
        yield DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device)
    finally:
        dist.destroy_process_group()


def training_device() -> torch.device:
    """This process's GPU when there is one (torchrun's LOCAL_RANK picks it), else the CPU.

    EDGEDISTILL_DEVICE=cpu forces the CPU on a GPU machine.
    """
    if os.environ.get("EDGEDISTILL_DEVICE", "").lower() == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    torch.cuda.set_device(device)
    return device


def device_name(device: torch.device) -> str:
    """What trained the model, for the metrics: the GPU's name, or the CPU's model and thread count."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {cpu_model()}, {torch.get_num_threads()} threads"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def training_threads(world_size: int) -> int:
    """OMP_NUM_THREADS when the user set it, else this process's share of every core it may run on.

    The load average is not consulted: it lags a minute behind, so a run started right after another
    job read the old job's load and trained its whole length on one of two idle cores.
    """
    if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
        return int(os.environ["OMP_NUM_THREADS"])
    local_processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", world_size)))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // local_processes)
