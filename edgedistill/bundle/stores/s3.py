"""`s3://BUCKET/PREFIX` registries through s3fs, kept consistent by S3's conditional writes.

Credentials, region and endpoint come from botocore's standard chain, as for the AWS CLI: AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_PROFILE and ~/.aws/config, AWS_DEFAULT_REGION, and
AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for an S3-compatible server (SeaweedFS, MinIO, ...).

Creating an object only if absent is a PUT with `If-None-Match: *`; replacing the index only if unchanged is
a PUT with `If-Match: <the ETag it was read with>`. AWS S3 honours both since 2024; a server that ignored them
would let concurrent publishers lose each other's entries, so every publish first checks that it honours them.
Each upload carries its Content-MD5, so the server refuses bytes that changed on the way.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from fsspec.asyn import sync

from edgedistill.bundle.stores.base import check_segment
from edgedistill.bundle.stores.objects import Conflict, ObjectStore
from edgedistill.errors import UserError
from edgedistill.jsonio import check_json_size

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# S3's answers to a conditional write that did not hold: the condition failed, or a concurrent one won.
_CONDITION_FAILED = {"PreconditionFailed", "ConditionalRequestConflict"}
_NEVER_AN_ETAG = '"edgedistill-probe-never-an-etag"'


class S3Store(ObjectStore):
    @classmethod
    def open(cls, registry: str) -> S3Store:
        url = urlparse(registry)
        if url.query or url.fragment or url.params or not _BUCKET.fullmatch(url.netloc):
            raise UserError(f"registry {registry!r} must look like s3://BUCKET or s3://BUCKET/PREFIX "
                            "(a bucket name of lowercase letters, digits, '.' and '-'; no query)")
        path = url.path.strip("/")
        prefix = [check_segment(part, "registry folder", registry) for part in (path.split("/") if path else [])]
        try:
            import aiohttp
            import botocore.exceptions
            import s3fs
        except ImportError:
            raise UserError("s3:// registries need s3fs; pip install 'edgedistill[stores]'") from None
        # A fresh instance per command: a cached one would keep the credentials and endpoint it was made with.
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        root = "/".join([url.netloc, *prefix])
        errors = (botocore.exceptions.BotoCoreError, aiohttp.ClientError, asyncio.TimeoutError)
        return cls(fs, root, f"s3://{root}", registry, errors)

    @contextlib.contextmanager
    def publishing(self) -> Iterator[None]:
        self._require_conditional_writes()
        yield

    def _read_versioned(self, key: str) -> tuple[bytes, Any] | None:
        bucket, path = key.split("/", 1)
        try:
            response = self.fs.call_s3("get_object", Bucket=bucket, Key=path)
        except FileNotFoundError as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise UserError(f"registry {self.label}: bucket {bucket!r} does not exist; create it, or check "
                                "--registry and AWS_ENDPOINT_URL") from None
            return None
        try:
            check_json_size(response["ContentLength"], "registry index", self._url_of(key))
        except UserError:
            response["Body"].close()  # unread, it would hold its connection open until aiohttp warns at exit
            raise
        return sync(self.fs.loop, _read_body, response["Body"]), response["ETag"]

    def _create(self, key: str, data: bytes) -> None:
        self._put(key, data, IfNoneMatch="*")

    def _replace(self, key: str, data: bytes, token: Any) -> None:
        self._put(key, data, IfMatch=token)

    def _remove(self, key: str) -> None:
        bucket, path = key.split("/", 1)
        self.fs.call_s3("delete_object", Bucket=bucket, Key=path)

    def _put(self, key: str, data: bytes, **condition: str) -> None:
        bucket, path = key.split("/", 1)
        digest = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")
        try:
            self.fs.call_s3("put_object", Bucket=bucket, Key=path, Body=data, ContentMD5=digest, **condition)
        except OSError as exc:
            if _error_code(exc) in _CONDITION_FAILED:
                raise Conflict(key) from None
            raise

    def _require_conditional_writes(self) -> None:
        """Refuse to publish to a server that would ignore If-Match or If-None-Match (and so lose index entries)."""
        probe = f"{self.root}/.edgedistill-probe-{uuid.uuid4().hex}"  # one per publisher: concurrent probes never meet
        with self._transport("checking that the server honours conditional writes"):
            try:
                ignored = self._ignored_condition(probe)
            finally:
                with contextlib.suppress(Exception):
                    self._remove(probe)
        if ignored is not None:
            raise UserError(f"registry {self.label}: the S3 server ignores {ignored} on PUT, so concurrent publishers "
                            "could lose each other's index entries; publish to a server that honours conditional "
                            "writes (AWS S3, SeaweedFS)")

    def _ignored_condition(self, probe: str) -> str | None:
        try:
            self._replace(probe, b"", _NEVER_AN_ETAG)  # nothing is there, so nothing can match
            return "If-Match"
        except (Conflict, FileNotFoundError):  # 412, or 404 as AWS answers for a missing key
            pass
        self._create(probe, b"")
        try:
            self._create(probe, b"")
            return "If-None-Match"
        except Conflict:
            return None


async def _read_body(body: Any) -> bytes:
    async with body as stream:
        return await stream.read()


def _error_code(exc: BaseException) -> str | None:
    """The S3 error code behind an error s3fs translated into an OSError."""
    response = getattr(exc.__cause__, "response", None) or getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code")
