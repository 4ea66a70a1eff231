"""A registry or bundle crafted to lead outside its root: every read and write stays inside, or stops with one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edgedistill.bundle.registry import INDEX_FILE, LOCK_FILE, publish, pull
from edgedistill.check.dispatch import check_bundle
from edgedistill.errors import UserError

pytestmark = pytest.mark.slow  # one real ONNX Runtime export


def _index(registry: Path) -> dict:
    return json.loads((registry / INDEX_FILE).read_text())


@pytest.mark.parametrize("name", ["../outside", "/abs/path", "evil\n", "index.json"])
def test_index_names_that_leave_the_root_are_refused_when_read(bundle, tmp_path, name):
    registry = tmp_path / "registry"
    publish(bundle, str(registry))
    index = _index(registry)
    index["bundles"][name] = index["bundles"].pop(bundle.name)
    (registry / INDEX_FILE).write_text(json.dumps(index))
    with pytest.raises(UserError, match="is not a valid NAME@VERSION") as excinfo:
        pull(f"{name}@1", str(registry), tmp_path / "out")
    assert "\n" not in str(excinfo.value).replace(repr(name), "") and not (tmp_path / "out").exists()


@pytest.mark.parametrize("version", ["3\n", "../1", "latest"])
def test_index_versions_that_are_not_versions_are_refused(bundle, tmp_path, version):
    registry = tmp_path / "registry"
    publish(bundle, str(registry))
    index = _index(registry)
    index["bundles"][bundle.name][version] = index["bundles"][bundle.name].pop("1")
    (registry / INDEX_FILE).write_text(json.dumps(index))
    with pytest.raises(UserError, match="is not a valid NAME@VERSION"):
        pull(bundle.name, str(registry), tmp_path / "out")


def test_a_symlinked_name_folder_is_never_followed(bundle, tmp_path):
    registry, outside = tmp_path / "registry", tmp_path / "outside"
    publish(bundle, str(registry))
    shutil.move(registry / bundle.name, outside)
    (registry / bundle.name).symlink_to(outside)
    with pytest.raises(UserError, match="is a symbolic link"):
        pull(bundle.name, str(registry), tmp_path / "out")
    with pytest.raises(UserError, match="is a symbolic link"):
        publish(bundle, str(registry), "2")
    assert sorted(path.name for path in outside.iterdir()) == ["1"]


def test_a_bundle_file_symlinked_outside_is_refused(bundle, tmp_path):
    copy = tmp_path / bundle.name
    shutil.copytree(bundle, copy)
    secret = tmp_path / "secret.txt"
    shutil.copyfile(copy / "labels.json", secret)  # same bytes, so the sha256 would match
    (copy / "labels.json").unlink()
    (copy / "labels.json").symlink_to(secret)
    with pytest.raises(UserError, match="labels.json is a symbolic link"):
        check_bundle(copy)
    with pytest.raises(UserError, match="labels.json is a symbolic link"):
        publish(copy, str(tmp_path / "registry"))


def test_a_symlinked_lock_file_creates_nothing_at_its_target(bundle, tmp_path):
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / LOCK_FILE).symlink_to(tmp_path / "planted")
    with pytest.raises(UserError, match=r"\.index\.lock is a symbolic link"):
        publish(bundle, str(registry))
    assert not (tmp_path / "planted").exists()


def test_bundles_prints_index_strings_and_odd_metrics_as_they_are(bundle, tmp_path, capsys):
    from edgedistill.cli import main

    registry = tmp_path / "registry"
    publish(bundle, str(registry))
    index = _index(registry)
    entry = index["bundles"][bundle.name]["1"]
    entry.update(runtime="[bold red]onnx[/bold red]", metrics={"accuracy": "high", "size_bytes": [1], "latency_ms": 3})
    (registry / INDEX_FILE).write_text(json.dumps(index))
    capsys.readouterr()
    assert main(["bundles", "--registry", str(registry)]) == 0
    out = capsys.readouterr().out
    assert "[bold red]onnx[/bold red]" in out and "?" in out
