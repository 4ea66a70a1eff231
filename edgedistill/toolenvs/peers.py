"""Tool environments for the peer tools the headline benchmark compares against (benchmark-only).

Neither resolves beside the main environment's transformers 5.24: optimum-onnx 0.1.0 needs transformers<4.58 and
optimum~=2.1.0, optimum-executorch 1.1.0 pins transformers==5.0.0rc1 and optimum~=2.0.0. Each pin set is what pip
resolved for the tool on Python 3.11 x86-64 (with torch held at the main environment's CPU build), every package
pinned. A student saved by transformers 5.24 loads in 4.57 for a BERT architecture: its logits matched exactly.
"""

from __future__ import annotations

from edgedistill.toolenvs.venv import venv_toolenv

OPTIMUM_ONNX_PINS = (
    "certifi==2026.10.19.post1", "charset-normalizer==3.5.3", "filelock==4.3.1", "flatbuffers==25.12.19",
    "fsspec==2026.9.0", "hf-xet==1.8.0", "huggingface-hub==0.36.2", "idna==3.20", "jinja2==3.1.6",
    "markupsafe==3.0.4", "ml-dtypes==0.7.0", "mpmath==1.3.0", "networkx==3.6.1", "numpy==2.4.6", "onnx==1.23.2",
    "onnxruntime==1.32.0", "optimum==2.1.0", "optimum-onnx==0.1.0", "packaging==26.4", "protobuf==7.36.2",
    "pyyaml==6.0.4", "regex==2026.11.19", "requests==2.34.2", "safetensors==0.8.0", "sympy==1.14.0",
    "tokenizers==0.22.2", "torch==2.13.0+cpu", "tqdm==4.70.1", "transformers==4.57.6", "typing-extensions==4.16.0",
    "urllib3==2.8.0",
)
OPTIMUM_ONNX = venv_toolenv(
    "optimum-onnx", OPTIMUM_ONNX_PINS,
    "from optimum.exporters.onnx import main_export; from optimum.onnxruntime import ORTQuantizer",
    make_target="toolenv-peers", build_note="about 2 minutes, 1.3 GB")

OPTIMUM_EXECUTORCH_PINS = (
    "accelerate==1.15.0", "annotated-doc==0.0.7", "annotated-types==0.8.0", "antlr4-python3-runtime==4.9.3",
    "anyio==4.16.0", "attrs==26.1.0", "cattrs==26.2.1", "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3", "click==8.5.1", "cloudpickle==3.1.3", "coremltools==9.0", "executorch==1.5.1",
    "expecttest==0.3.0", "filelock==4.3.1", "flatbuffers==25.12.19", "fsspec==2026.9.0", "h11==0.16.0",
    "hf-xet==1.8.0", "httpcore==1.0.9", "httpx==0.28.1", "huggingface-hub==1.33.0", "hydra-core==1.3.8",
    "hypothesis==6.170.17", "idna==3.20", "jinja2==3.1.6", "joblib==1.6.0", "kgb==7.3", "markdown-it-py==4.3.0",
    "markupsafe==3.0.4", "mdurl==0.1.2", "mpmath==1.3.0", "narwhals==2.29.0", "networkx==3.6.1", "numpy==2.4.6",
    "omegaconf==2.3.1", "optimum==2.0.0", "optimum-executorch==1.1.0", "packaging==26.4", "pandas==3.1.1",
    "parameterized==0.9.0", "protobuf==7.36.2", "psutil==7.2.2", "py-cpuinfo==9.0.0", "pyaml==26.7.0",
    "pydantic==2.14.4", "pydantic-core==2.50.5", "pygments==2.21.0", "python-dateutil==4.0.0",
    "pytorch-tokenizers==1.5.0", "pyyaml==6.0.4", "regex==2026.11.19", "requests==2.34.2", "rich==15.0.0",
    "ruamel.yaml==0.19.1", "safetensors==0.8.0", "scikit-learn==1.9.1", "scipy==1.17.1", "sentencepiece==0.2.3",
    "shellingham==1.5.4", "sortedcontainers==2.4.0", "sympy==1.14.0", "tabulate==0.10.0",
    "threadpoolctl==3.8.0", "tiktoken==0.14.0", "tokenizers==0.22.2", "torch==2.13.0+cpu", "torchao==0.18.0",
    "tqdm==4.70.1", "transformers==5.0.0rc1", "typer==0.29.2", "typer-slim==0.24.0", "typing-inspection==0.4.5",
    "typing-extensions==4.16.0", "tzdata==2026.6", "urllib3==2.8.0",
)
OPTIMUM_EXECUTORCH = venv_toolenv(
    "optimum-executorch", OPTIMUM_EXECUTORCH_PINS,
    "from optimum.exporters.executorch.recipes.xnnpack import export_to_executorch_with_xnnpack",
    make_target="toolenv-peers", build_note="about 4 minutes, 1.7 GB")

PEER_TOOLENVS = (OPTIMUM_ONNX, OPTIMUM_EXECUTORCH)
