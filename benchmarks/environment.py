"""Versions and machine facts recorded beside every benchmark result."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from datetime import datetime, timezone

from edgedistill.distill.distributed import cpu_model

PACKAGES = ("edgedistill", "torch", "transformers", "onnxruntime", "onnx", "executorch", "torchao",
            "ai-edge-litert", "litert-torch", "numpy", "tokenizers")


def describe_environment() -> dict:
    """Package versions, CPU and date, for the `environment` block of a results file."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": _gpu_model(),
        "versions": versions,
    }


def _gpu_model() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
