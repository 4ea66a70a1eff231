"""Session fixtures for the teach/distill tests: one tiny teacher and one tiny student, shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedistill.cli import main
from tests.tiny import isolated_training

# Tiny models need a high learning rate to separate the classes in a few epochs.
TEACH_ARGS = ["--epochs", "8", "--min-steps", "0", "--learning-rate", "3e-3"]
DISTILL_ARGS = ["--layers", "1", "--epochs", "4", "--min-steps", "0", "--learning-rate", "3e-3"]


@pytest.fixture(scope="package", autouse=True)
def isolated_runs(tmp_path_factory):
    with isolated_training(tmp_path_factory.mktemp("edgedistill-cache")):
        yield


@pytest.fixture(scope="session")
def distill_argv(tiny_csv):
    """argv for `edgedistill distill` on the tiny data with the shared settings, plus extras."""

    def argv(teacher: Path, out: Path, *extra: str) -> list[str]:
        return ["distill", "--data", str(tiny_csv), "--teacher", str(teacher), "--out", str(out), *DISTILL_ARGS, *extra]

    return argv


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory, tiny_csv, tiny_base) -> Path:
    """A 2-layer teacher fine-tuned by `edgedistill teach` on the tiny data."""
    out = tmp_path_factory.mktemp("teach") / "teacher"
    assert main(["teach", "--data", str(tiny_csv), "--base", str(tiny_base), "--out", str(out), *TEACH_ARGS]) == 0
    return out


@pytest.fixture(scope="session")
def tiny_distilled(tmp_path_factory, tiny_teacher, distill_argv) -> Path:
    """A 1-layer student distilled by `edgedistill distill` from the tiny teacher (the reference run)."""
    out = tmp_path_factory.mktemp("distill") / "student"
    assert main(distill_argv(tiny_teacher, out)) == 0
    return out
