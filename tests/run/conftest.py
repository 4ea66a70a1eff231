"""A tiny recipe: a config-built 2-layer BERT teacher on the synthetic data, a 1-layer student, two ONNX Runtime profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny import isolated_training

# Tiny models need a high learning rate to separate the classes in a few epochs.
TEACH = {"epochs": 8, "min_steps": 0, "learning_rate": 3e-3}
DISTILL = {"layers": 1, "epochs": 4, "min_steps": 0, "learning_rate": 3e-3}


@pytest.fixture(scope="package", autouse=True)
def isolated_runs(tmp_path_factory):
    with isolated_training(tmp_path_factory.mktemp("edgedistill-cache")):
        yield


def write_profile(path: Path, sequence: str, precisions: str, budgets: str) -> Path:
    path.write_text(f'name = "{path.stem}"\ndescription = "test profile"\nisa = "x86-64"\nruntimes = ["onnxruntime"]\n'
                    f"threads = 1\nprecisions = {precisions}\n[sequence]\n{sequence}\n[budgets]\n{budgets}\n")
    return path


def toml_table(name: str, settings: dict) -> str:
    return f"[{name}]\n" + "".join(f"{key} = {value!r}\n" for key, value in settings.items())


def write_recipe(path: Path, data: Path, base: Path, targets: list[Path], distill: dict | None = None) -> Path:
    """A recipe file in the format `edgedistill run` reads (Python's repr of these values is valid TOML)."""
    path.write_text('name = "tiny"\n' + toml_table("data", {"source": str(data)}) + toml_table("teach", {"base": str(base), **TEACH})
                    + toml_table("distill", {**DISTILL, **(distill or {})})
                    + toml_table("export", {"targets": [str(target) for target in targets]}))
    return path
