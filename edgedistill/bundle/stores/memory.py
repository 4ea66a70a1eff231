"""`memory://NAME` registries: fsspec's in-memory filesystem, alive as long as the process (tests, notebooks).

It goes through the same claim-then-compare-and-swap publish as S3. Its conditional writes hold one process-wide
lock, which is exact here: no other process can see this memory.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlparse

from fsspec.implementations.memory import MemoryFileSystem

from edgedistill.bundle.stores.base import check_segment
from edgedistill.bundle.stores.objects import Conflict, ObjectStore, read_up_to
from edgedistill.errors import UserError
from edgedistill.jsonio import MAX_JSON_BYTES, json_too_large

_WRITES = threading.Lock()


class MemoryStore(ObjectStore):
    @classmethod
    def open(cls, registry: str) -> MemoryStore:
        url = urlparse(registry)
        if url.query or url.fragment or url.params or not url.netloc:
            raise UserError(f"registry {registry!r} must look like memory://NAME or memory://NAME/FOLDER")
        path = url.path.strip("/")
        root = "/".join(check_segment(part, "registry folder", registry)
                        for part in [url.netloc, *(path.split("/") if path else [])])
        # skip_instance_cache: a fresh instance still shares the process-wide store of every MemoryFileSystem.
        return cls(MemoryFileSystem(skip_instance_cache=True), f"/{root}", f"memory://{root}", registry, ())

    def _read_versioned(self, key: str) -> tuple[bytes, Any] | None:
        with _WRITES:
            if not self.fs.isfile(key):
                return None
            with self.fs.open(key, "rb") as stream:
                data = read_up_to(stream, MAX_JSON_BYTES)
        if data is None:
            raise json_too_large("registry index", self._url_of(key), f"over {MAX_JSON_BYTES:,} bytes")
        return data, data  # the content is its own token: a compare-and-swap compares the bytes

    def _create(self, key: str, data: bytes) -> None:
        with _WRITES:
            if self.fs.exists(key):
                raise Conflict(key)
            self.fs.pipe_file(key, data)

    def _replace(self, key: str, data: bytes, token: Any) -> None:
        with _WRITES:
            if not self.fs.isfile(key) or self.fs.cat_file(key) != token:
                raise Conflict(key)
            self.fs.pipe_file(key, data)

    def _remove(self, key: str) -> None:
        with _WRITES:
            self.fs.rm_file(key)
