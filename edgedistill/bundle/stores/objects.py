"""A registry in an object store reached through fsspec: keys `<root>/index.json` and `<root>/<name>/<version>/<file>`.

Object stores have no lock and no rename, so writers are kept apart by conditional writes, which a subclass
supplies (S3's If-None-Match and If-Match, a process lock for memory://):

- A version's folder is claimed by creating its `manifest.json` only if absent. The one publisher that
  creates it owns the folder; any other takes the next version, or stops if it asked for that one. Every other
  file is then created only if absent too, so nothing published is ever overwritten.
- The index is replaced only if it is still the one that was read (compare-and-swap on its ETag). A publisher
  that loses the race reads the index again and reapplies its change, so no publisher's entry is lost.
- Files are uploaded before the index lists them, and readers trust only what the index lists, so a reader
  never sees a half-uploaded version.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from edgedistill.bundle.manifest import MANIFEST_FILE
from edgedistill.bundle.stores.base import INDEX_FILE, IndexChange, Store, VersionTaken, check_segment, one_line_errors
from edgedistill.errors import UserError
from edgedistill.jsonio import MAX_JSON_BYTES

_CHUNK_BYTES = 1 << 20
# Concurrent publishers retry a lost compare-and-swap; this many losses in a row means something else is wrong.
_INDEX_TRIES = 50


class Conflict(Exception):
    """A conditional write found the object changed (or already there): read again and retry."""


class ObjectStore(Store):
    """Reads through fsspec's file interface; conditional writes come from the subclass."""

    def __init__(self, fs: Any, root: str, url: str, label: str, errors: tuple[type[BaseException], ...]):
        super().__init__(label)
        self.fs, self.root, self.url = fs, root.rstrip("/"), url.rstrip("/")
        self.errors = (OSError, *errors)  # what the transport raises when a server refuses or cannot be reached

    # Reading.

    def read_index(self) -> bytes | None:
        with self._transport(f"reading {INDEX_FILE}"):
            current = self._read_versioned(self._index_key())
        return None if current is None else current[0]

    def fetch(self, name: str, version: str, file_name: str, target: Path, size: int | None,
              required: bool = True) -> str | None:
        key = self._version_key(name, version, file_name)
        with self._transport(f"reading {self._url_of(key)}"):
            try:
                info = self.fs.info(key)
            except FileNotFoundError:
                return f"missing {file_name}" if required else None
            if info.get("type", "file") != "file":
                return f"{file_name} is not a plain file"
            problem = size_problem(file_name, size, info.get("size"))
            if problem is None and not self._download(key, target, download_limit(size)):
                problem = over_limit_problem(file_name, size)
        return problem

    def location(self, name: str, version: str) -> str:
        return f"{self.url}/{name}/{version}"

    # Publishing.

    @contextlib.contextmanager
    def stage(self, name: str, version: str) -> Iterator[Path]:
        folder = self._version_key(name, version)  # refused before anything is staged
        with tempfile.TemporaryDirectory(prefix=".edgedistill-publish-") as scratch:
            yield Path(scratch)
            self._upload(name, version, folder, Path(scratch))

    def update_index(self, change: IndexChange) -> None:
        key = self._index_key()
        for attempt in range(_INDEX_TRIES):
            with self._transport(f"updating {INDEX_FILE}"):
                current = self._read_versioned(key)
                updated = change(None if current is None else current[0])
                if updated is None:
                    return
                try:
                    if current is None:
                        self._create(key, updated)
                    else:
                        self._replace(key, updated, current[1])
                    return
                except Conflict:
                    pass  # another publisher's update landed first: read it and apply ours on top
            time.sleep(random.uniform(0, min(2.0, 0.02 * 2 ** attempt)))
        raise UserError(f"registry {self.label}: {INDEX_FILE} changed under this publish {_INDEX_TRIES} times in a row; "
                        "publish again")

    def _upload(self, name: str, version: str, folder: str, scratch: Path) -> None:
        """Claim the version by creating its manifest, then create the other files; undo everything on failure."""
        names = sorted((path.name for path in scratch.iterdir()), key=lambda name: (name != MANIFEST_FILE, name))
        keys = [self._version_key(name, version, file_name) for file_name in names]  # all checked before any write
        created: list[str] = []
        try:
            with self._transport(f"uploading to {self._url_of(folder)}"):
                for file_name, key in zip(names, keys):
                    try:
                        self._create(key, (scratch / file_name).read_bytes())
                    except Conflict:
                        if not created:
                            raise VersionTaken(self._url_of(folder)) from None
                        raise UserError(f"registry {self.label}: {self._url_of(key)} appeared while this publish "
                                        "held its folder; something else writes there") from None
                    created.append(key)
        except BaseException:
            for key in reversed(created):  # the folder was this publish's alone, and no index lists it
                with contextlib.suppress(Exception):
                    self._remove(key)
            raise

    # Keys and transport.

    def _index_key(self) -> str:
        return f"{self.root}/{INDEX_FILE}"

    def _version_key(self, name: str, version: str, *file_name: str) -> str:
        """The key of a version's folder or one of its files; every part is a plain name, so none leads outside."""
        parts = zip(("bundle name", "version", "file name"), (name, version, *file_name))
        return "/".join([self.root, *(check_segment(value, what, self.label) for what, value in parts)])

    def _url_of(self, key: str) -> str:
        return self.url + key[len(self.root):]

    def _transport(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return one_line_errors(self.label, doing, self.errors)

    def _download(self, key: str, target: Path, limit: int) -> bool:
        """Stream `key` to `target`; False, with nothing left at `target`, if it holds more than `limit` bytes."""
        with self.fs.open(key, "rb") as source, open(target, "wb") as sink:
            complete = copy_up_to(source, sink.write, limit)
        if not complete:
            target.unlink()
        return complete

    # Conditional writes: what a subclass supplies.

    @abstractmethod
    def _read_versioned(self, key: str) -> tuple[bytes, Any] | None:
        """The object's bytes and a token naming exactly that content (an ETag), or None if there is none."""

    @abstractmethod
    def _create(self, key: str, data: bytes) -> None:
        """Write a new object; raise Conflict if one exists already."""

    @abstractmethod
    def _replace(self, key: str, data: bytes, token: Any) -> None:
        """Overwrite the object only if it still is the content `token` names; raise Conflict otherwise."""

    @abstractmethod
    def _remove(self, key: str) -> None:
        """Delete an object this publish created."""


def download_limit(size: int | None) -> int:
    """The most bytes a published file may hold: what the manifest records, and for the unsized files (the manifest
    and its signature, both JSON) no more than any JSON file edgedistill writes."""
    return size if size is not None else MAX_JSON_BYTES


def size_problem(file_name: str, size: int | None, found: int | None) -> str | None:
    """A file's size, as the store announces it, against the size the manifest records."""
    if size is not None and found is not None and found != size:
        return f"{file_name} is {found} bytes, but {MANIFEST_FILE} records {size}"
    return None


def over_limit_problem(file_name: str, size: int | None) -> str:
    if size is not None:
        return f"{file_name} holds more than the {size} bytes {MANIFEST_FILE} records"
    return f"{file_name} is over {MAX_JSON_BYTES} bytes, more than any file edgedistill writes"


def copy_up_to(source: Any, write: Callable[[bytes], Any], limit: int) -> bool:
    """Pass `source`'s bytes to `write` until its end (True), or stop once it exceeds `limit` bytes (False).

    A streamed read may return fewer bytes than asked for before the end, so only an empty read ends it.
    """
    copied = 0
    while chunk := source.read(_CHUNK_BYTES):
        copied += len(chunk)
        if copied > limit:
            return False
        write(chunk)
    return True


def read_up_to(source: Any, limit: int) -> bytes | None:
    """`source`'s bytes, or None if it holds more than `limit`."""
    chunks: list[bytes] = []
    return b"".join(chunks) if copy_up_to(source, chunks.append, limit) else None
