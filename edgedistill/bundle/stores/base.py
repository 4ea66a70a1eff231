"""What the registry asks of a store: the index's bytes, published files one at a time, and, to publish, a staged
version placed all at once and an index update that never loses a concurrent publisher's entry.

The registry owns the meaning (index format, versions, verification); a store moves bytes and decides how
writers are kept apart: a lock for a directory, conditional writes for an object store.
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path

from edgedistill.errors import UserError
from edgedistill.fsutil import NAME

INDEX_FILE = "index.json"
# The longest an http(s):// registry waits for a connection, and for each read of an answer (--http-timeout).
HTTP_TIMEOUT_S = 30.0

# Takes the index's current bytes (None while there is none) and returns its new bytes, or None to leave it as is.
IndexChange = Callable[[bytes | None], bytes | None]


class VersionTaken(Exception):
    """Another publisher holds this version's folder (published, still uploading, or interrupted): take another."""


class Store(ABC):
    """A registry's bytes: `index.json` and `<name>/<version>/<file>` below one root."""

    def __init__(self, label: str):
        self.label = label  # the registry as the user named it, for messages

    @abstractmethod
    def read_index(self) -> bytes | None:
        """The index's bytes, or None when nothing was published yet."""

    @abstractmethod
    def fetch(self, name: str, version: str, file_name: str, target: Path, size: int | None,
              required: bool = True) -> str | None:
        """Copy one published file to `target`, unless it is missing, not a plain file, or not `size` bytes.

        Returns what is wrong in a few words (as `listed_file_problem` does), or None. A missing file that is
        not `required` is no problem: nothing is copied.
        """

    @property
    def folder(self) -> Path | None:
        """The local folder the registry is, which no output may overlap; None for an object store."""
        return None

    @abstractmethod
    def location(self, name: str, version: str) -> str | Path:
        """Where a version lives, for messages: a directory, or a URL."""

    def publishing(self) -> contextlib.AbstractContextManager[None]:
        """Held around a whole publish: a directory's lock; object stores need none."""
        return contextlib.nullcontext()

    @abstractmethod
    def stage(self, name: str, version: str) -> contextlib.AbstractContextManager[Path]:
        """Yield a local folder to fill; when the block succeeds, place it as `<name>/<version>/` all at once.

        Raises VersionTaken when another publisher already holds that version's folder.
        """

    @abstractmethod
    def update_index(self, change: IndexChange) -> None:
        """Apply `change` to the index such that no concurrent publisher's change is lost."""


def check_timeout(seconds: float) -> float:
    if not (math.isfinite(seconds) and seconds > 0):
        raise UserError(f"--http-timeout must be a number of seconds above 0 (got {seconds:g})")
    return seconds


def check_segment(segment: str, what: str, label: str) -> str:
    """`segment` as one key component below the root, or a one-line refusal: no key may lead outside the root."""
    if not isinstance(segment, str) or not NAME.fullmatch(segment):
        raise UserError(f"registry {label}: refusing the {what} {segment!r}; keys below a registry are plain "
                        "names (letters, digits, '.', '_', '-')")
    return segment


@contextlib.contextmanager
def one_line_errors(label: str, doing: str, errors: tuple[type[BaseException], ...]) -> Iterator[None]:
    """Turn a transport's failure (a refused connection, bad credentials, a missing bucket) into one line."""
    try:
        yield
    except errors as exc:
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise UserError(f"registry {label}: {doing} failed ({detail})") from None
