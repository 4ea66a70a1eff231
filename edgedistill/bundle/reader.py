"""Open a bundle and verify every file against the manifest before anything uses it (no torch)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from edgedistill.bundle.golden import GOLDEN_FILE, GoldenCase, parse_golden
from edgedistill.bundle.manifest import MANIFEST_FILE, SIGNATURE_FILE, FileEntry, Manifest, parse_manifest
from edgedistill.errors import UserError
from edgedistill.fsutil import sha256_file
from edgedistill.jsonio import read_json
from edgedistill.modeldir import read_labels


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: Manifest
    labels: list[str]
    golden: list[GoldenCase]

    @property
    def model_path(self) -> Path:
        return self.path / self.manifest.model

    @property
    def tokenizer_json(self) -> Path:
        return self.path / "tokenizer.json"

    @property
    def recipe(self) -> str:
        return str(self.manifest.quantization.get("recipe", "?"))


def open_bundle(path: Path) -> Bundle:
    """Read the manifest, check every listed file's size and sha256, then read labels and golden vectors."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"bundle directory {path} not found")
    problem = listed_file_problem(path / MANIFEST_FILE, None)  # a linked manifest would vouch for files elsewhere
    if problem is not None:
        raise UserError(f"{path} is not a bundle ({problem}); pass a directory written by `edgedistill export`")
    manifest = parse_manifest(read_json(path / MANIFEST_FILE, "bundle manifest"), str(path / MANIFEST_FILE))
    verify_files(path, manifest.files)
    golden = parse_golden(read_json(path / GOLDEN_FILE, "golden vectors"), str(path / GOLDEN_FILE))
    return Bundle(path, manifest, read_labels(path), golden)


def verify_files(path: Path, files: dict[str, FileEntry]) -> None:
    """Every file the manifest lists must be a plain file with the recorded size and sha256.

    Every size is checked before any file is hashed, so a truncated copy fails at once.
    """
    for name, entry in sorted(files.items()):
        problem = listed_file_problem(path / name, entry.size)
        if problem is not None:
            raise UserError(f"bundle {path}: {problem}; copy the whole bundle directory again")
    for name, entry in sorted(files.items()):
        if sha256_file(path / name) != entry.sha256:
            raise UserError(f"bundle {path}: {name} does not match its sha256 in {MANIFEST_FILE} "
                            "(corrupt or modified); copy or export the bundle again")


def listed_file_problem(file: Path, size: int | None) -> str | None:
    """What lstat alone shows is wrong with a bundle file (a link, missing, not `size` bytes), or None.

    Checked before a file is read or copied, so a swapped-in link or a file grown huge costs nothing.
    """
    try:
        status = os.lstat(file)
    except FileNotFoundError:
        return f"missing {file.name}"
    if stat.S_ISLNK(status.st_mode):
        return f"{file.name} is a symbolic link (a bundle holds plain files only)"
    if not stat.S_ISREG(status.st_mode):
        return f"{file.name} is not a plain file"
    if size is not None and status.st_size != size:
        return f"{file.name} is {status.st_size} bytes, but {MANIFEST_FILE} records {size}"
    return None


def is_written_bundle(path: Path) -> bool:
    """Whether `path` holds a bundle and nothing else: its manifest, exactly the files it lists and perhaps its
    signature (and so may be replaced).

    A folder of the user's own that happens to hold a manifest.json (a web app, say) is never taken for one.
    """
    try:
        manifest = parse_manifest(read_json(Path(path) / MANIFEST_FILE, "bundle manifest"), str(path))
    except UserError:
        return False
    entries = list(Path(path).iterdir())
    return (all(entry.is_file() and not entry.is_symlink() for entry in entries)
            and not unlisted_entries(path, manifest) and all((Path(path) / name).exists() for name in manifest.files))


def unlisted_entries(path: Path, manifest: Manifest) -> list[str]:
    """The names in bundle folder `path` that are neither its manifest, its signature nor a file the manifest lists."""
    return sorted(entry.name for entry in Path(path).iterdir()
                  if entry.name not in manifest.files and entry.name not in (MANIFEST_FILE, SIGNATURE_FILE))
