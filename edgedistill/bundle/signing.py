"""Ed25519 signatures over a bundle's manifest: who published it, checked against the keys a puller trusts.

The signed message is exactly the bytes of `manifest.json`. The manifest records every other file's
sha256 and size, so one signature covers the whole bundle. The signature sits beside it in `manifest.sig`:

    {"algorithm": "ed25519", "signed_file": "manifest.json",
     "key_fingerprint": "<sha256 hex of the raw 32-byte public key>", "signature": "<base64, 64 bytes>"}

Keys are PEM files: a PKCS#8 private key signs, SubjectPublicKeyInfo public keys are trusted
(`edgedistill keygen` writes a pair; `openssl genpkey -algorithm ed25519` makes a private key too).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption, PrivateFormat, PublicFormat,
                                                          load_pem_private_key, load_pem_public_key)

from edgedistill.bundle.manifest import MANIFEST_FILE, SIGNATURE_FILE, parse_manifest
from edgedistill.bundle.reader import unlisted_entries
from edgedistill.errors import UserError
from edgedistill.fsutil import check_name, inside, require_directory_path, write_new_file
from edgedistill.jsonio import read_json, write_json
from edgedistill.typed_config import from_mapping

ALGORITHM = "ed25519"
_MAX_FILE_BYTES = 64 * 1024  # a signature or key file is a few hundred bytes; a trusted-keys file a few hundred keys
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_PEM_PUBLIC_KEY = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


@dataclass(frozen=True)
class SignatureFile:
    algorithm: str
    signed_file: str
    key_fingerprint: str
    signature: str


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """The sha256 of the raw 32-byte public key, in hex: how `manifest.sig` and messages name a key."""
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def generate_key_pair(out_dir: Path, name: str) -> tuple[Path, Path, str]:
    """Write `<name>.key` (private, owner-only) and `<name>.pub` to `out_dir`, both or neither; return both and the
    fingerprint."""
    check_name(name, "--name")
    require_directory_path(Path(out_dir))
    private, public = inside(out_dir, f"{name}.key"), inside(out_dir, f"{name}.pub")
    taken = [path for path in (private, public) if os.path.lexists(path)]
    if taken:
        raise UserError(f"{taken[0]} already exists; choose another --out or --name (keys are never overwritten)")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    write_new_file(private, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()), 0o600)
    try:
        write_new_file(public, key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo), 0o644)
    except BaseException:
        private.unlink()  # a private key without its public half would block every retry under this name
        raise
    return private, public, key_fingerprint(key.public_key())


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file (unencrypted PKCS#8, as `edgedistill keygen` writes)."""
    try:
        key = load_pem_private_key(_read_small_file(path, "private key"), password=None)
    except TypeError:
        raise UserError(f"{path} is an encrypted private key; edgedistill reads unencrypted PEM keys only") from None
    except (ValueError, UnsupportedAlgorithm):
        raise UserError(f"{path} is not a PEM private key; make one with `edgedistill keygen --out DIR`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{path} is not an Ed25519 key; bundles are signed with Ed25519 (`edgedistill keygen`)")
    return key


def load_trusted_keys(paths: Iterable[Path]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 public keys in PEM files, by fingerprint; one file may hold several (a trusted-keys file)."""
    trusted: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        blocks = _PEM_PUBLIC_KEY.findall(_read_small_file(path, "public key"))
        if not blocks:
            raise UserError(f"{path} holds no PEM public key; pass the .pub file `edgedistill keygen` wrote")
        for block in blocks:
            try:
                key = load_pem_public_key(block)
            except (ValueError, UnsupportedAlgorithm):
                raise UserError(f"{path} holds a malformed PEM public key") from None
            if not isinstance(key, Ed25519PublicKey):
                raise UserError(f"{path} holds a key that is not Ed25519; bundles are signed with Ed25519")
            trusted[key_fingerprint(key)] = key
    return trusted


def sign_manifest(bundle_dir: Path, key: Ed25519PrivateKey) -> str:
    """Write `manifest.sig` over the bytes of `manifest.json` in `bundle_dir`; return the key's fingerprint."""
    message = (Path(bundle_dir) / MANIFEST_FILE).read_bytes()
    signed = SignatureFile(algorithm=ALGORITHM, signed_file=MANIFEST_FILE,
                           key_fingerprint=key_fingerprint(key.public_key()),
                           signature=base64.b64encode(key.sign(message)).decode("ascii"))
    write_json(Path(bundle_dir) / SIGNATURE_FILE, dataclasses.asdict(signed))
    return signed.key_fingerprint


def verify_manifest(bundle_dir: Path, trusted: dict[str, Ed25519PublicKey], label: str) -> str:
    """Refuse a bundle that is unsigned, signed by a key not in `trusted`, or whose manifest changed since signing.

    Returns the signer's fingerprint. Every refusal is one line that starts with `label`.
    """
    signed = _read_signature(Path(bundle_dir) / SIGNATURE_FILE, label)
    if signed is None:
        raise UserError(f"{label} is not signed, refused under --trust; ask its publisher to publish it with --sign")
    key = trusted.get(signed.key_fingerprint)
    if key is None:
        raise UserError(f"{label} is signed by key {signed.key_fingerprint}, which is not a --trust key; refused")
    try:
        key.verify(base64.b64decode(signed.signature, validate=True), (Path(bundle_dir) / MANIFEST_FILE).read_bytes())
    except (InvalidSignature, ValueError):  # ValueError: not base64 (binascii.Error), or not ASCII at all
        raise UserError(f"{label}: {SIGNATURE_FILE} does not match {MANIFEST_FILE} (changed after signing); "
                        "refused") from None
    return signed.key_fingerprint


def verify_bundle(bundle_dir: Path, trusted: dict[str, Ed25519PublicKey], label: str) -> str:
    """`verify_manifest`, and refuse a bundle folder that holds anything its signed manifest does not list: the
    signature vouches for the listed files alone, and a file beside them (a second model, a script an app loads by
    name) would pass a trusted check unvouched."""
    fingerprint = verify_manifest(bundle_dir, trusted, label)
    manifest = parse_manifest(read_json(Path(bundle_dir) / MANIFEST_FILE, "bundle manifest"),
                              str(Path(bundle_dir) / MANIFEST_FILE))
    unlisted = unlisted_entries(bundle_dir, manifest)
    if unlisted:
        shown = ", ".join(unlisted[:5]) + (f" and {len(unlisted) - 5} more" if len(unlisted) > 5 else "")
        raise UserError(f"{label} holds {shown}, which its signed {MANIFEST_FILE} does not list; refused under "
                        "--trust (remove them, or pull the bundle again)")
    return fingerprint


def _read_signature(path: Path, label: str) -> SignatureFile | None:
    if not os.path.lexists(path):
        return None
    if not stat.S_ISREG(os.lstat(path).st_mode) or os.lstat(path).st_size > _MAX_FILE_BYTES:
        raise UserError(f"{label}: {SIGNATURE_FILE} is not a plain file of a few hundred bytes; refused")
    signed = from_mapping(SignatureFile, read_json(path, "bundle signature"), f"{label}: {SIGNATURE_FILE}")
    known = (signed.algorithm, signed.signed_file) == (ALGORITHM, MANIFEST_FILE)
    if not known or not _FINGERPRINT.fullmatch(signed.key_fingerprint):
        raise UserError(f"{label}: {SIGNATURE_FILE} is not an {ALGORITHM} signature of {MANIFEST_FILE} "
                        "written by edgedistill; refused")
    return signed


def _read_small_file(path: Path, what: str) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} file {path} not found")
    if path.stat().st_size > _MAX_FILE_BYTES:
        raise UserError(f"{path} is too large to be a {what} file")
    return path.read_bytes()
