"""A bundle registry that is just a directory: `<registry>/<name>/<version>/` plus `index.json` (no torch).

The directory may be local, an NFS/SMB mount or a synced bucket folder, named by a path or
a `file://` URL. `index.json` is the source of truth for what is published: a version is
copied and verified first, then listed, so readers never see a half-written version. Each
entry records the manifest's sha256, so `pull` also catches a manifest edited in place.
Anyone who can write here can also rewrite the index, so provenance comes from signatures
(`publish --sign`, `pull --trust`; see signing.py), not from the index.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edgedistill.bundle.manifest import MANIFEST_FILE, SIGNATURE_FILE, Manifest, parse_manifest
from edgedistill.bundle.reader import is_written_bundle, listed_file_problem, open_bundle
from edgedistill.bundle.signing import sign_manifest, verify_manifest
from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_output_dir, exclusive_lock, sha256_file, sweep_scratch
from edgedistill.jsonio import read_json, write_json

INDEX_FILE = "index.json"
INDEX_SCHEMA_VERSION = 1
LOCK_FILE = ".index.lock"
LATEST = "latest"
_REPUBLISH = "publish the bundle again under a new version"
# Matched with fullmatch: a trailing "$" would also accept "name\n" as a folder name.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_VERSION = re.compile(r"(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.]+))?")


@dataclass(frozen=True)
class PublishedRef:
    name: str
    version: str
    path: Path

    @property
    def reference(self) -> str:
        return f"{self.name}@{self.version}"


def publish(bundle: Path, registry: str, version: str | None = None,
            signing_key: Ed25519PrivateKey | None = None) -> PublishedRef:
    """Verify `bundle`, copy it to `<registry>/<name>/<version>/`, sign it with `signing_key` if given, and list it.

    Without a key, a signature the bundle already carries (one pulled from another registry, say) is kept as is.
    """
    root = registry_dir(registry, create=True)
    try:
        manifest = open_bundle(Path(bundle)).manifest
    except UserError as exc:
        raise UserError(f"refusing to publish: {exc}") from None
    if not _valid_name(manifest.name):
        raise UserError(f"bundle name {manifest.name!r} in {bundle}/{MANIFEST_FILE} cannot be a registry folder name")
    if version is not None:
        _check_version(version)
    with _index_lock(root):
        _sweep_stale_scratch(root)
        index = _read_index(root)
        published = index["bundles"].get(manifest.name, {})
        version = version or _next_version(published)
        same = [v for v in published if _version_key(v) == _version_key(version)]
        if same:
            raise UserError(f"{manifest.name}@{same[0]} is already published in {registry}; "
                            "pass another --version (published versions are never overwritten)")
        final = _inside(root, manifest.name, version)
        # Not in the index, so never visible to pull: a leftover from an interrupted publish, safe to replace.
        with atomic_output_dir(final, is_written_bundle) as scratch:
            _copy_bundle(Path(bundle), manifest, scratch, keep_signature=signing_key is None)
            copied = open_bundle(scratch).manifest
            if signing_key is not None:
                sign_manifest(scratch, signing_key)
        index["bundles"].setdefault(manifest.name, {})[version] = _index_entry(copied, final / MANIFEST_FILE)
        write_json(root / INDEX_FILE, index)
    return PublishedRef(manifest.name, version, final)


def resolve(reference: str, registry: str) -> PublishedRef:
    """`NAME`, `NAME@VERSION` or `NAME@latest` to the published version it names."""
    root = registry_dir(registry)
    name, version = _resolve(reference, _read_index(root)["bundles"], registry)
    return PublishedRef(name, version, root / name / version)


def pull(reference: str, registry: str, out: Path, trusted: dict[str, Ed25519PublicKey] | None = None) -> Path:
    """Copy a published bundle to `out` and verify every size and sha256; on any mismatch `out` is left untouched.

    With `trusted` keys, a bundle that is unsigned or not signed by one of them is refused before its files are copied.
    """
    root = registry_dir(registry)
    bundles = _read_index(root)["bundles"]
    name, version = _resolve(reference, bundles, registry)
    source, label = _inside(root, name, version), f"{name}@{version} in {registry}"
    out = Path(out)
    with atomic_output_dir(out, is_written_bundle) as scratch:
        _copy_listed(source, scratch, name, bundles[name][version]["manifest_sha256"], label, trusted)
        try:
            open_bundle(scratch)
        except UserError as exc:
            raise UserError(f"{label} is corrupt, nothing pulled: {exc}") from None
    return out


def list_bundles(registry: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Every published bundle: name -> version -> index entry, names sorted and versions oldest first."""
    bundles = _read_index(registry_dir(registry))["bundles"]
    return {name: {version: bundles[name][version] for version in sorted(bundles[name], key=_version_key)}
            for name in sorted(bundles)}


def registry_dir(registry: str, create: bool = False) -> Path:
    """The directory a registry path or `file://` URL names; only `publish` creates it."""
    if "://" in registry:
        url = urlparse(registry)
        if url.scheme != "file" or url.netloc not in ("", "localhost") or not url.path:
            raise UserError(f"registry {registry!r} must be a directory or a file:// URL with a path; "
                            "mount or sync remote storage to a local folder first")
        registry = url2pathname(url.path)
    root = Path(registry).expanduser()
    if create:
        with contextlib.suppress(FileExistsError):  # a file there is reported below; a racing publisher's dir is fine
            root.mkdir(parents=True, exist_ok=True)
    if not root.is_dir():
        raise UserError(f"registry {root} is not an existing directory; check --registry or EDGEDISTILL_REGISTRY")
    return root


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


def _copy_listed(source: Path, target: Path, name: str, manifest_sha256: str, label: str,
                 trusted: dict[str, Ed25519PublicKey] | None) -> None:
    """Copy the manifest and check it against the index (and its signature, under --trust), then the files it lists."""
    _copy_checked(source, target, MANIFEST_FILE, None, label, _REPUBLISH)
    if sha256_file(target / MANIFEST_FILE) != manifest_sha256:
        raise UserError(f"{label}: {MANIFEST_FILE} does not match its sha256 in {INDEX_FILE} "
                        f"(modified after publish); {_REPUBLISH}")
    manifest = parse_manifest(read_json(target / MANIFEST_FILE, "bundle manifest"), str(source / MANIFEST_FILE))
    if manifest.name != name:
        raise UserError(f"{label}: {MANIFEST_FILE} names another bundle ({manifest.name!r}); {_REPUBLISH}")
    if os.path.lexists(source / SIGNATURE_FILE):
        _copy_checked(source, target, SIGNATURE_FILE, None, label, _REPUBLISH)
    if trusted is not None:
        verify_manifest(target, trusted, label)
    for file_name, entry in sorted(manifest.files.items()):
        _copy_checked(source, target, file_name, entry.size, label, _REPUBLISH)


def _copy_bundle(source: Path, manifest: Manifest, target: Path, keep_signature: bool) -> None:
    """Copy exactly the manifest, the files it lists and perhaps its signature; stray files stay behind."""
    sizes: dict[str, int | None] = {name: entry.size for name, entry in manifest.files.items()}
    sizes[MANIFEST_FILE] = None
    if keep_signature and os.path.lexists(source / SIGNATURE_FILE):
        sizes[SIGNATURE_FILE] = None
    for name, size in sorted(sizes.items()):
        _copy_checked(source, target, name, size, f"refusing to publish {source}", "export the bundle again")


def _copy_checked(source: Path, target: Path, name: str, size: int | None, label: str, remedy: str) -> None:
    """Copy one file once lstat shows a plain file of the recorded size, so a link or a wrong size is never read."""
    problem = listed_file_problem(source / name, size)
    if problem is not None:
        raise UserError(f"{label}: {problem}; {remedy}")
    shutil.copyfile(source / name, target / name)


def _sweep_stale_scratch(root: Path) -> None:
    """Remove what publishers killed mid-write left behind; under the index lock, no live publisher owns any of it."""
    sweep_scratch(root)
    for folder in root.iterdir():
        if _valid_name(folder.name) and folder.is_dir() and not folder.is_symlink():
            sweep_scratch(folder)


def _index_entry(manifest: Manifest, manifest_path: Path) -> dict[str, Any]:
    metrics = manifest.metrics
    return {
        "runtime": manifest.runtime, "target": manifest.target, "precision": manifest.precision,
        "created_at": manifest.created_at, "manifest_sha256": sha256_file(manifest_path),
        "metrics": {"accuracy": metrics["accuracy"], "size_bytes": metrics["size_bytes"],
                    "latency_ms": {"p50": metrics["latency_ms"]["p50"]}},
    }


def _read_index(root: Path) -> dict[str, Any]:
    path = root / INDEX_FILE
    if not path.exists():
        return {"schema_version": INDEX_SCHEMA_VERSION, "bundles": {}}
    index = read_json(path, "registry index")
    bundles = index.get("bundles") if isinstance(index, dict) else None
    if not isinstance(bundles, dict) or not all(_valid_versions(versions) for versions in bundles.values()):
        raise UserError(f"{path} is not an edgedistill registry index (expected {{\"bundles\": {{name: {{version: ...}}}}}})")
    bad = next((f"{name}@{version}" for name, versions in bundles.items() for version in versions
                if not _valid_name(name) or not _VERSION.fullmatch(version)), None)
    if bad is not None:
        raise UserError(f"{path} lists {bad!r}, which is not a valid NAME@VERSION; the index was edited by hand or damaged")
    schema_version = index.get("schema_version", INDEX_SCHEMA_VERSION)
    if not isinstance(schema_version, int) or isinstance(schema_version, bool) or schema_version > INDEX_SCHEMA_VERSION:
        raise UserError(f"{path} was written by a newer edgedistill; upgrade edgedistill")
    return index


def _valid_name(name: str) -> bool:
    return isinstance(name, str) and _NAME.fullmatch(name) is not None and name != INDEX_FILE


def _inside(root: Path, name: str, version: str) -> Path:
    """`root/name/version`, refusing symbolic links on the way, which could lead out of the registry."""
    for path in (root / name, root / name / version):
        if path.is_symlink():
            raise UserError(f"{path} is a symbolic link; a registry holds plain folders only, refusing to follow it")
        if path.exists() and not path.is_dir():
            raise UserError(f"{path} is a file; a registry holds one folder per name and per version")
    return root / name / version


def _valid_versions(versions: Any) -> bool:
    return isinstance(versions, dict) and all(
        isinstance(entry, dict) and isinstance(entry.get("manifest_sha256"), str) for entry in versions.values())


def _index_lock(root: Path):
    """Serialise publishers so concurrent ones never lose each other's index entries (pull never locks)."""
    return exclusive_lock(root / LOCK_FILE)


def _check_version(version: str) -> None:
    if version == LATEST or not _VERSION.fullmatch(version):
        raise UserError(f"--version {version!r} must look like 3, 1.2.0 or 1.2.0-rc1 ({LATEST!r} is reserved)")


def _next_version(published: dict[str, Any]) -> str:
    """One more than the highest major version published so far: 1, 2, 3, ..."""
    majors = [int(_VERSION.fullmatch(v).group(1).split(".")[0]) for v in published if _VERSION.fullmatch(v)]
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
