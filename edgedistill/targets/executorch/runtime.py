"""A loaded `.pte` in ExecuTorch's Python runtime (numpy in, numpy out).

The pip runtime itself imports torch (its bindings link libtorch and only take torch tensors),
so torch is imported here, when a model is loaded, never when the backend module is imported.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from edgedistill.errors import UserError, first_line
from edgedistill.profiles import SequencePolicy
from edgedistill.third_party import native_stderr

FIXED_LENGTH_METHOD = "fixed_length"
FORWARD_METHOD = "forward"
_BUCKET_PREFIX = "forward_"


def bucket_method(length: int) -> str:
    """The method of a multi-bucket program that runs inputs padded to `length` tokens."""
    return f"{_BUCKET_PREFIX}{length}"


def runtime_module():
    """ExecuTorch's runtime with the quantized kernels (`embedding_byte`) registered."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "experimental API" warnings on every import
        from executorch.extension.pybindings import portable_lib
        import executorch.kernels.quantized  # noqa: F401  registers quantized_decomposed::* kernels
    return portable_lib


def set_threads(threads: int) -> None:
    """Size the process-wide threadpool; must happen before any program is loaded.

    Resetting it after a program was loaded hung that program's next call, so the pool is
    only touched when the count actually changes: one thread count per process.
    """
    if threads < 1:
        raise UserError(f"threads must be at least 1 (got {threads})")
    portable_lib = runtime_module()
    # The pool's native code prints its CPU probing and "Resetting threadpool to N threads" on fd 2 itself.
    with native_stderr("executorch"):
        if portable_lib._threadpool_get_thread_count() != threads:
            portable_lib._unsafe_reset_threadpool(threads)


class ExecuTorchSession:
    """Token ids in, float32 logits out; rows run one at a time at batch 1, as on a phone."""

    input_names = ["input_ids", "attention_mask"]

    def __init__(self, artifact: Path, threads: int | None):
        import torch
        from executorch.runtime import Runtime

        artifact = Path(artifact)
        if not artifact.is_file():
            raise UserError(f"model file {artifact} not found")
        if threads is not None:
            set_threads(threads)
        runtime_module()
        self._torch = torch
        try:
            program = Runtime.get().load_program(artifact)
            names = sorted(program.method_names)
            buckets = {int(name[len(_BUCKET_PREFIX):]): name for name in names
                       if name.startswith(_BUCKET_PREFIX) and name[len(_BUCKET_PREFIX):].isdigit()}
            # Length -> loaded method: one per bucket, else the one `forward` at its (longest) length.
            self._methods = {length: program.load_method(name) for length, name in sorted(buckets.items())}
            if not self._methods:
                forward = program.load_method(FORWARD_METHOD)
                self._methods = {int(forward.metadata.input_tensor_meta(0).sizes()[1]): forward}
        except (RuntimeError, KeyError, ValueError) as exc:
            raise UserError(f"{artifact} is not a loadable ExecuTorch program ({first_line(exc)}); "
                            "re-run export") from None
        fixed = program.load_method(FIXED_LENGTH_METHOD).execute([])[0] if FIXED_LENGTH_METHOD in program.method_names else 0
        self.fixed_length: int | None = int(fixed) or None
        # One method per bucket, or one static `forward`, runs the widths it was built for; a dynamic
        # `forward` runs any width up to its longest.
        static = self.fixed_length is not None or len(self._methods) > 1
        self.sequence = SequencePolicy.static(list(self._methods)) if static else SequencePolicy(max_length=max(self._methods))

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits (batch, classes) of inputs at the width the program's sequence policy gives them."""
        input_ids, attention_mask = self.sequence.fit(np.asarray(input_ids, np.int64), np.asarray(attention_mask, np.int64))
        method = self._methods.get(input_ids.shape[1], self._methods[self.sequence.longest])
        rows = []
        for ids, mask in zip(input_ids, attention_mask, strict=True):
            (logits,) = method.execute([self._torch.from_numpy(ids[None]), self._torch.from_numpy(mask[None])])
            rows.append(logits.numpy())
        return np.concatenate(rows, axis=0).astype(np.float32, copy=False)
