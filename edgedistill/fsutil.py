"""Atomic, durable file and directory writes, the rules for the paths they write, and content hashes.

Every write goes to a scratch name beside its destination (`.<name>.partial-XXXXXXXX`, 8 random hex digits), is
fsynced, and is renamed into place; a replaced directory is first renamed aside (`.<name>.old-XXXXXXXX`). A writer
that shares its folder with later writers (the registry) lists each scratch name in a `ScratchRecord` before making
it, so the next one removes what a killed writer left and nothing else.

Paths follow two rules. A path the user typed is followed wherever its links lead (`named_path`: `runs/` or
`/mnt/models` may well be links). Below it, in a folder this tool manages, no link is ever followed, and every
name that becomes a path segment (a profile, recipe, run, bundle or key name, a version) is one `NAME`: both are
checked by `inside` before anything is written.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from edgedistill.errors import UserError

_PARTIAL, _RETIRED = ".partial-", ".old-"
# One path segment, matched in full: no "/", no "." or "..", nothing hidden, no space, newline or NUL, and short
# enough to stay under every filesystem's 255-byte limit once a scratch prefix and suffix are added.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def check_name(value: object, what: str) -> str:
    """`value` where it is a `NAME`; else one line naming `what` ("profile name", "version", ...)."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise UserError(f"{what} {value!r} cannot name a file or folder; use up to 200 letters, digits, '.', '_' "
                        "and '-', starting with a letter or digit")
    return value


def named_path(path: str | os.PathLike) -> Path:
    """The path the user typed, with every symbolic link in it followed (the last part included)."""
    return Path(os.path.realpath(path))


def inside(root: Path, *parts: str) -> Path:
    """`root/parts...`, a path this tool manages below `root`: refused where any of its parts below `root` is a
    symbolic link, or where it does not resolve to a path below `root` (`root` itself may be a link)."""
    path = Path(root)
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise _managed_link(path)
    real_root, real = named_path(root), named_path(path)
    if real == real_root or not real.is_relative_to(real_root):
        raise UserError(f"{path} does not lie inside {root}; refusing to write there")
    return path


def refuse_links_below(root: Path) -> None:
    """Refuse a folder this tool manages whole (a run folder) when anything below it is a symbolic link."""
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            if os.path.islink(os.path.join(folder, name)):
                raise _managed_link(Path(folder, name))


def _managed_link(path: Path) -> UserError:
    return UserError(f"{path} is a symbolic link; edgedistill never follows a link inside a folder it manages: "
                     "move it away")


def require_apart(out: Path, inputs: Iterable[tuple[str, object]], flag: str = "--out") -> None:
    """Refuse an output that is, lies inside or holds one of `inputs` ((what, path) pairs, None or a name such as
    builtin:mr-polarity where there is no path): writing it could replace or delete what the command reads."""
    target = named_path(out)
    for what, source in inputs:
        if source is None or not os.path.lexists(str(source)):
            continue
        real = named_path(str(source))
        relation = ("is" if real == target else "lies inside" if target.is_relative_to(real)
                    else "holds" if real.is_relative_to(target) else None)
        if relation is not None:
            raise UserError(f"{flag} {out} {relation} the {what} {source}; give {flag} a path apart from every input")


def user_cache_root() -> Path:
    """edgedistill's cache: $EDGEDISTILL_CACHE, else `$XDG_CACHE_HOME/edgedistill` (default `~/.cache/edgedistill`)."""
    root = os.environ.get("EDGEDISTILL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "edgedistill")
    return Path(root)


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

    Called before heavy work (so a long run does not fail at its end) and again when the output is placed. A
    path the user named is given as `named_path` made it, so only a link below it is refused.
    """
    final = Path(final)
    if final.is_symlink():
        raise UserError(f"output path {final} is a symbolic link inside a folder edgedistill writes to; move it away")
    require_directory_path(final)
    if not final.exists() or not any(final.iterdir()):
        return
    if not overwrite:
        raise UserError(f"output directory {final} already exists; choose another --out")
    if not owned(final):
        foreign = sorted(entry.name for entry in final.iterdir())[:3]
        raise UserError(f"output directory {final} holds files edgedistill did not write ({', '.join(foreign)}); "
                        "choose another --out, or move them away yourself")


def require_directory_path(path: Path) -> None:
    """Refuse an output path where no directory can be: it, or the nearest of its parents that exists, is a file."""
    existing = next((p for p in (Path(path), *Path(os.path.abspath(path)).parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        detail = "is a file" if existing == Path(path) else f"lies under {existing}, which is a file"
        raise UserError(f"output path {path} {detail}; choose another --out")


@contextlib.contextmanager
def atomic_output_dir(final: Path, owned: Callable[[Path], bool], overwrite: bool = True,
                      record: ScratchRecord | None = None) -> Iterator[Path]:
    """Yield a scratch directory that replaces `final` only if the block succeeds.

    A failure removes the scratch directory, so no half-written output is left behind. An existing
    non-empty `final` is replaced only when `owned(final)` says it is this tool's own output:
    nothing a user put there is ever deleted. `record` lists the scratch names while they may exist.
    """
    final = Path(os.path.abspath(final))  # "." has no name to place a sibling scratch directory by
    require_replaceable(final, owned, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    with _scratch_name(final, _PARTIAL, record) as scratch:
        os.mkdir(scratch, 0o777)  # as any folder is made (the umask applies): published models must be readable
        try:
            yield scratch
            require_replaceable(final, owned, overwrite)  # the block may have run for hours
            fsync_tree(scratch)
            _swap_in(scratch, final, record)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _swap_in(scratch: Path, final: Path, record: ScratchRecord | None) -> None:
    """Rename `scratch` to `final`; an old `final` is renamed aside first, and put back if the second rename fails."""
    if not final.exists():
        os.replace(scratch, final)
        fsync_path(final.parent)
        return
    with _scratch_name(final, _RETIRED, record) as retired:
        os.rename(final, retired)
        try:
            os.replace(scratch, final)
        except BaseException:
            os.replace(retired, final)
            raise
        fsync_path(final.parent)
        shutil.rmtree(retired, ignore_errors=True)


def atomic_write_bytes(path: Path, data: bytes, record: ScratchRecord | None = None) -> None:
    """Write `data` to `path` through a temporary file, an fsync and a rename; a link at `path` is refused."""
    path = Path(path)
    if path.is_symlink():
        raise UserError(f"{path} is a symbolic link inside a folder edgedistill writes to; move it away")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _scratch_name(path, _PARTIAL, record) as tmp:
        try:
            # O_EXCL: never through a link or onto a file already there; 0o666 less the umask, as any file is made.
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    fsync_path(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text to `path` through a temporary file and a rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode` (never overwriting a file, never through a link) and make it durable."""
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        raise UserError(f"{path} already exists; move it away or choose another name") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink()
        raise
    fsync_path(path.parent)


def fsync_path(path: Path) -> None:
    """Flush a file or a directory to disk: a rename survives a power loss only once its folder is flushed.

    Links are followed: flushing writes nothing, and the folder a rename happened in may be reached through a
    link the user named (`--out link/model` renames inside link's target, which is what must reach the disk).
    """
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # some network filesystems cannot fsync a folder
            raise
    finally:
        os.close(descriptor)


def fsync_tree(root: Path) -> None:
    """fsync every plain file and folder under `root`, files before their folder, without following links."""
    for folder, _, names in os.walk(root, topdown=False):
        for name in names:
            if stat.S_ISREG(os.lstat(os.path.join(folder, name)).st_mode):
                fsync_path(Path(folder, name))
        fsync_path(Path(folder))


class ScratchRecord:
    """The scratch files and folders writers made below one folder, listed in a file there (one JSON string a line,
    relative to the folder) from just after each is made until it is gone.

    Use it only while holding a lock that every writer to the folder holds: then a name still listed is what a
    killed writer left, and `sweep` removes exactly those. A writer killed between making a name and listing it
    leaves debris behind, never a deletion of anything else.
    """

    def __init__(self, path: Path):
        self.path = Path(os.path.abspath(path))
        self.root = self.path.parent

    def add(self, scratch: Path) -> None:
        self._write([*self._entries(), self._name(scratch)])

    def drop(self, scratch: Path) -> None:
        name = self._name(scratch)
        self._write([entry for entry in self._entries() if entry != name])

    def _name(self, scratch: Path) -> str:
        return str(Path(os.path.abspath(scratch)).relative_to(self.root))

    def sweep(self) -> None:
        """Remove every listed name that is still there (links never followed), then the record itself."""
        for entry in self._entries():
            try:
                path = inside(self.root, *Path(entry).parts)
            except UserError:
                continue  # a name that would lead out of the folder or through a link was never this tool's
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        self._write([])

    def _entries(self) -> list[str]:
        if not os.path.lexists(self.path):
            return []
        if self.path.is_symlink() or not self.path.is_file():
            raise UserError(f"{self.path} is not a plain file; it is edgedistill's list of scratch names, move it away")
        entries = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entries.append(json.loads(line))
        return [entry for entry in entries if isinstance(entry, str) and entry]

    def _write(self, entries: list[str]) -> None:
        if entries:
            atomic_write_bytes(self.path, "".join(json.dumps(entry) + "\n" for entry in entries).encode("utf-8"))
        else:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


@contextlib.contextmanager
def _scratch_name(final: Path, kind: str, record: ScratchRecord | None) -> Iterator[Path]:
    """A fresh, unique name beside `final` (`.NAME.partial-XXXXXXXX`) for the block to make and remove, listed in
    `record` (if any) before it can exist and until the block ends, so a kill at any point leaves it listed."""
    scratch = final.parent / f".{final.name}{kind}{secrets.token_hex(4)}"
    if record is None:
        yield scratch
        return
    record.add(scratch)
    try:
        yield scratch
    finally:
        record.drop(scratch)


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
