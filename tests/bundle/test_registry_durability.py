"""Registry copies check sizes before copying, and publishers sweep what killed publishers recorded leaving behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgedistill.bundle.registry import INDEX_FILE, publish, pull
from edgedistill.bundle.stores.directory import SCRATCH_RECORD
from edgedistill.errors import UserError
from edgedistill.fsutil import ScratchRecord
from tests.bundle.fakes import MODEL, fake_bundle


@pytest.fixture
def bundle(tmp_path) -> Path:
    return fake_bundle(tmp_path / "export")


@pytest.fixture
def copies(monkeypatch) -> list[str]:
    """The name of every file shutil.copyfile copies from here on."""
    copied: list[str] = []
    real = shutil.copyfile

    def spy(source, target, *args, **kwargs):
        copied.append(Path(source).name)
        return real(source, target, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", spy)
    return copied


def test_pull_refuses_a_file_of_another_size_before_copying_it(bundle, tmp_path, copies):
    ref = publish(bundle, str(tmp_path / "registry"))
    model = ref.path / MODEL
    size = model.stat().st_size
    with model.open("ab") as handle:
        handle.write(b"\0" * 4096)
    copies.clear()
    with pytest.raises(UserError, match=rf"{MODEL} is {size + 4096} bytes, but manifest.json records {size}; "
                                        "publish the bundle again under a new version") as caught:
        pull(ref.reference, str(tmp_path / "registry"), tmp_path / "out")
    assert "\n" not in str(caught.value)
    assert MODEL not in copies and not (tmp_path / "out").exists()


def test_pull_refuses_a_manifest_naming_another_bundle(bundle, tmp_path):
    registry = tmp_path / "registry"
    ref = publish(bundle, str(registry))
    index = (registry / INDEX_FILE).read_text()
    (registry / INDEX_FILE).write_text(index.replace(f'"{ref.name}"', '"impostor"'))
    (registry / ref.name).rename(registry / "impostor")
    with pytest.raises(UserError, match=r"manifest.json names another bundle \('m-onnxruntime-fp32'\)"):
        pull("impostor", str(registry), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_publish_sweeps_what_killed_publishers_recorded_and_keeps_everything_else(bundle, tmp_path):
    registry = tmp_path / "registry"
    ref = publish(bundle, str(registry))
    name_dir = registry / ref.name
    stale = [name_dir / ".2.partial-k2j4h6l8", name_dir / ".1.old-a_b3c4d5", registry / ".index.json.partial-zz9y8x7w"]
    stale[0].mkdir()
    (stale[0] / MODEL).write_bytes(b"half a model")
    stale[1].mkdir()
    stale[2].write_text('{"bun')
    record = ScratchRecord(registry / SCRATCH_RECORD)
    for path in stale:
        record.add(path)  # as publishers killed mid-write leave their scratch and its record
    outside = tmp_path / "outside"
    outside.mkdir()
    kept = [name_dir / ".2.partial-notes", registry / "notes.partial-abcdefgh", name_dir / ".x.old-abcdefghij",
            registry / "other-bundle" / "README.md", registry / ".index.json.old-20250101",
            name_dir / ".1.old-backup01" / "model.onnx"]  # a user's backup folder, named like a replaced version
    for path in kept:
        path.parent.mkdir(exist_ok=True)
        path.write_text("the user's")
    (name_dir / ".y.partial-aaaaaaaa").symlink_to(outside)

    assert publish(bundle, str(registry)).version == "2"
    assert not any(path.exists() for path in stale) and not (registry / SCRATCH_RECORD).exists()
    assert all(path.read_text() == "the user's" for path in kept)
    assert (name_dir / ".y.partial-aaaaaaaa").is_symlink() and outside.is_dir()
    assert sorted(path.name for path in name_dir.iterdir() if not path.name.startswith(".")) == ["1", "2"]
