"""`bench --ssh` against a real OpenSSH server on 127.0.0.1, on a "board" whose python has neither torch nor
edgedistill installed: everything edgedistill needs there travels in the session."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

import pytest

import edgedistill
from edgedistill.bundle.schema import check_against_schema
from edgedistill.check.device_results import RESULT_SCHEMA
from edgedistill.cli import main
from tests.sshd import loopback_sshd

pytestmark = pytest.mark.slow  # a real ONNX Runtime export, sshd and a bench over ssh

BOARD_SITE = """\
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # the board has no torch; some boards lack more
# edgedistill is installed here in editable mode; the board has no edgedistill but the zip the session carries
sys.meta_path[:] = [finder for finder in sys.meta_path if "editable" not in repr(finder).lower()]
"""


def board_python(root: Path, blocked: tuple[str, ...] = ("torch", "transformers")) -> Path:
    """This machine's python, seen from the ssh session as a board's would be: `blocked` modules cannot import."""
    site = root / "site"
    site.mkdir(parents=True)
    (site / "sitecustomize.py").write_text(BOARD_SITE.format(blocked=blocked))
    wrapper = root / "python"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def scratch_dirs() -> set[str]:
    """The board's scratch directories: the ssh session runs as this user on this machine, so the same tmp."""
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("edgedistill-bench-")}


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    with loopback_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def test_bench_over_ssh_brings_back_the_device_and_its_figures(sshd, host_bundle, tmp_path, capsys):
    before = scratch_dirs()
    out = tmp_path / "results" / "board.json"
    argv = ["bench", str(host_bundle), "--runs", "20", "--seconds", "0", "--warmup", "2", "--out", str(out),
            "--remote-python", str(board_python(tmp_path / "board")), *sshd.bench_args()]
    assert main(argv) == 0, capsys.readouterr().err
    assert "PASSED" in capsys.readouterr().out
    result = json.loads(out.read_text())
    check_against_schema(result, str(out), RESULT_SCHEMA)
    digest = hashlib.sha256((host_bundle / "manifest.json").read_bytes()).hexdigest()
    assert result["bundle"]["manifest_sha256"] == digest and result["bundle"]["runtime"] == "onnxruntime"
    device = result["device"]
    assert device["hostname"] == socket.gethostname() and device["os"]["kernel"] == os.uname().release
    assert device["versions"]["edgedistill"] == edgedistill.__version__ and device["versions"]["onnxruntime"]
    bench = result["bench"]
    assert bench["latency_ms"]["runs"] >= 20 and 0 < bench["latency_ms"]["p50"] <= bench["latency_ms"]["p99"]
    assert bench["length"] == 64 and bench["threads"] == 1 and bench["memory"]["peak_rss_mb"] > 0
    assert result["settings"] == {"runs": 20, "seconds": 0.0, "warmup": 2, "length": 64, "threads": None}
    assert scratch_dirs() == before  # the board's scratch directory is gone


def test_rerunning_replaces_a_result_but_never_a_foreign_file(sshd, host_bundle, tmp_path, capsys):
    python = str(board_python(tmp_path / "board"))
    out = tmp_path / "notes.json"
    out.write_text('{"mine": true}\n')
    argv = ["bench", str(host_bundle), "--runs", "1", "--seconds", "0", "--out", str(out), "--remote-python", python,
            *sshd.bench_args()]
    assert main(argv) == 2
    assert "is not an edgedistill edgedistill-bench-result file" in capsys.readouterr().err
    assert out.read_text() == '{"mine": true}\n'
    out.unlink()
    assert main(argv) == 0 and main(argv) == 0  # the second run replaces the first's result
    assert json.loads(out.read_text())["format"] == "edgedistill-bench-result"


def _failing_cases(sshd, tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    python = str(board_python(tmp_path / "board"))
    without_runtime = str(board_python(tmp_path / "no-ort", ("torch", "transformers", "onnxruntime")))
    without_numpy = str(board_python(tmp_path / "no-numpy", ("torch", "numpy", "yaml")))
    args = sshd.bench_args()
    wrong_key = tmp_path / "wrong_key"
    wrong_key.write_bytes((sshd.known_hosts.parent / "host_key").read_bytes())
    wrong_key.chmod(0o600)
    unknown_hosts = tmp_path / "empty_known_hosts"
    unknown_hosts.write_text("")
    return {
        "unreachable": ([*args, "--port", str(_closed_port()), "--remote-python", python],
                        f"cannot reach {getpass.getuser()}@127.0.0.1 over ssh: ssh: connect to host 127.0.0.1 port"),
        "wrong key": ([*args, "--identity", str(wrong_key), "--remote-python", python], "ssh could not log in to"),
        "unknown host key": ([*sshd.bench_args(known_hosts=unknown_hosts), "--remote-python", python],
                             "is not in known_hosts, or has changed; connect once with `ssh -p"),
        "no such python": ([*args, "--remote-python", "/nonexistent/python3"], "no python at '/nonexistent/python3' on"),
        "python without numpy": ([*args, "--remote-python", without_numpy],
                                 "lacks numpy, pyyaml; install them there:"),
        "python without the runtime": ([*args, "--remote-python", without_runtime],
                                       "runtime onnxruntime is not usable here: onnxruntime is not installed"),
    }


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when this returns: nothing listens there


@pytest.mark.parametrize("case", ["unreachable", "wrong key", "unknown host key", "no such python",
                                  "python without numpy", "python without the runtime"])
def test_what_goes_wrong_on_the_way_is_one_line(sshd, host_bundle, tmp_path, capsys, case):
    extra, message = _failing_cases(sshd, tmp_path)[case]
    before = scratch_dirs()
    out = tmp_path / "board.json"
    assert main(["bench", str(host_bundle), "--runs", "1", "--seconds", "0", "--out", str(out), *extra]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error and message in error, error
    assert not out.exists() and scratch_dirs() == before
