"""Atomic file and directory writes, and content hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from edgedistill.errors import UserError


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def holds_only(names: Iterable[str]) -> Callable[[Path], bool]:
    """An ownership test for `atomic_output_dir`: the directory holds nothing but plain files named in `names`."""
    allowed = frozenset(names)
    return lambda directory: all(entry.name in allowed and entry.is_file() and not entry.is_symlink()
                                 for entry in directory.iterdir())


def require_replaceable(final: Path, owned: Callable[[Path], bool], overwrite: bool = True) -> None:
    """Refuse an output path that is a symlink or a file, or a non-empty directory this tool did not write.

    Called before heavy work (so a long run does not fail at its end) and again when the output is placed.
    """
    final = Path(final)
    if final.is_symlink():
        raise UserError(f"output path {final} is a symbolic link; choose a real directory")
    if final.exists() and not final.is_dir():
        raise UserError(f"output path {final} exists and is not a directory")
    if not final.exists() or not any(final.iterdir()):
        return
    if not overwrite:
        raise UserError(f"output directory {final} already exists; choose another --out")
    if not owned(final):
        foreign = sorted(entry.name for entry in final.iterdir())[:3]
        raise UserError(f"output directory {final} holds files edgedistill did not write ({', '.join(foreign)}); "
                        "choose another --out, or move them away yourself")


@contextlib.contextmanager
def atomic_output_dir(final: Path, owned: Callable[[Path], bool], overwrite: bool = True) -> Iterator[Path]:
    """Yield a scratch directory that replaces `final` only if the block succeeds.

    A failure removes the scratch directory, so no half-written output is left behind. An existing
    non-empty `final` is replaced only when `owned(final)` says it is this tool's own output:
    nothing a user put there is ever deleted.
    """
    final = Path(os.path.abspath(final))  # "." has no name to place a sibling scratch directory by
    require_replaceable(final, owned, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    os.chmod(scratch, 0o777 & ~_umask())  # mkdtemp makes 0700; published models must be readable
    try:
        yield scratch
        require_replaceable(final, owned, overwrite)  # the block may have run for hours
        if final.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.replace(final, retired)
            os.replace(scratch, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(scratch, final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        make_readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text to `path` through a temporary file and a rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def make_readable(path: str | Path) -> None:
    """Give a file made by mkstemp (0600) the permissions a normal write would have."""
    os.chmod(path, 0o666 & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `lock_path` (created if missing) for the block's duration."""
    import fcntl  # POSIX only: imported here so modules that merely import fsutil still load on Windows

    try:  # O_NOFOLLOW: a symlinked lock file must not create or touch a file elsewhere
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except OSError as exc:
        raise UserError(f"cannot open the lock file {lock_path} ({exc.strerror}); it must be a plain file") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
