"""Third-party output off the screen: the warnings and log records of the libraries a build drives go to a log file.

torch's ONNX exporter, ONNX Runtime's quantizer, ExecuTorch and transformers warn about things a user cannot act
on, the same lines for every candidate: 103 of the 261 lines `make demo` printed. While `to_log` is open, Python
warnings and every library's log records go to its file instead; a record at ERROR or above still reaches the
screen, and `verbose` shows them all there as well.

Libraries print through console handlers of their own (torch on each logger it registers, transformers and
huggingface_hub on theirs), installed when they are first imported, which may be mid-build. So a logger is taken
over when it first logs: its console handlers are set aside and its records go up to the root logger, where the
file is. Everything is put back when the block ends.

Native code writes to file descriptor 2 itself; `native_stderr` turns what one call wrote there into log records.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOG_FILE = "warnings.log"
_log_open = False  # a build inside a run (its export stages) writes to the run's log


@contextlib.contextmanager
def to_log(path: Path, verbose: bool = False) -> Iterator[None]:
    """Send third-party warnings and log records to `path` (created with the first of them) while the block runs."""
    global _log_open
    if _log_open:
        yield
        return
    Path(path).unlink(missing_ok=True)  # the log of an earlier build in this folder would read as this one's
    handlers = [_LogFile(Path(path)), _screen(verbose)]
    root, takeover, previous_factory = logging.getLogger(), _Takeover(), logging.getLogRecordFactory()

    def record_factory(name: str, *args, **kwargs) -> logging.LogRecord:
        takeover.adopt(logging.getLogger(name))  # before the record is handled, so it goes up to the root
        return previous_factory(name, *args, **kwargs)

    takeover.set_aside(root)
    for handler in handlers:
        root.addHandler(handler)
    logging.setLogRecordFactory(record_factory)
    logging.captureWarnings(True)
    _log_open = True
    try:
        yield
    finally:
        _log_open = False
        logging.captureWarnings(False)
        logging.setLogRecordFactory(previous_factory)
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        takeover.restore()


@contextlib.contextmanager
def native_stderr(logger: str) -> Iterator[None]:
    """Around one call into native code that writes to file descriptor 2: the lines it wrote become WARNING records
    of `logger`, so a build's log holds them, and without one they still reach the screen. Keep the call narrow:
    anything else written to fd 2 meanwhile is caught too."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", errors="replace").splitlines():
                logging.getLogger(logger).warning(line)


class _LogFile(logging.FileHandler):
    """The log, created with its folder by the first record: a build refused before any warning leaves no folder."""

    def __init__(self, path: Path):
        super().__init__(path, mode="w", encoding="utf-8", delay=True)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def _screen(verbose: bool) -> logging.Handler:
    """What still reaches the screen: records at ERROR or above, or all of them with `verbose`."""
    screen = logging.StreamHandler(sys.stderr)
    screen.setLevel(logging.NOTSET if verbose else logging.ERROR)
    screen.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    return screen


def _console(handler: logging.Handler) -> bool:
    """A library's own console handler: a plain StreamHandler (files and test-capture handlers are subclasses)."""
    return type(handler) is logging.StreamHandler


class _Takeover:
    """Loggers whose console handlers are set aside while a log is open, and what to put back."""

    def __init__(self) -> None:
        self._handlers: dict[logging.Logger, list[logging.Handler]] = {}
        self._propagate: dict[logging.Logger, bool] = {}

    def set_aside(self, logger: logging.Logger) -> bool:
        """Remove `logger`'s console handlers, to be put back later; whether it had any."""
        consoles = [handler for handler in logger.handlers if _console(handler)]
        for handler in consoles:
            logger.removeHandler(handler)
            self._handlers.setdefault(logger, []).append(handler)
        return bool(consoles)

    def adopt(self, logger: logging.Logger) -> None:
        """Let `logger`'s records reach the root: each logger on the way that printed them itself stops doing so."""
        while logger.parent is not None:
            if self.set_aside(logger) and not logger.propagate:
                self._propagate.setdefault(logger, False)
                logger.propagate = True
            if not logger.propagate:
                return  # stopped here before, without printing: nothing of it reached the screen
            logger = logger.parent

    def restore(self) -> None:
        for logger, handlers in self._handlers.items():
            for handler in handlers:
                logger.addHandler(handler)
        for logger, propagate in self._propagate.items():
            logger.propagate = propagate
