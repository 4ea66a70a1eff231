"""Real HTTP servers on loopback for the registry cases, started once per process in daemon threads.

`files` and `elsewhere` (another port: another origin) serve a file by its absolute path below the system
temporary folder, where every case's workspace lies, under a prefix that says how:

    /files/PATH         the file (404 where there is none)
    /same/PATH          a 302 to /files/PATH on the same server
    /away/PATH          a 302 to /files/PATH on `elsewhere`
    /away-files/PATH    index.json served, any other file a 302 to `elsewhere`
    /stall/PATH         the status and headers, then no byte of the body
    /stall-files/PATH   index.json served, any other file stalls

`silent` accepts every connection and never answers.
"""

from __future__ import annotations

import functools
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

STALL_S = 30.0  # longer than any timeout a case sets; the thread then lets the connection go


@dataclass(frozen=True)
class Servers:
    files: int
    elsewhere: int
    silent: int

    def url(self, port: int, how: str, path: str) -> str:
        return f"http://127.0.0.1:{port}/{how}{path}"


@functools.cache
def servers() -> Servers:
    root = Path(os.path.realpath(tempfile.gettempdir()))
    elsewhere = _serve(root, None)
    files = _serve(root, elsewhere)
    return Servers(files, elsewhere, _silent())


def _serve(root: Path, elsewhere: int | None) -> int:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            how, _, rest = self.path.lstrip("/").partition("/")
            path = Path(os.path.realpath("/" + rest))
            if how == "same":
                return self._redirect(f"/files/{rest}")
            if how == "away" or (how == "away-files" and path.name != "index.json"):
                return self._redirect(f"http://127.0.0.1:{elsewhere}/files/{rest}")
            if not path.is_relative_to(root) or not path.is_file():
                return self.send_error(404)
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if how == "stall" or (how == "stall-files" and path.name != "index.json"):
                time.sleep(STALL_S)
                return
            self.wfile.write(data)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            """Quiet: a case judges its command's output, and this would be on the same stderr."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def _silent() -> int:
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            held.append(listener.accept()[0])  # kept open, never read from or written to

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]
