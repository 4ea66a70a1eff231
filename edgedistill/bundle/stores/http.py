"""`http(s)://` registries, read-only: `pull` and `bundles` from a registry directory served by any web server.

Publish to the directory (or bucket) behind it instead. Files are streamed rather than fetched in ranges,
since many static servers (`python -m http.server` among them) ignore Range requests.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar
from urllib.parse import urlparse

from edgedistill.bundle.stores.base import INDEX_FILE
from edgedistill.bundle.stores.objects import ObjectStore, read_up_to
from edgedistill.errors import UserError
from edgedistill.jsonio import MAX_JSON_BYTES, check_json_size


class HttpStore(ObjectStore):
    open_options: ClassVar[dict[str, Any]] = {"block_size": 0}

    @classmethod
    def open(cls, registry: str) -> HttpStore:
        url = urlparse(registry)
        if not url.hostname or url.query or url.fragment:
            raise UserError(f"registry {registry!r} must look like https://HOST/PATH (no query or fragment)")
        try:
            import aiohttp
            from fsspec.implementations.http import HTTPFileSystem
        except ImportError:
            raise UserError("http(s):// registries need aiohttp; pip install 'edgedistill[stores]'") from None
        root = registry.rstrip("/")
        return cls(HTTPFileSystem(skip_instance_cache=True), root, root, registry, (aiohttp.ClientError, asyncio.TimeoutError))

    def read_index(self) -> bytes | None:
        index = super().read_index()
        if index is None:
            raise UserError(f"registry {self.label} serves no {INDEX_FILE} (not found, or the server cannot be "
                            "reached); check --registry")
        return index

    def _read_versioned(self, key: str) -> tuple[bytes, Any] | None:
        try:
            with self.fs.open(key, "rb", **self.open_options) as stream:
                data = read_up_to(stream, MAX_JSON_BYTES)
        except FileNotFoundError:
            return None
        if data is None:
            check_json_size(MAX_JSON_BYTES + 1, "registry index", key)
        return data, None

    def _create(self, key: str, data: bytes) -> None:
        raise self._read_only()

    def _replace(self, key: str, data: bytes, token: Any) -> None:
        raise self._read_only()

    def _remove(self, key: str) -> None:
        raise self._read_only()

    def _read_only(self) -> UserError:
        return read_only_error(self.label)


def read_only_error(label: str) -> UserError:
    return UserError(f"registry {label} is read-only over HTTP; publish to the directory or bucket it serves "
                     "(a path, file://, s3:// or memory:// registry)")
