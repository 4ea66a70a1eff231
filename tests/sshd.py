"""A real OpenSSH server on 127.0.0.1 for the `bench --ssh` tests: Debian's sshd, run in the foreground with a
throwaway host key, one authorized client key and a config of its own (`make test` installs openssh-server)."""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")


@dataclass(frozen=True)
class Sshd:
    port: int
    user: str
    identity: Path  # the client's private key
    known_hosts: Path  # holds the server's host key, so ssh verifies it as it would a board's

    @property
    def destination(self) -> str:
        return f"{self.user}@127.0.0.1"

    def bench_args(self, known_hosts: Path | None = None) -> list[str]:
        """`bench` flags that reach this server; ssh checks its host key against `known_hosts` (default: the
        file that holds it)."""
        return ["--ssh", self.destination, "--port", str(self.port), "--identity", str(self.identity),
                "--ssh-option", f"UserKnownHostsFile={known_hosts or self.known_hosts}"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgedistill-test", "-f", str(path)], check=True)


@contextlib.contextmanager
def loopback_sshd(root: Path) -> Iterator[Sshd]:
    """Start sshd on a free loopback port; stop it (and only it) on exit."""
    if not SSHD.is_file():
        raise RuntimeError(f"{SSHD} not found: run `make sshd` (or `make test`), which installs openssh-server")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # root's sshd needs its privilege-separation directory
    root.mkdir(parents=True, exist_ok=True)
    _keygen(root / "host_key")
    _keygen(root / "client_key")
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = _free_port()
    (root / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\nAuthorizedKeysFile {root / 'authorized_keys'}\n"
        f"PidFile none\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        f"UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nAllowUsers {getpass.getuser()}\n"
        f"LogLevel ERROR\n")
    host_key = (root / "host_key.pub").read_text().split()
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    with open(root / "sshd.log", "wb") as log:
        server = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(root / "sshd_config"), "-p", str(port)],
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for(port, server, root / "sshd.log")
            yield Sshd(port, getpass.getuser(), root / "client_key", root / "known_hosts")
        finally:
            server.terminate()
            server.wait(timeout=10)


def _wait_for(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"sshd exited with {server.returncode}: {log.read_text()[-500:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on port {port} within 15 s")
