"""`http(s)://` registries, read-only: `pull` and `bundles` from a registry directory served by any web server.

Publish to the directory (or bucket) behind it instead. Each file is one streamed GET (many static servers,
`python -m http.server` among them, ignore Range requests) through the standard library, with two rules:

- Every connect and every read waits at most `timeout_s` (`--http-timeout`, default 30 s), and a wait that runs out
  says so. fsspec's HTTP filesystem, used here before, asked HEAD and then GET before opening a file and reported
  the failure of both as "not found": a server that accepted and never answered cost 602 s and was then called empty.
- A redirect is followed only within the registry's origin (scheme, host and port): the index vouches for files
  at the registry, and a file served from elsewhere is not one the registry serves.
"""

from __future__ import annotations

import contextlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edgedistill.bundle.stores.base import INDEX_FILE, IndexChange, Store, check_segment
from edgedistill.bundle.stores.objects import copy_up_to, download_limit, over_limit_problem, read_up_to, size_problem
from edgedistill.errors import UserError
from edgedistill.jsonio import MAX_JSON_BYTES, json_too_large

_NOT_FOUND = (404, 410)


class HttpStore(Store):
    def __init__(self, root: str, label: str, timeout_s: float):
        super().__init__(label)
        self.root, self.timeout_s = root, timeout_s
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # as before (aiohttp's default): no proxy from the environment
            _SameOriginRedirects(_origin(root), label))

    @classmethod
    def open(cls, registry: str, timeout_s: float) -> HttpStore:
        url = urlsplit(registry)
        if not url.hostname or url.query or url.fragment:
            raise UserError(f"registry {registry!r} must look like https://HOST/PATH (no query or fragment)")
        try:
            _origin(registry)
        except ValueError:
            raise UserError(f"registry {registry!r} names no valid port") from None
        return cls(registry.rstrip("/"), registry, timeout_s)

    def read_index(self) -> bytes:
        url = f"{self.root}/{INDEX_FILE}"
        with self._get(url) as response:
            if response is None:
                raise UserError(f"registry {self.label} serves no {INDEX_FILE} (not found); check --registry")
            with self._reading(url):
                data = read_up_to(response, MAX_JSON_BYTES)
        if data is None:
            raise json_too_large("registry index", url, f"over {MAX_JSON_BYTES:,} bytes")
        return data

    def fetch(self, name: str, version: str, file_name: str, target: Path, size: int | None,
              required: bool = True) -> str | None:
        url = "/".join([self.root, *(check_segment(value, what, self.label) for what, value in
                                     (("bundle name", name), ("version", version), ("file name", file_name)))])
        with self._get(url) as response:
            if response is None:
                return f"missing {file_name}" if required else None
            announced = response.headers.get("Content-Length", "")
            problem = size_problem(file_name, size, int(announced) if announced.isdigit() else None)
            if problem is not None:
                return problem
            with self._reading(url), open(target, "wb") as sink:
                complete = copy_up_to(response, sink.write, download_limit(size))
        if not complete:
            target.unlink()
            return over_limit_problem(file_name, size)
        return None

    def location(self, name: str, version: str) -> str:
        return f"{self.root}/{name}/{version}"

    def stage(self, name: str, version: str) -> contextlib.AbstractContextManager[Path]:
        raise read_only_error(self.label)

    def update_index(self, change: IndexChange) -> None:
        raise read_only_error(self.label)

    @contextlib.contextmanager
    def _get(self, url: str) -> Iterator[Any]:
        """The open response to a GET of `url`, or None where the server says there is no such file."""
        with self._reading(url):
            try:
                response = self._opener.open(url, timeout=self.timeout_s)
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code not in _NOT_FOUND:
                    raise
                response = None
        if response is None:
            yield None
            return
        with response:
            yield response

    @contextlib.contextmanager
    def _reading(self, url: str) -> Iterator[None]:
        """A failed request or read as one line; a wait that ran out says how long it was."""
        try:
            yield
        except (TimeoutError, urllib.error.URLError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if isinstance(reason, TimeoutError):
                raise UserError(f"registry {self.label}: reading {url} timed out after {self.timeout_s:g} s with no "
                                "answer; check that the server is up, or allow longer with --http-timeout") from None
            detail = (f"HTTP {exc.code} {exc.reason}" if isinstance(exc, urllib.error.HTTPError)
                      else " ".join(str(reason).split())[:300])
            raise UserError(f"registry {self.label}: reading {url} failed ({detail})") from None
        except (OSError, http.client.HTTPException) as exc:
            detail = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise UserError(f"registry {self.label}: reading {url} failed ({detail})") from None


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the registry's own scheme, host and port."""

    def __init__(self, origin: tuple[str, str, int], label: str):
        self.origin, self.label = origin, label

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            same = _origin(newurl) == self.origin
        except ValueError:
            same = False
        if not same:
            fp.close()
            raise UserError(f"registry {self.label}: {req.full_url} redirects to {newurl}, away from the registry's "
                            "own scheme, host and port; refused (give --registry the URL the files are served at)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, the port filled in; ValueError for a port that is not one."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def read_only_error(label: str) -> UserError:
    return UserError(f"registry {label} is read-only over HTTP; publish to the directory or bucket it serves "
                     "(a path, file://, s3:// or memory:// registry)")
