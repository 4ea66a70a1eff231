"""What each stage of a run last did, in RUN/stages/STAGE.json, and the keys that decide whether it runs again.

A stage's key hashes its settings, the content of any input file it reads, and the run id of every stage it
follows; a stage whose record is `done` under the same key (and whose output is still there) is skipped. Each
completion gets a new run id, so everything downstream of a stage that ran again runs again too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edgedistill.errors import UserError
from edgedistill.fsutil import inside, sha256_file
from edgedistill.jsonio import read_json, write_json
from edgedistill.typed_config import from_mapping

STAGES_DIR = "stages"
# Held (flock) by the run using the folder; it holds that run's pid, for the message another run gets.
LOCK_FILE = "lock"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class StageRecord:
    stage: str
    key: str
    status: Literal["running", "done"]
    run_id: str = ""
    elapsed_s: float = 0.0


def stage_key(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def source_fingerprint(source: str | None) -> str | None:
    """A data source as a key sees it: a local file by its sha256, a built-in (pinned by sha256) by its name."""
    if source is None or not Path(source).is_file():
        return source
    return f"{source}@sha256:{sha256_file(Path(source))}"


def folder_fingerprint(folder: Path) -> str:
    """The sha256 of every plain file in `folder` (a trained teacher), by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"teacher directory {folder} not found")
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(f"{path.name}:{sha256_file(path)}\n".encode())
    return digest.hexdigest()


class Ledger:
    """The stage records of one run folder."""

    def __init__(self, run_dir: Path):
        self.folder = Path(run_dir) / STAGES_DIR

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """The folder for this process alone while inside; another run of the same folder is a one-line error."""
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = self.folder / LOCK_FILE
        if lock.is_symlink():
            raise UserError(f"{lock} is a symlink; the run folder's lock must be a plain file")
        with open(lock, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "?"
                raise UserError(f"{self.folder.parent} is in use by another `edgedistill run` (pid {holder}); "
                                "wait for it to finish or choose another --out") from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _path(self, stage: str) -> Path:
        return inside(self.folder, f"{_UNSAFE.sub('_', stage)}.json")

    def read(self, stage: str) -> StageRecord | None:
        """The stage's record; None when there is none or it is unreadable (the stage then simply runs)."""
        path = self._path(stage)
        if not path.is_file():
            return None
        try:
            return from_mapping(StageRecord, read_json(path, "stage record"), str(path))
        except UserError:
            return None

    def start(self, stage: str, key: str) -> None:
        write_json(self._path(stage), dataclasses.asdict(StageRecord(stage, key, "running")))

    def finish(self, stage: str, key: str, elapsed_s: float) -> StageRecord:
        record = StageRecord(stage, key, "done", secrets.token_hex(8), round(elapsed_s, 1))
        write_json(self._path(stage), dataclasses.asdict(record))
        return record
