import json
import os

import pytest

from edgedistill.bundle import writer
from edgedistill.bundle.manifest import FileEntry
from edgedistill.bundle.reader import open_bundle
from edgedistill.bundle.writer import write_bundle
from edgedistill.errors import UserError
from edgedistill.fsutil import sha256_file
from tests.bundle.fakes import golden_payload, manifest_fields, tokenizer_json

MODEL = "m_onnxruntime_fp32.onnx"


@pytest.fixture
def student(tmp_path):
    path = tmp_path / "student"
    path.mkdir()
    (path / "tokenizer.json").write_text(tokenizer_json())
    (path / "vocab.txt").write_text("[PAD]\n")
    (path / "labels.json").write_text(json.dumps({"labels": ["neg", "pos"]}))
    (path / "model.safetensors").write_bytes(b"weights that must not be bundled")
    return path


@pytest.fixture
def bundle(tmp_path, student):
    artifact = tmp_path / "artifact.onnx"
    artifact.write_bytes(b"\x08\x07model bytes" * 100)
    return write_bundle(tmp_path / "out" / "m-onnxruntime-fp32", artifact, MODEL, student, golden_payload(),
                        manifest_fields())


def test_written_bundle_lists_every_file_with_its_sha256_and_size(bundle):
    opened = open_bundle(bundle)
    names = {p.name for p in bundle.iterdir()}
    assert names == {MODEL, "tokenizer.json", "vocab.txt", "labels.json", "golden.json", "manifest.json"}
    assert opened.manifest.files == {name: FileEntry(sha256_file(bundle / name), (bundle / name).stat().st_size)
                                     for name in names - {"manifest.json"}}
    assert opened.labels == ["neg", "pos"] and opened.golden[0].input_ids.shape == (1, 8)
    assert opened.model_path.read_bytes().startswith(b"\x08\x07") and opened.manifest.created_at


def test_a_truncated_model_is_caught_by_its_size_and_a_flipped_byte_by_its_sha256(bundle):
    model = bundle / MODEL
    original = model.read_bytes()
    model.write_bytes(original[:50])
    with pytest.raises(UserError, match=f"{MODEL} is 50 bytes, but manifest.json records {len(original)}") as excinfo:
        open_bundle(bundle)
    assert "\n" not in str(excinfo.value)
    model.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(UserError, match=f"{MODEL} does not match its sha256") as excinfo:
        open_bundle(bundle)
    assert "\n" not in str(excinfo.value)


def test_manifest_hash_mismatch_is_caught(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["labels.json"]["sha256"] = "f" * 64
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="labels.json does not match"):
        open_bundle(bundle)


def test_a_file_of_another_size_is_refused_before_it_is_hashed(bundle, monkeypatch):
    (bundle / "labels.json").write_bytes((bundle / "labels.json").read_bytes() + b" ")
    monkeypatch.setattr("edgedistill.bundle.reader.sha256_file", lambda path: pytest.fail(f"hashed {path.name}"))
    with pytest.raises(UserError, match=r"labels.json is \d+ bytes, but manifest.json records \d+; copy the whole"):
        open_bundle(bundle)


def test_missing_file_and_missing_manifest(bundle):
    (bundle / "vocab.txt").unlink()
    with pytest.raises(UserError, match="missing vocab.txt"):
        open_bundle(bundle)
    (bundle / "manifest.json").unlink()
    with pytest.raises(UserError, match="not a bundle"):
        open_bundle(bundle)


def test_failed_write_leaves_no_partial_bundle(tmp_path, student, monkeypatch):
    artifact = tmp_path / "artifact.onnx"
    artifact.write_bytes(b"model")

    def broken_write(path, payload):
        raise OSError("disk full")

    monkeypatch.setattr(writer, "write_json", broken_write)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        write_bundle(out / "m-onnxruntime-fp32", artifact, MODEL, student, golden_payload(), manifest_fields())
    assert os.listdir(out) == []
