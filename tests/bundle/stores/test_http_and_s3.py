"""What only one store does: HTTP serves a registry read-only; S3 takes its settings from AWS_* and refuses a
server that would ignore conditional writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgedistill.bundle.reader import open_bundle
from edgedistill.bundle.registry import list_bundles, publish, pull
from edgedistill.bundle.stores import open_store
from edgedistill.bundle.stores.s3 import S3Store
from edgedistill.cli import main
from edgedistill.errors import UserError
from edgedistill.jsonio import MAX_JSON_BYTES
from tests.bundle.fakes import MODEL
from tests.bundle.stores.conftest import file_bytes
from tests.bundle.stores.seaweedfs import BUCKET

REPO = Path(__file__).resolve().parents[3]
NO_TORCH = ("import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None; "
            "from edgedistill.cli import main; sys.exit(main(sys.argv[1:]))")


def one_line_error(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    return error


def test_http_serves_a_published_directory_read_only(fake, tmp_path, http_server, capsys):
    registry = tmp_path / "site" / "registry"
    publish(fake, registry.as_uri())
    publish(fake, str(registry), "1.1.0")
    url = http_server(tmp_path / "site") + "/registry"

    assert list(list_bundles(url)[fake.name]) == ["1", "1.1.0"]
    out = pull(f"{fake.name}@1", url, tmp_path / "pulled")
    assert file_bytes(out) == file_bytes(fake) and open_bundle(out).manifest.name == fake.name
    assert main(["bundles", "--registry", url + "/", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)[fake.name]) == ["1", "1.1.0"]

    before = sorted(path.relative_to(registry) for path in registry.rglob("*"))
    assert main(["publish", str(fake), "--registry", url]) == 2
    assert "is read-only over HTTP; publish to the directory or bucket it serves" in one_line_error(capsys)
    with pytest.raises(UserError, match="read-only"):
        publish(fake, url, "9")
    assert sorted(path.relative_to(registry) for path in registry.rglob("*")) == before


def test_http_pull_of_a_tampered_file_places_nothing(fake, tmp_path, http_server):
    registry = tmp_path / "site" / "registry"
    ref = publish(fake, str(registry))
    model = ref.path / MODEL
    data = model.read_bytes()
    model.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    url = http_server(tmp_path / "site") + "/registry"
    with pytest.raises(UserError, match=rf"is corrupt, nothing pulled: .*{MODEL} does not match its sha256"):
        pull(ref.reference, url, tmp_path / "out")
    model.write_bytes(data + b"more")
    with pytest.raises(UserError, match=rf"{MODEL} is {len(data) + 4} bytes, but manifest.json records {len(data)}"):
        pull(ref.reference, url, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_http_without_an_index_says_so(tmp_path, http_server):
    (tmp_path / "empty").mkdir()
    url = http_server(tmp_path / "empty") + "/registry"
    with pytest.raises(UserError, match=r"serves no index.json \(not found\)"):
        list_bundles(url)


def test_s3_settings_come_from_the_aws_environment_in_a_process_without_torch(s3_env, fake, tmp_path):
    registry = f"s3://{BUCKET}/cli-{time.time_ns()}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "EDGEDISTILL_REGISTRY": registry}

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", NO_TORCH, *argv], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=300)

    published = run("publish", str(fake), "--version", "0.3.0")
    assert published.returncode == 0, published.stderr
    assert published.stdout.strip() == f"published {fake.name}@0.3.0 to {registry}/{fake.name}/0.3.0"
    listed = run("bundles", "--json")
    assert listed.returncode == 0 and list(json.loads(listed.stdout)[fake.name]) == ["0.3.0"], listed.stderr
    pulled = run("pull", fake.name, "--out", str(tmp_path / "pi"))
    assert pulled.returncode == 0, pulled.stderr
    assert file_bytes(tmp_path / "pi") == file_bytes(fake)
    assert published.stderr + listed.stderr + pulled.stderr == ""  # no warning about sessions left open, say


def test_s3_an_oversized_index_ends_in_one_line_with_every_connection_closed(s3_env, tmp_path):
    """Refused from its Content-Length, unread: the body is released, so aiohttp has no open connection to warn of."""
    registry = f"s3://{BUCKET}/oversized-{time.time_ns()}"
    store = open_store(registry)
    store.fs.pipe_file(f"{store.root}/index.json", b" " * (MAX_JSON_BYTES + 1))
    listed = subprocess.run([sys.executable, "-c", NO_TORCH, "bundles", "--registry", registry], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO, timeout=300)
    assert listed.returncode == 2 and listed.stdout == ""
    assert listed.stderr.startswith(f"error: registry index {registry}/index.json is 67,108,865 bytes; edgedistill "
                                    "reads JSON files of at most 64 MiB"), listed.stderr
    assert listed.stderr.count("\n") == 1, listed.stderr  # no "Unclosed connection" after it


def test_s3_credentials_that_do_not_match_end_in_one_line(s3_env, monkeypatch, capsys):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    assert main(["bundles", "--registry", f"s3://{BUCKET}/anything"]) == 2
    assert "reading index.json failed (" in one_line_error(capsys)


def test_s3_a_missing_bucket_is_named(s3_env):
    with pytest.raises(UserError, match=r"bucket 'no-such-bucket' does not exist; create it, or check --registry"):
        list_bundles("s3://no-such-bucket/registry")


def test_s3_a_server_that_ignores_conditional_writes_is_refused(s3_env, fake, monkeypatch):
    """As a server without If-Match/If-None-Match support would behave: the conditions are dropped on the way."""
    registry = f"s3://{BUCKET}/unconditional-{time.time_ns()}"
    real_put = S3Store._put

    def unconditional(self, key, data, **condition):
        return real_put(self, key, data)

    with monkeypatch.context() as patch:
        patch.setattr(S3Store, "_put", unconditional)
        with pytest.raises(UserError, match="the S3 server ignores If-Match on PUT, so concurrent publishers could lose"):
            publish(fake, registry)
    store = open_store(registry)
    left = store.fs.find(store.root)
    assert not [key for key in left if ".edgedistill-probe" in key]  # the probe cleaned up after itself
    assert not [key for key in left if key.endswith("index.json")]


@pytest.mark.parametrize("url", ["s3://Bucket/x", "s3://b/x", "s3://bucket/a//b", "s3://bucket/x?versionId=1",
                                 "s3://bucket/../x", "s3://bucket/x y", "memory://", "memory://a/..", "ftp://host/x"])
def test_registry_urls_that_are_not_plain_keys_are_refused_before_any_request(url):
    with pytest.raises(UserError, match=r"registry .*(must look like|refusing|is not a registry store)"):
        open_store(url)


@pytest.mark.parametrize("parts", [("..", "1", "manifest.json"), ("name", "..", "manifest.json"),
                                   ("name", "1", "../index.json"), ("name", "1", "a/b"), ("name", "1", ".hidden")])
def test_object_store_keys_never_leave_the_root(parts, tmp_path):
    with pytest.raises(UserError, match="refusing the (bundle name|version|file name) "):
        open_store("memory://keys/registry").fetch(*parts, tmp_path / "x", None)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name, version", [("..", "1"), ("name", ".."), ("a/b", "1"), ("name", "1/../..")])
def test_a_version_folder_outside_the_root_is_never_staged(name, version):
    with pytest.raises(UserError, match="refusing the"), open_store("memory://keys/registry").stage(name, version):
        pytest.fail("staged a folder outside the root")
