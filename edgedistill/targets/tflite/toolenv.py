"""The isolated environment onnx2tf runs in, built once per machine and reused.

onnx2tf 1.29.24 pins numpy 1.26, tensorflow 2.19 and onnx 1.19; installed into the
main environment it would downgrade numpy and break ExecuTorch. So it gets a venv of
its own under the edgedistill cache, named by a hash of the pins below, and the
converter calls it as a subprocess.

    python -m edgedistill.targets.tflite.toolenv --create   # build (idempotent)
    python -m edgedistill.targets.tflite.toolenv --where    # print its path
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from edgedistill.data.builtin import cache_dir
from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_write_text, exclusive_lock

# onnx2tf's own pins plus everything they pull in, exactly as they resolved together
# (Python 3.11, x86-64/arm64 manylinux wheels). Changing any line builds a new env.
REQUIREMENTS = (
    "absl-py==2.5.1", "ai-edge-litert==2.1.0", "astunparse==1.6.3", "backports.strenum==1.2.8",
    "certifi==2026.10.19.post1", "charset-normalizer==3.5.3", "coloredlogs==15.0.1",
    "flatbuffers==25.12.19", "gast==0.7.0", "google-pasta==0.2.0", "grpcio==1.85.3", "h5py==3.11.0",
    "humanfriendly==10.0", "idna==3.20", "json2onnx==2.0.3", "keras==3.15.1", "libclang==18.1.1",
    "markdown==3.11.3", "markdown-it-py==4.3.0", "markupsafe==3.0.4", "mdurl==0.1.2",
    "ml-dtypes==0.5.1", "mpmath==1.3.0", "namex==0.1.0", "numpy==1.26.4", "onnx==1.19.1",
    "onnx-graphsurgeon==0.5.8", "onnx2json==2.0.4", "onnx2tf==1.29.24", "onnxoptimizer==0.4.2",
    "onnxruntime==1.23.0", "onnxsim==0.4.36", "opencv-python==4.11.0.86", "opt-einsum==3.4.0",
    "optree==0.20.0", "packaging==26.4", "protobuf==4.25.5", "psutil==5.9.5", "pygments==2.21.0",
    "requests==2.32.5", "rich==15.0.0", "sam4onnx==2.0.0", "sbi4onnx==1.0.7", "scc4onnx==1.0.7",
    "scs4onnx==1.0.18", "sde4onnx==1.0.0", "sed4onnx==1.0.5",
    "simple-onnx-processing-tools==1.1.32", "sio4onnx==1.0.3", "sit4onnx==1.0.10", "six==1.17.0",
    "sna4onnx==1.0.6", "snc4onnx==1.0.14", "snd4onnx==1.1.7", "sne4onnx==2.0.1", "sng4onnx==2.0.1",
    "soa4onnx==1.0.5", "soc4onnx==1.0.2", "sod4onnx==1.0.0", "sog4onnx==1.0.17", "sor4onnx==1.0.7",
    "spo4onnx==1.0.5", "ssc4onnx==1.0.8", "ssi4onnx==1.0.4", "svs4onnx==1.0.0", "sympy==1.14.0",
    "tensorboard==2.19.0", "tensorboard-data-server==0.7.2", "tensorflow==2.19.0",
    "tensorflow-io-gcs-filesystem==0.37.1", "termcolor==3.3.0", "tf-keras==2.19.0", "tqdm==4.70.1",
    "typing-extensions==4.16.0", "urllib3==2.8.0", "werkzeug==3.1.9", "wheel==0.48.0",
    "wrapt==2.5.2",
)
MISSING = ("the onnx2tf tool environment is missing: run `make toolenv` "
           "(or python -m edgedistill.targets.tflite.toolenv --create)")
_MARKER = "edgedistill-toolenv-complete"


def toolenv_path() -> Path:
    """Where the env for the current pins and Python lives: under $EDGEDISTILL_TOOLENV, else the user cache.

    Separate from $EDGEDISTILL_CACHE so that pointing the data/logit caches elsewhere (as tests do)
    does not hide a 2.6 GB environment that takes minutes to rebuild.
    """
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    digest = hashlib.sha256("\n".join((python, *REQUIREMENTS)).encode()).hexdigest()[:12]
    root = Path(os.environ["EDGEDISTILL_TOOLENV"]) if os.environ.get("EDGEDISTILL_TOOLENV") else cache_dir().parent / "toolenv"
    return root / f"onnx2tf-{python}-{digest}"


def is_ready(path: Path | None = None) -> bool:
    """True once a build finished: the marker is written last, so a half-built env never counts."""
    return ((path or toolenv_path()) / _MARKER).is_file()


def require_toolenv() -> Path:
    """The built env, or a UserError naming the command that builds it."""
    path = toolenv_path()
    if not is_ready(path):
        raise UserError(MISSING)
    return path


def tool_environ(path: Path) -> dict[str, str]:
    """Environment for a subprocess in the tool env: its bin/ first, since onnx2tf shells out to onnxsim."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    environ["PATH"] = f"{path / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    environ["VIRTUAL_ENV"] = str(path)
    environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return environ


def create() -> Path:
    """Build the env unless it is already complete; safe to run concurrently."""
    path = toolenv_path()
    if is_ready(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(path.with_name(f".{path.name}.lock")):
        if is_ready(path):
            return path
        # Built in place rather than renamed into place: pip writes the env's absolute
        # path into every console script (onnx2tf, onnxsim), so a moved venv breaks.
        shutil.rmtree(path, ignore_errors=True)
        print(f"building the onnx2tf tool environment in {path} (about 2 minutes, 2.6 GB)", file=sys.stderr)
        _run([sys.executable, "-m", "venv", str(path)])
        python = str(path / "bin" / "python")
        _run([python, "-m", "pip", "install", "--quiet", "--progress-bar", "off",
              "--disable-pip-version-check", *REQUIREMENTS])
        _run([python, "-c", "import onnx2tf, onnxsim, tensorflow"], environ=tool_environ(path), quiet=True)
        atomic_write_text(path / _MARKER, "\n".join(REQUIREMENTS) + "\n")
    return path



def _run(command: list[str], environ: dict[str, str] | None = None, quiet: bool = False) -> None:
    """Run one build step; `quiet` hides its output (TensorFlow's import chatter) unless it fails."""
    result = subprocess.run(command, env=environ, capture_output=quiet, text=True)
    if result.returncode != 0:
        if quiet:
            print(result.stdout + result.stderr, file=sys.stderr)
        raise UserError(f"building the onnx2tf tool environment failed at `{' '.join(command[:4])} ...`; "
                        "see the output above, fix it, and run --create again")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgedistill.targets.tflite.toolenv", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--create", action="store_true", help="build the env unless it is already complete")
    action.add_argument("--where", action="store_true", help="print the env's path")
    args = parser.parse_args(argv)
    try:
        print(create() if args.create else toolenv_path())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
