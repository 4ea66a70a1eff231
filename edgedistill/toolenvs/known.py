"""Every tool environment edgedistill builds, by name."""

from __future__ import annotations

from pathlib import Path

from edgedistill.toolenvs.arm64 import arm64_toolenv
from edgedistill.toolenvs.base import ToolEnv
from edgedistill.toolenvs.peers import PEER_TOOLENVS
from edgedistill.toolenvs.venv import venv_toolenv

# onnx2tf 1.29.24 pins numpy 1.26, tensorflow 2.19 and onnx 1.19; installed into the main environment it would
# downgrade numpy and break ExecuTorch. Its own pins plus everything they pull in, exactly as they resolved
# together (Python 3.11, x86-64/arm64 manylinux wheels). Changing any line builds a new env.
ONNX2TF_PINS = (
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
ONNX2TF = venv_toolenv("onnx2tf", ONNX2TF_PINS, "import onnx2tf, onnxsim, tensorflow",
                       make_target="toolenv", build_note="about 2 minutes, 2.6 GB")

# The emulated arm64 Python takes its runtime wheels at the main environment's versions.
ARM64 = arm64_toolenv(Path(__file__).resolve().parents[2] / "constraints.txt")

KNOWN: dict[str, ToolEnv] = {env.name: env for env in (ONNX2TF, ARM64, *PEER_TOOLENVS)}
