"""The peer tool environments: fully pinned, at the versions their tools need, buildable by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgedistill.toolenvs.known import KNOWN
from edgedistill.toolenvs.peers import OPTIMUM_EXECUTORCH, OPTIMUM_ONNX, PEER_TOOLENVS

ROOT = Path(__file__).resolve().parents[2]


def _pins(env) -> dict[str, str]:
    return dict(pin.split("==", 1) for pin in env.pins)


@pytest.mark.parametrize("env", PEER_TOOLENVS, ids=lambda env: env.name)
def test_every_package_is_pinned_once(env):
    assert all(pin.count("==") == 1 and not pin.startswith(("pip==", "setuptools==")) for pin in env.pins)
    assert len(_pins(env)) == len(env.pins)
    assert KNOWN[env.name] is env


def test_pins_are_what_the_tools_require():
    onnx, executorch = _pins(OPTIMUM_ONNX), _pins(OPTIMUM_EXECUTORCH)
    assert onnx["optimum-onnx"] == "0.1.0" and onnx["optimum"].startswith("2.1.")
    assert onnx["transformers"].startswith("4.57.")  # optimum-onnx 0.1.0: transformers<4.58
    assert executorch["optimum-executorch"] == "1.1.0" and executorch["transformers"] == "5.0.0rc1"
    main = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    # The peers' torch is the main environment's CPU build, never a CUDA one pulled in by resolution.
    assert onnx["torch"] == executorch["torch"] == main["torch"]


def test_where_names_the_environment_by_its_pins(tmp_path):
    result = subprocess.run([sys.executable, "-m", "edgedistill.toolenvs", "--where", "optimum-onnx"],
                            capture_output=True, text=True, check=True, env={"EDGEDISTILL_TOOLENV": str(tmp_path),
                                                                             "PATH": ""})
    path = Path(result.stdout.strip())
    assert path.parent == tmp_path and path.name.startswith("optimum-onnx-py3")
    assert not OPTIMUM_ONNX.is_ready() or OPTIMUM_ONNX.path() != path
