"""Tool environments that are plain venvs of this Python with pinned wheels, called as subprocesses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from edgedistill.toolenvs.base import ToolEnv, run_step


def venv_toolenv(name: str, pins: tuple[str, ...], smoke_test: str, make_target: str, build_note: str) -> ToolEnv:
    """A venv holding exactly `pins`; `smoke_test` is Python code that must run in it before it counts as built."""

    def build(path: Path, env: ToolEnv) -> None:
        run_step(env, [sys.executable, "-m", "venv", str(path)])
        python = str(path / "bin" / "python")
        run_step(env, [python, "-m", "pip", "install", "--quiet", "--progress-bar", "off",
                       "--disable-pip-version-check", *pins])
        run_step(env, [python, "-c", smoke_test], environ=venv_environ(path), quiet=True)

    return ToolEnv(name=name, pins=pins, make_target=make_target, build_note=build_note, build=build)


def venv_environ(path: Path) -> dict[str, str]:
    """Environment for a subprocess in the venv: its bin/ first (tools shell out to their own scripts)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    environ["PATH"] = f"{path / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    environ["VIRTUAL_ENV"] = str(path)
    environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return environ
