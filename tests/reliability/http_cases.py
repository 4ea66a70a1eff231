"""Issue 23.6 and 23.7's classes, generated against real loopback servers (loopback.py):

- a server that accepts and never answers, or answers the headers and then stalls, on the index or on a bundle
  file: one line that says it timed out after the --http-timeout (or EDGEDISTILL_HTTP_TIMEOUT) given, in about that
  long; and a timeout that is no number of seconds is refused;
- a redirect off the registry's origin (another port), on the index or on a bundle file: refused, nothing placed;
  one within the origin is followed;
- a directory registry whose index.json is a link: refused for reading as for writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.reliability.cases import BUNDLES, PULL, Case, _replace, link_outside
from tests.reliability.loopback import servers
from tests.reliability.world import REGISTRY

READERS = {"bundles": BUNDLES, "pull": PULL}
TIMED_OUT = "timed out after 1 s"


def _pulled(workspace: Path, stdout: str) -> str | None:
    return None if (workspace / "app-model" / "manifest.json").is_file() else "nothing pulled"


def http_cases() -> Iterator[Case]:
    ports = servers()
    registry = f"{{case}}/ws/{REGISTRY}"
    for command, argv in READERS.items():
        def at(port: int, how: str, flags: tuple[str, ...] = ("--http-timeout", "1"), a=argv) -> tuple[str, ...]:
            return (*_replace(a, "--registry", ports.url(port, how, registry)), *flags)

        silent = f"http://127.0.0.1:{ports.silent}/registry"
        yield Case(f"http/a server that never answers/{command}", "http",
                   (*_replace(argv, "--registry", silent), "--http-timeout", "1"), says=TIMED_OUT)
        yield Case(f"http/a server that never answers, EDGEDISTILL_HTTP_TIMEOUT=1/{command}", "http",
                   _replace(argv, "--registry", silent), env=(("EDGEDISTILL_HTTP_TIMEOUT", "1"),), says=TIMED_OUT)
        yield Case(f"http/the index's body never comes/{command}", "http", at(ports.files, "stall"), says=TIMED_OUT)
        yield Case(f"http/the index redirects to another port/{command}", "http", at(ports.files, "away"),
                   says="away from the registry's own scheme, host and port")
        yield Case(f"http/the index redirects within the registry's origin/{command}", "http", at(ports.files, "same"),
                   expect="ok", allowed=("app-model",), verify=_pulled if command == "pull" else None)
        for value in ("0", "-1", "nan", "inf"):
            yield Case(f"http/--http-timeout {value}/{command}", "http", at(ports.files, "files", ("--http-timeout", value)),
                       says="--http-timeout must be a number of seconds above 0")
        yield Case(f"http/index.json a link outside the directory registry/{command}", "http", argv,
                   link_outside(f"{REGISTRY}/index.json"), says="is a symbolic link")
    pull = lambda how: (*_replace(PULL, "--registry", ports.url(ports.files, how, registry)), "--http-timeout", "1")  # noqa: E731
    yield Case("http/a bundle file's body never comes/pull", "http", pull("stall-files"), says=TIMED_OUT)
    yield Case("http/a bundle file redirects to another port/pull", "http", pull("away-files"),
               says="away from the registry's own scheme, host and port")
