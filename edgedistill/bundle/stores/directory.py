"""A registry that is a directory: local, an NFS/SMB mount or a synced bucket folder, named by a path or a
`file://` URL.

Publishers hold an flock on `.index.lock` for the whole publish, so the index is read, extended and rewritten
by one of them at a time. A version is copied into a scratch folder beside its final place and renamed there,
so it appears whole; each scratch name is listed in `.edgedistill-scratch` while it exists, so the next
publisher removes what a killed one left and nothing else. The root may be a link the user named; no link
below it is followed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from edgedistill.bundle.reader import is_written_bundle, listed_file_problem
from edgedistill.bundle.stores.base import INDEX_FILE, IndexChange, Store
from edgedistill.errors import UserError
from edgedistill.fsutil import (ScratchRecord, atomic_output_dir, atomic_write_bytes, check_name, exclusive_lock, inside,
                               require_directory_path)
from edgedistill.jsonio import check_json_size

LOCK_FILE = ".index.lock"
SCRATCH_RECORD = ".edgedistill-scratch"


class DirectoryStore(Store):
    def __init__(self, root: Path, label: str):
        super().__init__(label)
        self.root = root
        self._scratch: ScratchRecord | None = None  # set while `publishing`

    @classmethod
    def open(cls, registry: str, create: bool) -> DirectoryStore:
        """The directory a registry path or `file://` URL names; only a publish creates it."""
        path = registry
        if "://" in registry:
            url = urlparse(registry)
            if url.scheme != "file" or url.netloc not in ("", "localhost") or not url.path:
                raise UserError(f"registry {registry!r}: a file:// URL names a local path (file:///PATH, no host); "
                                "give a remote registry's s3:// or http(s):// URL")
            path = url2pathname(url.path)
        root = Path(path).expanduser()
        if not root.is_dir() and (not create or os.path.lexists(root)):
            raise UserError(f"registry {root} is not an existing directory; check --registry or EDGEDISTILL_REGISTRY")
        if create:
            require_directory_path(root)  # a publish makes it (`publishing`), once it has checked its inputs
        return cls(root, registry)

    @property
    def folder(self) -> Path:
        return self.root

    def read_index(self) -> bytes | None:
        path = inside(self.root, INDEX_FILE)
        if not os.path.lexists(path):
            return None
        if not path.is_file():
            raise UserError(f"registry index {path} is not a file; move it away, or restore the registry's index.json")
        check_json_size(path.stat().st_size, "registry index", str(path))
        return path.read_bytes()

    def fetch(self, name: str, version: str, file_name: str, target: Path, size: int | None,
              required: bool = True) -> str | None:
        source = self._inside(name, version) / file_name
        if not required and not os.path.lexists(source):
            return None
        problem = listed_file_problem(source, size)  # lstat first: a link or a wrong size is never read
        if problem is None:
            shutil.copyfile(source, target)
        return problem

    def location(self, name: str, version: str) -> Path:
        return self.root / name / version

    @contextlib.contextmanager
    def publishing(self) -> Iterator[None]:
        with contextlib.suppress(FileExistsError):  # a racing publisher's folder is fine
            self.root.mkdir(parents=True, exist_ok=True)
        record = ScratchRecord(inside(self.root, SCRATCH_RECORD))
        with exclusive_lock(inside(self.root, LOCK_FILE)):
            record.sweep()  # under the lock: no live publisher owns anything it lists
            self._scratch = record
            try:
                yield
            finally:
                self._scratch = None

    def stage(self, name: str, version: str) -> contextlib.AbstractContextManager[Path]:
        # Not in the index, so never visible to pull: a folder there is a leftover of an interrupted publish
        # (this one holds the lock), replaced only if it holds nothing but a bundle.
        return atomic_output_dir(self._inside(name, version), is_written_bundle, record=self._scratch)

    def update_index(self, change: IndexChange) -> None:
        updated = change(self.read_index())  # under the lock `publishing` holds
        if updated is not None:
            atomic_write_bytes(inside(self.root, INDEX_FILE), updated, record=self._scratch)

    def _inside(self, name: str, version: str) -> Path:
        """`root/name/version`: plain names, no symbolic link on the way (one could lead out of the registry)."""
        path = inside(self.root, check_name(name, "bundle name"), check_name(version, "version"))
        for folder in (path.parent, path):
            if folder.exists() and not folder.is_dir():
                raise UserError(f"{folder} is a file; a registry holds one folder per name and per version")
        return path
