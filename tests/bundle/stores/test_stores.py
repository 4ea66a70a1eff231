"""The same registry guarantees in every writable store: a directory (file://), memory://, and s3:// on SeaweedFS.

Every file is verified before anything is placed, placement is atomic, a published version is immutable, and
nothing outside the registry's root is read or written.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from edgedistill.bundle.reader import open_bundle
from edgedistill.bundle.registry import list_bundles, publish, pull, resolve
from edgedistill.cli import main
from edgedistill.errors import UserError
from edgedistill.fsutil import sha256_file
from edgedistill.jsonio import write_json
from tests.bundle.fakes import MODEL
from tests.bundle.stores.conftest import file_bytes, renamed


def outside_root(registry, before: dict[str, bytes]) -> dict[str, bytes | None]:
    """What changed in the test's space outside the registry's root."""
    after = registry.snapshot()
    return {path: after.get(path) for path in set(before) | set(after)
            if before.get(path) != after.get(path) and not path.startswith(registry.root + "/")}


def test_publish_list_and_pull_round_trip(registry, fake, tmp_path, capsys):
    before = registry.snapshot()
    first = publish(fake, registry.url)
    where = f"{registry.url}/{fake.name}/1"
    assert (first.version, str(first.path)) == ("1", where.removeprefix("file://"))
    assert publish(fake, registry.url, "1.2.0-rc1").version == "1.2.0-rc1"
    assert outside_root(registry, before) == {}

    listing = list_bundles(registry.url)
    assert list(listing) == [fake.name] and list(listing[fake.name]) == ["1", "1.2.0-rc1"]
    assert listing[fake.name]["1"]["manifest_sha256"] == sha256_file(fake / "manifest.json")
    assert main(["bundles", "--registry", registry.url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == listing

    assert resolve(fake.name, registry.url).version == "1.2.0-rc1"
    out = pull(f"{fake.name}@1", registry.url, tmp_path / "app" / "model")
    assert file_bytes(out) == file_bytes(fake)
    assert open_bundle(out).manifest.name == fake.name  # every size and sha256 checked again
    assert main(["pull", fake.name, "--registry", registry.url, "--out", str(tmp_path / "cli")]) == 0
    assert capsys.readouterr().out.strip() == f"pulled {fake.name}@1.2.0-rc1 into {tmp_path / 'cli'}"


def test_the_stored_layout_is_the_same_in_every_store(registry, fake):
    publish(fake, registry.url)
    stored = {path[len(registry.root) + 1:] for path in registry.snapshot() if path.startswith(registry.root + "/")}
    expected = {"index.json", *(f"{fake.name}/1/{name}" for name in file_bytes(fake))}
    assert stored - {".index.lock"} == expected


def test_a_tampered_bundle_is_refused_at_publish(registry, fake, tmp_path):
    publish(fake, registry.url)
    before = registry.snapshot()
    (fake / "labels.json").write_text(json.dumps({"labels": ["pos", "neg"]}))
    with pytest.raises(UserError, match=r"refusing to publish: .*labels.json does not match its sha256"):
        publish(fake, registry.url)
    assert registry.snapshot() == before


@pytest.mark.parametrize("damage", ["same size", "other size", "manifest", "missing file"])
def test_a_file_changed_after_publish_is_refused_and_nothing_is_placed(registry, fake, tmp_path, damage):
    ref = publish(fake, registry.url)
    version = (fake.name, ref.version)
    if damage == "same size":
        model = registry.read(*version, MODEL)
        registry.write(*version, MODEL, data=model[:-1] + bytes([model[-1] ^ 1]))
        message = rf"is corrupt, nothing pulled: .*{MODEL} does not match its sha256"
    elif damage == "other size":  # refused by its size, before it is downloaded
        registry.write(*version, MODEL, data=registry.read(*version, MODEL) + b"\0" * 4096)
        message = rf"{MODEL} is \d+ bytes, but manifest.json records \d+; publish the bundle again"
    elif damage == "manifest":  # still matches its files, but not the index
        manifest = json.loads(registry.read(*version, "manifest.json"))
        manifest["metrics"]["accuracy"] = 1.0
        registry.write(*version, "manifest.json", data=json.dumps(manifest).encode())
        message = r"manifest.json does not match its sha256 in index.json \(modified after publish\)"
    else:
        registry.fs.rm_file(registry.key(*version, "labels.json"))
        message = r"missing labels.json; publish the bundle again"
    out = tmp_path / "app" / "model"
    with pytest.raises(UserError, match=message) as caught:
        pull(ref.reference, registry.url, out)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "app").exists() or list((tmp_path / "app").iterdir()) == []


def test_a_published_version_is_never_overwritten(registry, fake, tmp_path):
    publish(fake, registry.url, "1.0.0")
    before = registry.snapshot()
    rebuilt = renamed(fake, fake.name, tmp_path / "rebuilt")
    manifest = json.loads((rebuilt / "manifest.json").read_text())
    write_json(rebuilt / "manifest.json", {**manifest, "created_at": "2031-01-01T00:00:00+00:00"})
    for version in ("1.0.0", "1", "1.0"):  # the same release
        with pytest.raises(UserError, match=r"@1\.0\.0 is already published .*published versions are never overwritten"):
            publish(rebuilt, registry.url, version)
    assert registry.snapshot() == before


@pytest.mark.parametrize("reference", ["../evil", "../evil@1", "evil/../../x@1", "/abs/path@1", "name@../1"])
def test_references_that_leave_the_root_are_refused(registry, fake, tmp_path, reference):
    publish(fake, registry.url)
    before = registry.snapshot()
    with pytest.raises(UserError, match="no bundle named|has no version"):
        pull(reference, registry.url, tmp_path / "out")
    assert registry.snapshot() == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["../evil", "/abs/path", "evil\n"])
def test_index_entries_that_leave_the_root_are_refused(registry, fake, tmp_path, name):
    publish(fake, registry.url)
    registry.edit_index(lambda index: index["bundles"].update({name: index["bundles"].pop(fake.name)}))
    before = registry.snapshot()
    for command in (lambda: pull(f"{name}@1", registry.url, tmp_path / "out"), lambda: list_bundles(registry.url),
                    lambda: publish(fake, registry.url)):
        with pytest.raises(UserError, match="is not a valid NAME@VERSION"):
            command()
    assert registry.snapshot() == before and not (tmp_path / "out").exists()


def test_a_manifest_listing_a_file_outside_the_root_is_refused(registry, fake, tmp_path):
    ref = publish(fake, registry.url)
    manifest = json.loads(registry.read(fake.name, "1", "manifest.json"))
    manifest["files"]["../../outside/secret.txt"] = manifest["files"]["labels.json"]
    forged = json.dumps(manifest).encode()
    registry.write(fake.name, "1", "manifest.json", data=forged)
    registry.edit_index(lambda index: index["bundles"][fake.name]["1"].update(
        manifest_sha256=hashlib.sha256(forged).hexdigest()))
    with pytest.raises(UserError, match=r"files lists an invalid name '\.\./\.\./outside/secret\.txt'"):
        pull(ref.reference, registry.url, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_bundle_name_that_is_not_a_plain_name_is_never_published(registry, fake, tmp_path):
    before = registry.snapshot()
    for name in ("..", "x y"):
        with pytest.raises(UserError, match="cannot be a registry folder name"):
            publish(renamed(fake, name, tmp_path / name.replace(".", "dot")), registry.url)
    assert registry.snapshot() == before
