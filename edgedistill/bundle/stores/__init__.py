"""Where a registry's bytes live: a directory, an object store through fsspec, or a web server (see base.Store)."""

from __future__ import annotations

from urllib.parse import urlparse

from edgedistill.bundle.stores.base import HTTP_TIMEOUT_S, INDEX_FILE, Store, VersionTaken, check_timeout
from edgedistill.errors import UserError

SCHEMES = ("file", "s3", "memory", "http", "https")

__all__ = ["HTTP_TIMEOUT_S", "INDEX_FILE", "SCHEMES", "Store", "VersionTaken", "open_store"]


def open_store(registry: str, publish: bool = False, http_timeout_s: float = HTTP_TIMEOUT_S) -> Store:
    """The store a registry path or URL names; `publish` creates a missing directory and refuses read-only stores.
    An http(s):// registry waits at most `http_timeout_s` for a connection or for each read."""
    check_timeout(http_timeout_s)
    scheme = urlparse(registry).scheme.lower() if "://" in registry else "file"
    if scheme == "file":
        from edgedistill.bundle.stores.directory import DirectoryStore

        return DirectoryStore.open(registry, create=publish)
    if scheme == "s3":
        from edgedistill.bundle.stores.s3 import S3Store

        return S3Store.open(registry)
    if scheme == "memory":
        from edgedistill.bundle.stores.memory import MemoryStore

        return MemoryStore.open(registry)
    if scheme in ("http", "https"):
        from edgedistill.bundle.stores.http import HttpStore, read_only_error

        if publish:
            raise read_only_error(registry)
        return HttpStore.open(registry, http_timeout_s)
    raise UserError(f"registry {registry!r}: {scheme}:// is not a registry store; give a directory or a "
                    f"{', '.join(s + '://' for s in SCHEMES)} URL")
