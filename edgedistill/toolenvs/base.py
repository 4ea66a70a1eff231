"""One mechanism for every isolated environment: where it lives, whether it is complete, how it is built.

An environment lives under $EDGEDISTILL_TOOLENV (else `<user cache>/edgedistill/toolenv`), in a folder named
by its kind, the Python version and a hash of its pins, so changing a pin builds a new one beside the old.
A marker file is written last, holding the pins, so a half-built environment never counts as ready.
Separate from $EDGEDISTILL_CACHE so that pointing the data caches elsewhere (as tests do) does not hide
environments that take minutes to rebuild.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_write_text, exclusive_lock, user_cache_root

MARKER = "edgedistill-toolenv-complete"


@dataclass(frozen=True)
class ToolEnv:
    """An isolated environment: `build(path, env)` fills `path`; the marker is written after it returns."""

    name: str
    pins: tuple[str, ...]
    make_target: str
    build_note: str
    build: Callable[[Path, ToolEnv], None]

    def path(self) -> Path:
        python = f"py{sys.version_info.major}{sys.version_info.minor}"
        digest = hashlib.sha256("\n".join((python, *self.pins)).encode()).hexdigest()[:12]
        root = Path(os.environ["EDGEDISTILL_TOOLENV"]) if os.environ.get("EDGEDISTILL_TOOLENV") \
            else user_cache_root() / "toolenv"
        return root / f"{self.name}-{python}-{digest}"

    @property
    def missing(self) -> str:
        return (f"the {self.name} tool environment is missing: run `make {self.make_target}` "
                f"(or python -m edgedistill.toolenvs --create {self.name})")

    def is_ready(self) -> bool:
        return (self.path() / MARKER).is_file()

    def require(self) -> Path:
        """The built environment, or a UserError naming the command that builds it."""
        if not self.is_ready():
            raise UserError(self.missing)
        return self.path()

    def create(self) -> Path:
        """Build unless already complete; safe to run concurrently (one builder, the others wait)."""
        path = self.path()
        if self.is_ready():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(path.with_name(f".{path.name}.lock")):
            if self.is_ready():
                return path
            # Built in place rather than renamed into place: venvs write their absolute path into scripts.
            # The folder is ours alone (named by our hash, under our lock), so a half-built one is removed.
            shutil.rmtree(path, ignore_errors=True)
            print(f"building the {self.name} tool environment in {path} ({self.build_note})", file=sys.stderr)
            self.build(path, self)
            atomic_write_text(path / MARKER, "\n".join(self.pins) + "\n")
        return path

    def versions(self) -> dict[str, str]:
        """The pins the ready environment was built from, as {package: version}."""
        lines = (self.path() / MARKER).read_text().splitlines() if self.is_ready() else []
        return dict(line.split("==", 1) for line in lines if "==" in line)


def run_step(env: ToolEnv, command: list[str], environ: dict[str, str] | None = None, quiet: bool = False) -> None:
    """Run one build step; `quiet` hides its output unless it fails."""
    result = subprocess.run(command, env=environ, capture_output=quiet, text=True)
    if result.returncode != 0:
        if quiet:
            print(result.stdout + result.stderr, file=sys.stderr)
        raise UserError(f"building the {env.name} tool environment failed at `{' '.join(command[:4])} ...`; "
                        "see the output above, fix it, and run --create again")
