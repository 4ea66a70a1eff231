"""Name → Target registry. Importing it imports no torch."""

from __future__ import annotations

import importlib

from edgedistill.errors import UserError
from edgedistill.targets.base import Target

# Backends register lazily by module path so a device imports only the runtime it uses.
_BACKENDS = {
    "onnxruntime": "edgedistill.targets.onnxruntime",
    "executorch": "edgedistill.targets.executorch",
    "tflite": "edgedistill.targets.tflite",
}
_CLASS_NAME = "TARGET"


def runtime_names() -> list[str]:
    return sorted(_BACKENDS)


def get_target(name: str) -> Target:
    """The backend registered as `name`; unknown names list the valid ones."""
    if name not in _BACKENDS:
        raise UserError(f"unknown runtime {name!r}; available: {', '.join(runtime_names())}")
    module = importlib.import_module(_BACKENDS[name])
    return getattr(module, _CLASS_NAME)
