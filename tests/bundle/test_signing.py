"""Signed bundles through the real CLI: keygen, publish --sign, pull --trust and check --trust."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from edgedistill.bundle.registry import INDEX_FILE
from edgedistill.cli import main
from edgedistill.fsutil import sha256_file
from tests.bundle.fakes import MODEL, fake_bundle

REPO = Path(__file__).resolve().parents[2]
NAME = "m-onnxruntime-fp32"


@pytest.fixture
def bundle(tmp_path) -> Path:
    return fake_bundle(tmp_path / "export")


@pytest.fixture
def registry(tmp_path) -> Path:
    return tmp_path / "registry"


@pytest.fixture
def keys(tmp_path, capsys) -> Path:
    """Two key pairs made by `edgedistill keygen`: ours (release.key/.pub) and someone else's (other.key/.pub)."""
    for name in ("release", "other"):
        assert main(["keygen", "--out", str(tmp_path / "keys"), "--name", name]) == 0
    capsys.readouterr()
    return tmp_path / "keys"


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def refused(argv: list[str], capsys) -> str:
    """Run a command that must fail with one line of error and exit 2; return the line."""
    code, _, error = run(argv, capsys)
    assert code == 2 and error.startswith("error: ") and "\n" not in error and "Traceback" not in error, error
    return error


def files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def test_keygen_writes_an_owner_only_private_key_and_never_overwrites(tmp_path, capsys):
    code, out, _ = run(["keygen", "--out", tmp_path / "keys"], capsys)
    assert code == 0 and "key fingerprint" in out
    private, public = tmp_path / "keys" / "edgedistill-signing.key", tmp_path / "keys" / "edgedistill-signing.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    before = private.read_bytes()
    assert "already exists" in refused(["keygen", "--out", tmp_path / "keys"], capsys)
    assert private.read_bytes() == before


def test_signed_publish_then_trusted_pull_and_check(bundle, registry, keys, tmp_path, capsys, monkeypatch):
    code, out, _ = run(["publish", bundle, "--registry", registry, "--sign", keys / "release.key"], capsys)
    assert code == 0 and out.endswith(", signed")
    published = registry / NAME / "1"
    assert set(files(published)) == set(files(bundle)) | {"manifest.sig"}
    assert "manifest.sig" not in files(bundle)  # the source bundle is never modified
    signature = json.loads((published / "manifest.sig").read_text())
    assert signature["algorithm"] == "ed25519" and signature["signed_file"] == "manifest.json"

    pulled = tmp_path / "app" / "model"
    code, out, _ = run(["pull", NAME, "--registry", registry, "--out", pulled, "--trust", keys / "release.pub"], capsys)
    assert code == 0 and out == f"pulled {NAME}@1 into {pulled}, signed by a --trust key"
    assert files(pulled) == files(published)
    # pulling again over our own signed pull replaces it
    assert run(["pull", NAME, "--registry", registry, "--out", pulled, "--trust", keys / "release.pub"], capsys)[0] == 0

    monkeypatch.setattr("edgedistill.check.dispatch.check_bundle", lambda bundle, **_: {"passed": True})
    assert run(["check", pulled, "--trust", keys / "release.pub", "--json"], capsys)[0] == 0
    assert "not a --trust key" in refused(["check", pulled, "--trust", keys / "other.pub"], capsys)


def test_a_bundle_rewritten_in_the_registry_is_refused_under_trust(bundle, registry, keys, tmp_path, capsys):
    """Someone with write access swaps the model and rehashes the manifest and the index: only the signature catches it."""
    assert run(["publish", bundle, "--registry", registry, "--sign", keys / "release.key"], capsys)[0] == 0
    published = registry / NAME / "1"
    (published / MODEL).write_bytes(b"a different model")
    manifest = json.loads((published / "manifest.json").read_text())
    manifest["files"][MODEL] = {"sha256": sha256_file(published / MODEL), "size": len(b"a different model")}
    (published / "manifest.json").write_text(json.dumps(manifest))
    index = json.loads((registry / INDEX_FILE).read_text())
    index["bundles"][NAME]["1"]["manifest_sha256"] = sha256_file(published / "manifest.json")
    (registry / INDEX_FILE).write_text(json.dumps(index))

    out = tmp_path / "out"
    error = refused(["pull", NAME, "--registry", registry, "--out", out, "--trust", keys / "release.pub"], capsys)
    assert "manifest.sig does not match manifest.json (changed after signing); refused" in error
    assert not out.exists() and [path.name for path in tmp_path.iterdir() if path.name.startswith(".out")] == []
    assert run(["pull", NAME, "--registry", registry, "--out", out], capsys)[0] == 0  # hashes alone cannot tell


def test_a_bundle_signed_by_another_key_is_refused(bundle, registry, keys, tmp_path, capsys):
    assert run(["publish", bundle, "--registry", registry, "--sign", keys / "other.key"], capsys)[0] == 0
    error = refused(["pull", NAME, "--registry", registry, "--out", tmp_path / "out",
                     "--trust", keys / "release.pub"], capsys)
    assert f"{NAME}@1 in {registry} is signed by key " in error and "which is not a --trust key; refused" in error
    assert not (tmp_path / "out").exists()


def test_a_signature_claiming_a_trusted_key_but_made_by_another_is_refused(bundle, registry, keys, tmp_path, capsys):
    assert run(["publish", bundle, "--registry", registry, "--sign", keys / "other.key"], capsys)[0] == 0
    trusted_fingerprint = _fingerprint(keys / "release.pub")
    signature_file = registry / NAME / "1" / "manifest.sig"
    signature_file.write_text(json.dumps({**json.loads(signature_file.read_text()), "key_fingerprint": trusted_fingerprint}))
    error = refused(["pull", NAME, "--registry", registry, "--out", tmp_path / "out",
                     "--trust", keys / "release.pub"], capsys)
    assert "manifest.sig does not match manifest.json" in error


def test_an_unsigned_bundle_is_refused_under_trust_and_accepted_without(bundle, registry, keys, tmp_path, capsys):
    assert run(["publish", bundle, "--registry", registry], capsys)[0] == 0
    error = refused(["pull", NAME, "--registry", registry, "--out", tmp_path / "out",
                     "--trust", keys / "release.pub"], capsys)
    assert error.endswith("is not signed, refused under --trust; ask its publisher to publish it with --sign")
    assert not (tmp_path / "out").exists()
    code, out, _ = run(["pull", NAME, "--registry", registry, "--out", tmp_path / "out"], capsys)
    assert code == 0 and out == f"pulled {NAME}@1 into {tmp_path / 'out'}"
    assert files(tmp_path / "out") == files(bundle)


def test_a_trusted_keys_file_may_hold_several_keys(bundle, registry, keys, tmp_path, capsys):
    trusted = tmp_path / "trusted-keys.pem"
    trusted.write_bytes((keys / "release.pub").read_bytes() + (keys / "other.pub").read_bytes())
    assert run(["publish", bundle, "--registry", registry, "--sign", keys / "other.key"], capsys)[0] == 0
    assert run(["pull", NAME, "--registry", registry, "--out", tmp_path / "out", "--trust", trusted], capsys)[0] == 0


def test_republishing_a_pulled_signed_bundle_keeps_its_signature(bundle, registry, keys, tmp_path, capsys):
    assert run(["publish", bundle, "--registry", registry, "--sign", keys / "release.key"], capsys)[0] == 0
    assert run(["pull", NAME, "--registry", registry, "--out", tmp_path / "pulled"], capsys)[0] == 0
    mirror = tmp_path / "mirror"
    assert run(["publish", tmp_path / "pulled", "--registry", mirror], capsys)[0] == 0
    assert run(["pull", NAME, "--registry", mirror, "--out", tmp_path / "again", "--trust", keys / "release.pub"],
               capsys)[0] == 0


def test_key_files_of_the_wrong_kind_are_one_line_errors(bundle, registry, keys, tmp_path, capsys):
    rsa_key = tmp_path / "rsa.pem"
    rsa_key.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    publish = ["publish", bundle, "--registry", registry, "--sign"]
    assert "is not an Ed25519 key" in refused([*publish, rsa_key], capsys)
    assert "is not a PEM private key" in refused([*publish, keys / "release.pub"], capsys)
    assert "not found" in refused([*publish, tmp_path / "missing.key"], capsys)
    assert not registry.exists()  # the key is read before anything is written
    pull = ["pull", NAME, "--registry", registry, "--out", tmp_path / "out", "--trust"]
    assert "holds no PEM public key" in refused([*pull, keys / "release.key"], capsys)


def test_trusted_pull_runs_where_torch_cannot_be_imported(bundle, registry, keys, tmp_path, capsys):
    assert run(["publish", bundle, "--registry", registry, "--sign", keys / "release.key"], capsys)[0] == 0
    no_torch = ("import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None; "
                "from edgedistill.cli import main; sys.exit(main(sys.argv[1:]))")
    pulled = subprocess.run([sys.executable, "-c", no_torch, "pull", NAME, "--registry", str(registry), "--out",
                             str(tmp_path / "pi"), "--trust", str(keys / "release.pub")],
                            capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert pulled.returncode == 0, pulled.stderr
    assert files(tmp_path / "pi") == files(registry / NAME / "1")


def _fingerprint(public_pem: Path) -> str:
    from edgedistill.bundle.signing import load_trusted_keys

    (fingerprint,) = load_trusted_keys([public_pem])
    return fingerprint
