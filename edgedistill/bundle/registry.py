"""A bundle registry: `index.json` plus `<name>/<version>/` folders, in a directory or an object store (no torch).

The registry is named by a path or a `file://`, `s3://`, `memory://` or `http(s)://` URL (read-only); the store
(stores/) moves the bytes and keeps publishers apart. `index.json` is the source of truth for what is
published: a version is copied and verified first, then listed, so readers never see a half-written version.
Each entry records the manifest's sha256, so `pull` also catches a manifest edited in place. `pull` copies into
a local scratch folder, checks every size and sha256 there, and only then places the bundle. Anyone who can
write the registry can also rewrite the index, so provenance comes from signatures (`publish --sign`,
`pull --trust`; see signing.py), not from the index.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edgedistill.bundle.manifest import MANIFEST_FILE, SIGNATURE_FILE, Manifest, parse_manifest
from edgedistill.bundle.reader import is_written_bundle, listed_file_problem, open_bundle
from edgedistill.bundle.signing import sign_manifest, verify_manifest
from edgedistill.bundle.stores import HTTP_TIMEOUT_S, INDEX_FILE, Store, VersionTaken, open_store
from edgedistill.bundle.stores.directory import LOCK_FILE
from edgedistill.errors import UserError
from edgedistill.fsutil import NAME, atomic_output_dir, check_name, named_path, require_apart, sha256_file
from edgedistill.jsonio import dump_json, parse_json, read_json

__all__ = ["INDEX_FILE", "LATEST", "LOCK_FILE", "PublishedRef", "list_bundles", "publish", "pull", "resolve"]

INDEX_SCHEMA_VERSION = 1
LATEST = "latest"
_REPUBLISH = "publish the bundle again under a new version"
# An object store's publisher takes the next version when another claimed the one it chose; it gives up after this many.
_CLAIM_TRIES = 100
# Matched with fullmatch: a trailing "$" would also accept "1\n" as a version.
_VERSION = re.compile(r"(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.]+))?")


@dataclass(frozen=True)
class PublishedRef:
    name: str
    version: str
    path: Path | str  # the version's folder: a directory, or a URL in an object store

    @property
    def reference(self) -> str:
        return f"{self.name}@{self.version}"


def publish(bundle: Path, registry: str, version: str | None = None,
            signing_key: Ed25519PrivateKey | None = None) -> PublishedRef:
    """Verify `bundle`, copy it to `<registry>/<name>/<version>/`, sign it with `signing_key` if given, and list it.

    Without a key, a signature the bundle already carries (one pulled from another registry, say) is kept as is.
    """
    if version is not None:
        _check_version(version)
    store = open_store(registry, publish=True)
    if store.folder is not None:
        require_apart(store.folder, [("bundle", bundle)], flag="--registry")
    try:
        manifest = open_bundle(Path(bundle)).manifest
    except UserError as exc:
        raise UserError(f"refusing to publish: {exc}") from None
    if not _valid_name(manifest.name):
        raise UserError(f"bundle name {manifest.name!r} in {bundle}/{MANIFEST_FILE} cannot be a registry folder name")
    with store.publishing():
        version = _place(store, Path(bundle), manifest, version, signing_key)
    return PublishedRef(manifest.name, version, store.location(manifest.name, version))


def resolve(reference: str, registry: str, http_timeout_s: float = HTTP_TIMEOUT_S) -> PublishedRef:
    """`NAME`, `NAME@VERSION` or `NAME@latest` to the published version it names."""
    store = open_store(registry, http_timeout_s=http_timeout_s)
    name, version = _resolve(reference, _read_index(store)["bundles"], registry)
    return PublishedRef(name, version, store.location(name, version))


def pull(reference: str, registry: str, out: Path, trusted: dict[str, Ed25519PublicKey] | None = None,
         http_timeout_s: float = HTTP_TIMEOUT_S) -> Path:
    """Copy a published bundle to `out` and verify every size and sha256; on any mismatch `out` is left untouched.

    With `trusted` keys, a bundle that is unsigned or not signed by one of them is refused before its files are copied.
    """
    store = open_store(registry, http_timeout_s=http_timeout_s)
    if store.folder is not None:
        require_apart(out, [("registry", store.folder)])
    bundles = _read_index(store)["bundles"]
    name, version = _resolve(reference, bundles, registry)
    label = f"{name}@{version} in {registry}"
    with atomic_output_dir(named_path(out), is_written_bundle) as scratch:
        _fetch_listed(store, name, version, scratch, bundles[name][version]["manifest_sha256"], label, trusted)
        try:
            open_bundle(scratch)
        except UserError as exc:
            raise UserError(f"{label} is corrupt, nothing pulled: {exc}") from None
    return Path(out)


def list_bundles(registry: str, http_timeout_s: float = HTTP_TIMEOUT_S) -> dict[str, dict[str, dict[str, Any]]]:
    """Every published bundle: name -> version -> index entry, names sorted and versions oldest first."""
    bundles = _read_index(open_store(registry, http_timeout_s=http_timeout_s))["bundles"]
    return {name: {version: bundles[name][version] for version in sorted(bundles[name], key=_version_key)}
            for name in sorted(bundles)}


def _place(store: Store, bundle: Path, manifest: Manifest, wanted: str | None,
           signing_key: Ed25519PrivateKey | None) -> str:
    """Copy the bundle into the store as `wanted` (or the next free version) and list it; return the version."""
    taken = None
    for _ in range(_CLAIM_TRIES):
        published = _read_index(store)["bundles"].get(manifest.name, {})
        version = wanted or _next_version(published, taken)
        _refuse_republish(published, manifest.name, version, store.label)
        try:
            with store.stage(manifest.name, version) as scratch:
                _copy_bundle(bundle, manifest, scratch, keep_signature=signing_key is None)
                copied = open_bundle(scratch).manifest
                if signing_key is not None:
                    sign_manifest(scratch, signing_key)
                entry = _index_entry(copied, sha256_file(scratch / MANIFEST_FILE))
        except VersionTaken as taken_folder:
            if wanted is not None:
                raise UserError(f"{manifest.name}@{version} is being published to {store.label} by another "
                                f"publisher, or a publish of it was interrupted ({taken_folder}); pass another "
                                "--version") from None
            taken = version  # a concurrent publisher claimed it first: take the next one
            continue
        store.update_index(functools.partial(_with_entry, manifest.name, version, entry, store.label))
        return version
    raise UserError(f"{manifest.name}: {_CLAIM_TRIES} versions in a row were taken by other publishers of "
                    f"{store.label} while this one tried them; publish again, or pass --version")


def _with_entry(name: str, version: str, entry: dict[str, Any], label: str, current: bytes | None) -> bytes | None:
    """The index with `name@version` listed: checked again against the index as it is now, which may be newer."""
    index = _parse_index(current, label)
    versions = index["bundles"].setdefault(name, {})
    if versions.get(version) == entry:
        return None  # listed already: an update whose answer was lost on the way back
    _refuse_republish(versions, name, version, label)
    versions[version] = entry
    return dump_json(index).encode("utf-8")


def _refuse_republish(published: dict[str, Any], name: str, version: str, label: str) -> None:
    same = [v for v in published if _version_key(v) == _version_key(version)]
    if same:
        raise UserError(f"{name}@{same[0]} is already published in {label}; "
                        "pass another --version (published versions are never overwritten)")


def _resolve(reference: str, bundles: dict[str, Any], registry: str) -> tuple[str, str]:
    name, _, version = reference.partition("@")
    if not name or reference.endswith("@") or reference.count("@") > 1:
        raise UserError(f"bundle reference {reference!r} must be NAME, NAME@VERSION or NAME@latest")
    if name not in bundles:
        names = ", ".join(sorted(bundles)) or "none yet"
        raise UserError(f"no bundle named {name!r} in {registry}; published names: {names}")
    versions = bundles[name]
    if not versions:
        raise UserError(f"{registry}/{INDEX_FILE} lists {name!r} with no versions; publish it again")
    version = version or LATEST
    if version == LATEST:
        version = max(versions, key=_version_key)
    if version not in versions:
        raise UserError(f"{name} has no version {version!r} in {registry}; published versions: "
                        f"{', '.join(sorted(versions, key=_version_key))}")
    return name, version


def _fetch_listed(store: Store, name: str, version: str, target: Path, manifest_sha256: str, label: str,
                  trusted: dict[str, Ed25519PublicKey] | None) -> None:
    """Fetch the manifest and check it against the index (and its signature, under --trust), then the files it lists."""
    _fetch(store, name, version, MANIFEST_FILE, None, target, label)
    if sha256_file(target / MANIFEST_FILE) != manifest_sha256:
        raise UserError(f"{label}: {MANIFEST_FILE} does not match its sha256 in {INDEX_FILE} "
                        f"(modified after publish); {_REPUBLISH}")
    where = f"{store.location(name, version)}/{MANIFEST_FILE}"
    manifest = parse_manifest(read_json(target / MANIFEST_FILE, "bundle manifest"), where)
    if manifest.name != name:
        raise UserError(f"{label}: {MANIFEST_FILE} names another bundle ({manifest.name!r}); {_REPUBLISH}")
    _fetch(store, name, version, SIGNATURE_FILE, None, target, label, required=False)
    if trusted is not None:
        verify_manifest(target, trusted, label)
    for file_name, entry in sorted(manifest.files.items()):
        _fetch(store, name, version, file_name, entry.size, target, label)


def _fetch(store: Store, name: str, version: str, file_name: str, size: int | None, target: Path, label: str,
           required: bool = True) -> None:
    problem = store.fetch(name, version, file_name, target / file_name, size, required)
    if problem is not None:
        raise UserError(f"{label}: {problem}; {_REPUBLISH}")


def _copy_bundle(source: Path, manifest: Manifest, target: Path, keep_signature: bool) -> None:
    """Copy exactly the manifest, the files it lists and perhaps its signature; stray files stay behind.

    Each is copied once lstat shows a plain file of the recorded size, so a link or a wrong size is never read.
    """
    sizes: dict[str, int | None] = {name: entry.size for name, entry in manifest.files.items()}
    sizes[MANIFEST_FILE] = None
    if keep_signature and os.path.lexists(source / SIGNATURE_FILE):
        sizes[SIGNATURE_FILE] = None
    for name, size in sorted(sizes.items()):
        problem = listed_file_problem(source / name, size)
        if problem is not None:
            raise UserError(f"refusing to publish {source}: {problem}; export the bundle again")
        shutil.copyfile(source / name, target / name)


def _index_entry(manifest: Manifest, manifest_sha256: str) -> dict[str, Any]:
    metrics = manifest.metrics
    return {
        "runtime": manifest.runtime, "target": manifest.target, "precision": manifest.precision,
        "created_at": manifest.created_at, "manifest_sha256": manifest_sha256,
        "metrics": {manifest.metric: metrics[manifest.metric], "size_bytes": metrics["size_bytes"],
                    "latency_ms": {"p50": metrics["latency_ms"]["p50"]}},
    }


def _read_index(store: Store) -> dict[str, Any]:
    return _parse_index(store.read_index(), store.label)


def _parse_index(data: bytes | None, label: str) -> dict[str, Any]:
    """The index's bytes as a checked index: every name and version a plain key, every entry with its manifest sha256."""
    if data is None:
        return {"schema_version": INDEX_SCHEMA_VERSION, "bundles": {}}
    where = f"{label.rstrip('/')}/{INDEX_FILE}"
    index = parse_json(data, "registry index", where)
    bundles = index.get("bundles") if isinstance(index, dict) else None
    if not isinstance(bundles, dict) or not all(_valid_versions(versions) for versions in bundles.values()):
        raise UserError(f"{where} is not an edgedistill registry index (expected {{\"bundles\": {{name: {{version: ...}}}}}})")
    bad = next((f"{name}@{version}" for name, versions in bundles.items() for version in versions
                if not _valid_name(name) or not _VERSION.fullmatch(version)), None)
    if bad is not None:
        raise UserError(f"{where} lists {bad!r}, which is not a valid NAME@VERSION; the index was edited by hand or damaged")
    schema_version = index.get("schema_version", INDEX_SCHEMA_VERSION)
    if not isinstance(schema_version, int) or isinstance(schema_version, bool) or schema_version > INDEX_SCHEMA_VERSION:
        raise UserError(f"{where} was written by a newer edgedistill; upgrade edgedistill")
    return index


def _valid_name(name: str) -> bool:
    return isinstance(name, str) and NAME.fullmatch(name) is not None and name != INDEX_FILE


def _valid_versions(versions: Any) -> bool:
    return isinstance(versions, dict) and all(
        isinstance(entry, dict) and isinstance(entry.get("manifest_sha256"), str) for entry in versions.values())


def _check_version(version: str) -> None:
    check_name(version, "--version")
    if version == LATEST or not _VERSION.fullmatch(version):
        raise UserError(f"--version {version!r} must look like 3, 1.2.0 or 1.2.0-rc1 ({LATEST!r} is reserved)")


def _next_version(published: dict[str, Any], taken: str | None = None) -> str:
    """One more than the highest major version published (or just taken by another publisher): 1, 2, 3, ..."""
    majors = [int(_VERSION.fullmatch(v).group(1).split(".")[0]) for v in (*published, *filter(None, [taken]))
              if _VERSION.fullmatch(v)]
    return str(max(majors, default=0) + 1)


def _version_key(version: str) -> tuple:
    """Numeric release order; a pre-release (1.2.0-rc1) sorts before its release (1.2.0)."""
    match = _VERSION.fullmatch(version)
    if match is None:
        return ((), 0, version)
    release = [int(part) for part in match.group(1).split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()  # 1, 1.0 and 1.0.0 are the same release
    return (tuple(release), 0 if match.group(2) else 1, match.group(2) or "")
