"""Run one case through the real CLI entry point and judge it: one error line, nothing touched, no hang.

Cases run in this process through `edgedistill.cli.main`, as the other CLI tests do, so a few hundred of
them fit in a CI minute; file descriptors 1 and 2 are captured, so anything a library prints counts too.
An exception that escapes `main` is what `python -m edgedistill` would print as a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unittest.mock
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import typer.main

from tests.reliability.cases import Case
from tests.reliability.world import copy_world

CASE_TIMEOUT_S = 60.0
SLOW_CASE_TIMEOUT_S = 600.0  # a case that trains and converts for real (Case.slow)
_TYPER_GET_COMMAND = typer.main.get_command
OUTSIDE = "outside"  # a sibling of the workspace holding files that symlink cases point at
# `import onnxruntime` writes a session id to $TMPDIR/.ses (its native library does, in every process).
ONNXRUNTIME_SESSION_FILE = ".ses"
# What a terminal would obey rather than show: every control character but newline and tab, and on stderr but the
# carriage returns of progress bars.
RAW_CONTROLS = {"stdout": re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]"),
                "stderr": re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")}


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException, so no `except Exception` in the code under test swallows it."""


@dataclass
class Outcome:
    case: Case
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems

    @property
    def failed(self) -> bool:
        """Whether the case is judged as an error: expected one, or allowed one and got it."""
        return self.case.expect == "error" or (self.case.expect == "either" and self.exit_code != 0)

    @property
    def progress_lines(self) -> int:
        """Lines the command printed before its error (the work it had started)."""
        return max(0, len(self.stderr.strip().splitlines()) - 1) if self.failed else 0

    def describe(self) -> str:
        return f"{self.case.name}: {'; '.join(self.problems)} | stderr: {self.stderr.strip()[-600:]!r}"


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under `root` (links not followed): kind, size and content hash, or a link's target."""
    entries = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            relative = str(path.relative_to(root))
            if path.is_symlink():
                entries[relative] = ("link", os.readlink(path))
            elif path.is_dir():
                entries[relative] = ("dir",)
            elif path.is_file():
                entries[relative] = ("file", path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                entries[relative] = ("other",)
    return entries


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(name for name in set(before) & set(after) if before[name] != after[name])
    return [f"+{name}" for name in added] + [f"-{name}" for name in removed] + [f"~{name}" for name in changed]


def run_case(case: Case, pristine: Path, case_dir: Path, timeout_s: float = CASE_TIMEOUT_S, keep: bool = True,
             in_process: bool = True) -> Outcome:
    """Copy the world, damage it, run the command, and list every way the result falls short.

    `in_process=False` runs `python -m edgedistill` instead, to show the installed entry point prints what `main`
    returns. The case's folder is removed afterwards when the case was clean or `keep` is False (a few hundred
    copies of the world would otherwise fill the temporary folder).
    """
    workspace = copy_world(pristine, case_dir / "ws", case.command)
    (case_dir / OUTSIDE).mkdir()
    (case_dir / OUTSIDE / "secret.txt").write_text("not edgedistill's to touch\n")
    (case_dir / "tmp").mkdir()
    case.damage(workspace)
    before = snapshot(case_dir)

    def expand(text: str) -> str:
        return text.replace("{ws}", str(workspace)).replace("{case}", str(case_dir))

    argv = [expand(part) for part in case.argv]
    env = tuple((name, expand(value)) for name, value in case.env)
    run = _run_in_process if in_process else _run_as_program
    timeout_s = max(timeout_s, SLOW_CASE_TIMEOUT_S) if case.slow else timeout_s
    started = time.perf_counter()
    code, stdout, stderr, escaped = run(argv, workspace / case.cwd, env, case_dir / "tmp", timeout_s, case.stdout)
    outcome = Outcome(case, code, stdout, stderr, time.perf_counter() - started)
    if escaped:
        outcome.problems.append(escaped)
    for stream, raw in RAW_CONTROLS.items():
        found = raw.search(getattr(outcome, stream))
        if found:
            outcome.problems.append(f"a raw control character {found.group()!r} on {stream}")
    touched = [name for name in changes(before, snapshot(case_dir)) if name != f"+tmp/{ONNXRUNTIME_SESSION_FILE}"]
    if outcome.failed:
        _judge_error(outcome, touched)
    else:
        _judge_success(outcome, touched, workspace)
    if outcome.clean or not keep:
        shutil.rmtree(case_dir, ignore_errors=True)
    return outcome


def _run_in_process(argv: list[str], cwd: Path, env: tuple[tuple[str, str], ...], scratch: Path,
                    timeout_s: float, stdout: str | None) -> tuple[int | None, str, str, str | None]:
    code, escaped = None, None
    with _inside(cwd, env, scratch), _captured(stdout) as streams, _deadline(timeout_s):
        try:
            code = _main(argv)
        except CaseTimeout:
            escaped = f"no result after {timeout_s:.0f} s"
        except BaseException as exc:  # noqa: BLE001 - anything here would reach the user as a traceback
            escaped = "traceback: " + "".join(traceback.format_exception_only(type(exc), exc)).strip()[:300]
    return code, streams["stdout"], streams["stderr"], escaped


def _run_as_program(argv: list[str], cwd: Path, env: tuple[tuple[str, str], ...], scratch: Path,
                    timeout_s: float, stdout: str | None) -> tuple[int | None, str, str, str | None]:
    environment = {**os.environ, **dict(env), "TMPDIR": str(scratch)}
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(stdout, "wb")) if stdout is not None else subprocess.PIPE
        try:
            result = subprocess.run([sys.executable, "-m", "edgedistill", *argv], cwd=cwd, env=environment, stdout=out,
                                    stderr=subprocess.PIPE, text=True, errors="replace", timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            return None, "", str(exc.stderr or ""), f"no result after {timeout_s:.0f} s"
    return result.returncode, result.stdout or "", result.stderr, None


def _judge_error(outcome: Outcome, touched: list[str]) -> None:
    """Stderr must end in exactly one `error:` line; lines before it are the command's progress so far. Only a
    case whose error comes after the command's work (its output failed to print) may have written `allowed`."""
    touched = [name for name in touched if not _allowed(name, outcome.case)]
    lines = outcome.stderr.strip().splitlines()
    if outcome.exit_code == 0:
        outcome.problems.append("accepted (exit 0)")
    if "Traceback" in outcome.stderr:
        outcome.problems.append("traceback on stderr")
    if not lines or not lines[-1].startswith("error: "):
        outcome.problems.append("stderr does not end in an 'error:' line")
    elif outcome.case.says is not None and outcome.case.says not in lines[-1]:
        outcome.problems.append(f"the error does not say {outcome.case.says!r}")
    elif any(line.startswith("error") for line in lines[:-1]):
        outcome.problems.append("more than one error line")
    if outcome.stdout.strip():
        outcome.problems.append("printed a result on stdout")
    if touched:
        outcome.problems.append(f"touched files: {', '.join(touched[:6])}")


def _judge_success(outcome: Outcome, touched: list[str], workspace: Path) -> None:
    case = outcome.case
    if outcome.exit_code != 0:
        outcome.problems.append(f"exit {outcome.exit_code}")
    if "Traceback" in outcome.stderr:
        outcome.problems.append("traceback on stderr")
    stray = [name for name in touched if not _allowed(name, case)]
    if stray:
        outcome.problems.append(f"touched files: {', '.join(stray[:6])}")
    if case.verify is not None and not outcome.problems:
        failure = case.verify(workspace, outcome.stdout)
        if failure:
            outcome.problems.append(failure)


def _allowed(change: str, case: Case) -> bool:
    return any(change[1:].startswith(f"ws/{allowed}") for allowed in case.allowed)


def _main(argv: list[str]) -> int:
    from edgedistill.cli import main

    with unittest.mock.patch.object(typer.main, "get_command", _get_command_once):
        return main(argv)


@functools.cache
def _get_command_once(app):
    """typer rebuilds its click command from the functions' annotations on every call (60 ms); cases share one."""
    return _TYPER_GET_COMMAND(app)


@contextlib.contextmanager
def _inside(cwd: Path, env: tuple[tuple[str, str], ...], scratch: Path) -> Iterator[None]:
    """Run in `cwd` with `env` set and the system temp folder inside the case (so its debris is seen)."""
    previous_cwd, previous_tmp = os.getcwd(), tempfile.tempdir
    saved = {name: os.environ.get(name) for name, _ in env}
    os.chdir(cwd)
    os.environ.update(dict(env))
    tempfile.tempdir = str(scratch)
    try:
        yield
    finally:
        tempfile.tempdir = previous_tmp
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.chdir(previous_cwd)


@contextlib.contextmanager
def _captured(stdout: str | None = None) -> Iterator[dict[str, str]]:
    """Capture file descriptors 1 and 2 (and sys.stdout/err on top of them) into temporary files; with `stdout`
    (/dev/full, say), file descriptor 1 writes there instead, and nothing is captured of it."""
    streams: dict[str, str] = {}
    saved_objects = sys.stdout, sys.stderr
    sys.stdout.flush()
    sys.stderr.flush()
    files = {name: tempfile.TemporaryFile(mode="w+b") for name in ("stdout", "stderr")}
    if stdout is not None:
        files["stdout"].close()
        files["stdout"] = open(stdout, "w+b")
    saved_fds = {1: os.dup(1), 2: os.dup(2)}
    os.dup2(files["stdout"].fileno(), 1)
    os.dup2(files["stderr"].fileno(), 2)
    # closefd=False: objects a library keeps past the case keep writing to whatever fd 1/2 are then.
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    try:
        yield streams
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved_objects
        for fd, saved in saved_fds.items():
            os.dup2(saved, fd)
            os.close(saved)
        for name, handle in files.items():
            streams[name] = "" if stdout is not None and name == "stdout" else _read_back(handle)
            handle.close()


def _read_back(handle) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace")


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def expire(signum, frame):
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def warm_imports() -> None:
    """Import what the commands import, so that import-time chatter is not counted against the first case."""
    import edgedistill.check.bench  # noqa: F401
    import edgedistill.check.checker  # noqa: F401
    import edgedistill.cli  # noqa: F401
    import edgedistill.distill.teach  # noqa: F401
    import edgedistill.distill.trainer  # noqa: F401
    import edgedistill.export.pipeline  # noqa: F401
    import edgedistill.targets.onnxruntime.runtime  # noqa: F401
    import onnxruntime  # noqa: F401
    import transformers  # noqa: F401
