"""A real `kill -9` of export, publish and pull midway: nothing that looks like a complete bundle is left, and the next
run succeeds. (distill's kill -9 and --resume is tests/distill/test_resume.py.)

Each process is killed when the file system shows it has reached a given step (its scratch folder appears, or
holds the manifest), so the kill lands mid-step on any machine, however fast.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edgedistill.bundle.registry import publish
from edgedistill.cli import main
from tests.reliability.cases import rehash
from tests.reliability.world import BUNDLE, MODEL_FILE, NAME

MODEL_MB = 64  # hashing it took 190 ms here and copying it 50 ms: many times the 2 ms between polls


def _start(argv: list[str], cwd: Path, scratch: Path) -> subprocess.Popen:
    scratch.mkdir(exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "EDGEDISTILL_CACHE": str(scratch / "cache"), "TMPDIR": str(scratch)}
    return subprocess.Popen([sys.executable, "-m", "edgedistill", *argv], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_when(process: subprocess.Popen, reached: Callable[[], bool], timeout_s: float = 300) -> None:
    """SIGKILL `process` the moment `reached()` holds; fail if it ended or timed out first."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and not reached() and time.monotonic() < deadline:
        time.sleep(0.002)
    still_running = process.poll() is None
    process.kill()
    process.wait(timeout=30)
    assert still_running and reached(), "the process ended (or timed out) before the step it was to be killed in"


def _scratch_of(folder: Path, name: str, holding: str | None = None) -> Callable[[], bool]:
    """Whether `folder` holds the scratch folder of output `name` (and, if given, a file `holding` in it)."""
    def reached() -> bool:
        scratches = [path for path in folder.glob(f".{name}.partial-*") if path.is_dir()] if folder.is_dir() else []
        return any(holding is None or (path / holding).is_file() for path in scratches)
    return reached


@pytest.fixture
def big_bundle(world, tmp_path) -> Iterator[Path]:
    """The world's bundle with a model of MODEL_MB random megabytes (rehashed): slow enough to kill mid-copy.

    Its copies are deleted afterwards, so the temporary folders pytest keeps do not hold a gigabyte of them.
    """
    workspace = tmp_path / "ws"
    shutil.copytree(world / BUNDLE, workspace / BUNDLE)
    (workspace / BUNDLE / MODEL_FILE).write_bytes(os.urandom(MODEL_MB << 20))
    rehash(BUNDLE, MODEL_FILE)(workspace)
    yield workspace / BUNDLE
    for path in tmp_path.iterdir():
        shutil.rmtree(path, ignore_errors=True)


def _same_files(first: Path, second: Path) -> bool:
    return sorted(p.name for p in first.iterdir()) == sorted(p.name for p in second.iterdir()) and all(
        (first / p.name).read_bytes() == (second / p.name).read_bytes() for p in first.iterdir())


@pytest.mark.parametrize("step", ["copying", "verifying the copy"])
def test_publish_killed_midway_publishes_nothing_and_the_next_publish_succeeds(big_bundle, tmp_path, step):
    registry = tmp_path / "registry"
    publish(big_bundle, str(registry), "1")  # an index with one version already, which must survive untouched
    index_before = (registry / "index.json").read_bytes()
    process = _start(["publish", str(big_bundle), "--registry", str(registry), "--version", "2"], tmp_path, tmp_path / "tmp")
    _kill_when(process, _scratch_of(registry / NAME, "2", None if step == "copying" else "manifest.json"))

    assert (registry / "index.json").read_bytes() == index_before
    assert not (registry / NAME / "2").exists()
    assert main(["pull", f"{NAME}@2", "--registry", str(registry), "--out", str(tmp_path / "app")]) == 2
    assert not (tmp_path / "app").exists()

    assert main(["publish", str(big_bundle), "--registry", str(registry), "--version", "2"]) == 0
    assert sorted(json.loads((registry / "index.json").read_text())["bundles"][NAME]) == ["1", "2"]
    assert sorted(path.name for path in (registry / NAME).iterdir()) == ["1", "2"]  # the killed run's scratch swept
    assert main(["pull", f"{NAME}@2", "--registry", str(registry), "--out", str(tmp_path / "app")]) == 0
    assert _same_files(tmp_path / "app", registry / NAME / "2")


@pytest.mark.parametrize("step", ["copying", "verifying the copy"])
def test_pull_killed_midway_leaves_no_bundle_and_the_next_pull_succeeds(big_bundle, tmp_path, step):
    registry, app = tmp_path / "registry", tmp_path / "app" / "model"
    publish(big_bundle, str(registry))
    process = _start(["pull", NAME, "--registry", str(registry), "--out", str(app)], tmp_path, tmp_path / "tmp")
    _kill_when(process, _scratch_of(app.parent, app.name, None if step == "copying" else MODEL_FILE))

    assert not app.exists()
    assert not any(path.name == "manifest.json" for path in app.parent.iterdir())

    assert main(["pull", NAME, "--registry", str(registry), "--out", str(app)]) == 0
    assert _same_files(app, registry / NAME / "1")


@pytest.mark.slow  # two real ONNX Runtime exports of the tiny student
@pytest.mark.parametrize("step", ["converting", "checking the written bundle"])
def test_export_killed_midway_leaves_no_bundle_and_the_next_export_succeeds(world, tmp_path, monkeypatch, step):
    shutil.copytree(world, tmp_path / "ws", symlinks=True)
    workspace, out = tmp_path / "ws", tmp_path / "ws" / "bundles"
    scratch = tmp_path / "tmp"
    argv = ["export", "student", "--target", "profile.toml", "--out", "bundles"]
    process = _start(argv, workspace, scratch)
    if step == "converting":
        _kill_when(process, lambda: any(scratch.glob("edgedistill-onnxruntime-*/*/*.onnx")))
    else:
        # fp32 and fp32-online are both candidates; whichever measures faster here is written
        _kill_when(process, _scratch_of(out, "student-onnxruntime-fp32*", "manifest.json"))

    # Only the killed run's hidden scratch folder may hold a manifest; no bundle is where one is looked for.
    assert not [path for path in out.glob("*/manifest.json") if not path.parent.name.startswith(".")]
    assert not (out / "export_report.json").exists()

    monkeypatch.chdir(workspace)  # the student's data spec names its data relative to the workspace
    assert main(argv) == 0
    [bundle] = [path for path in out.glob("student-onnxruntime-fp32*") if path.is_dir()]
    assert main(["check", str(bundle.relative_to(workspace))]) == 0
