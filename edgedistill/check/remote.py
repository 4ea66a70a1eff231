"""`bench --ssh USER@HOST`: run the torch-free bench on a board from the build machine, over OpenSSH.

One `ssh` session does it all. Its stdin carries a tar of the bundle (the manifest and the files it lists) and
of edgedistill itself as a zip, so the board needs no edgedistill install, only Python 3.11+, numpy, tokenizers,
jsonschema, pyyaml and the bundle's runtime. A standard-library bootstrap on the board makes a scratch directory
with mkdtemp, unpacks there, runs `check/on_board.py` from the zip and removes that directory, and only that
one, whatever happens. The result comes back on stdout and is checked against its schema here.

The system OpenSSH client is used, not a Python SSH library: it reads the user's ~/.ssh/config, agent, keys
and known_hosts the way `ssh` at a prompt does. BatchMode turns every prompt (a password, an unknown host
key) into an error, which is printed as one line with what to do.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import edgedistill
from edgedistill.bundle.manifest import MANIFEST_FILE
from edgedistill.bundle.reader import open_bundle
from edgedistill.bundle.schema import check_against_schema
from edgedistill.check.bench import BenchSettings
from edgedistill.check.device_results import RESULT_SCHEMA
from edgedistill.check.on_board import BOARD_MODULES, BOARD_PYTHON
from edgedistill.errors import UserError

_DESTINATION = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9._+-]*@)?(?:[A-Za-z0-9][A-Za-z0-9._-]*|[0-9A-Fa-f:.]+)$")
_OPTION = re.compile(r"^[A-Za-z][A-Za-z0-9]*=[^\n\r\0]+$")
_CONNECT_TIMEOUT_S = 15
# The board's half, standard library only: it runs before edgedistill can be imported there. The scratch
# directory is made here, and nothing else is ever removed.
_BOOTSTRAP = f"""\
import os, shutil, sys, tarfile, tempfile
if sys.version_info < {BOARD_PYTHON!r}:
    print("error: edgedistill needs Python {'.'.join(map(str, BOARD_PYTHON))} or newer; %s is %s"
          % (sys.executable, sys.version.split()[0]), file=sys.stderr)
    sys.exit(2)
scratch = tempfile.mkdtemp(prefix="edgedistill-bench-")
try:
    with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as archive:
        archive.extractall(scratch, **({{"filter": "data"}} if hasattr(tarfile, "data_filter") else {{}}))
    sys.path.insert(0, os.path.join(scratch, "edgedistill.zip"))
    from edgedistill.check.on_board import main
    code = main(os.path.join(scratch, "bundle"), sys.argv[1])
finally:
    shutil.rmtree(scratch, ignore_errors=True)
sys.exit(code)
"""


@dataclass(frozen=True)
class SshTarget:
    """Where to run: `destination` is USER@HOST or a Host alias from ~/.ssh/config."""

    destination: str
    python: str = "python3"
    port: int | None = None
    identity: Path | None = None
    options: tuple[str, ...] = ()  # extra `-o KEY=VALUE` options, e.g. UserKnownHostsFile=...

    def validate(self) -> None:
        if not _DESTINATION.fullmatch(self.destination):
            raise UserError(f"--ssh takes USER@HOST or HOST (got {self.destination!r})")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise UserError(f"--port must be from 1 to 65535 (got {self.port})")
        if self.identity is not None and not Path(self.identity).is_file():
            raise UserError(f"--identity {self.identity} not found; give the private key file ssh should use")
        if not self.python.strip() or not self.python.isprintable():
            raise UserError(f"--remote-python must be a python command or path on the board (got {self.python!r})")
        for option in self.options:
            if not _OPTION.fullmatch(option):
                raise UserError(f"--ssh-option takes KEY=VALUE, as ssh -o does (got {option!r})")

    def command(self, remote_command: str) -> list[str]:
        """The ssh command line; `--` keeps a destination from ever being read as an option."""
        options = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={_CONNECT_TIMEOUT_S}", "-o", "ServerAliveInterval=15",
                   "-o", "ServerAliveCountMax=4", "-o", "LogLevel=ERROR"]
        if self.port is not None:
            options += ["-p", str(self.port)]
        if self.identity is not None:
            options += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"]
        for option in self.options:
            options += ["-o", option]
        return ["ssh", *options, "--", self.destination, remote_command]

    def remote_python(self) -> str:
        """The python command for the board's POSIX shell; a leading ~/ still means the login's home there."""
        if self.python.startswith("~/"):
            return '"$HOME"/' + shlex.quote(self.python[2:])
        return shlex.quote(self.python)


def bench_over_ssh(bundle: Path, settings: BenchSettings, remote: SshTarget) -> dict[str, Any]:
    """Send the bundle and edgedistill to the board, bench there, and return the board's result document."""
    settings.validate()
    remote.validate()
    if shutil.which("ssh") is None:
        raise UserError("bench --ssh needs the OpenSSH client (ssh); install it, e.g. apt-get install openssh-client")
    opened = open_bundle(bundle)  # verified here, and again on the board after the copy
    files = [MANIFEST_FILE, *sorted(opened.manifest.files)]
    command = remote.command(f"exec {remote.remote_python()} -c {shlex.quote(_BOOTSTRAP)} "
                             f"{shlex.quote(json.dumps(dataclasses.asdict(settings)))}")
    with tempfile.TemporaryFile() as archive:
        _write_archive(archive, opened.path, files)
        archive.seek(0)
        completed = subprocess.run(command, stdin=archive, capture_output=True, check=False)
    stderr = completed.stderr.decode("utf-8", "replace")
    if completed.returncode != 0:
        raise UserError(_failure(remote, completed.returncode, stderr))
    try:
        result = json.loads(completed.stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise UserError(f"the bench on {remote.destination} printed no result; its last words: "
                        f"{_last_line(stderr) or '(none)'}") from None
    check_against_schema(result, f"the result from {remote.destination}", RESULT_SCHEMA, "the bench result schema")
    return result


def _write_archive(archive: Any, bundle: Path, files: list[str]) -> None:
    """A tar of `bundle/<file>` for the listed files and of `edgedistill.zip`, written to a file object."""
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name in files:
            tar.add(bundle / name, arcname=f"bundle/{name}", recursive=False)
        package = package_zip()
        info = tarfile.TarInfo("edgedistill.zip")
        info.size = len(package)
        tar.addfile(info, io.BytesIO(package))


def package_zip() -> bytes:
    """edgedistill's own modules and schemas as a zip importable from sys.path (about 200 KB)."""
    root = Path(edgedistill.__file__).resolve().parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".json", ".typed") and "__pycache__" not in path.parts:
                package.write(path, Path("edgedistill") / path.relative_to(root))
    return buffer.getvalue()


def _failure(remote: SshTarget, code: int, stderr: str) -> str:
    """One line for a failed session: ssh's own failure (exit 255), a missing python (127), or the board's error."""
    where, last = remote.destination, _last_line(stderr)
    if code == 255:
        if "Permission denied" in stderr:
            return (f"ssh could not log in to {where} ({last}); check the user, --identity KEY, and the board's "
                    "~/.ssh/authorized_keys")
        if "Host key verification failed" in stderr or "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
            return (f"the host key of {where} is not in known_hosts, or has changed; connect once with "
                    f"`ssh{'' if remote.port is None else f' -p {remote.port}'} {where}` to check and accept it")
        return f"cannot reach {where} over ssh: {last or 'ssh exited with 255'}"
    if code == 127:
        return (f"no python at {remote.python!r} on {where}; pass --remote-python PATH (a Python "
                f"{'.'.join(map(str, BOARD_PYTHON))}+ with {', '.join(BOARD_MODULES.values())} and the bundle's runtime)")
    errors = [line[len("error: "):] for line in stderr.splitlines() if line.startswith("error: ")]
    if errors:
        return f"on {where}: {errors[-1]}"
    return f"the bench failed on {where} (exit {code}): {last or 'no message'}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
