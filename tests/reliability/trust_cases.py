"""Issue 23.8's class, generated: a bundle folder checked under --trust that holds anything its signed manifest does
not list (a file, a hidden file, a folder, a link, a name that differs from a listed one in case only) is refused,
naming it. And issue 23.11's signature files: every field of `manifest.sig` given each wrong value (the wrong type,
text that is not ASCII, a NUL, a lone surrogate, nothing) under `check --trust` and `pull --trust` ends in one line.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.reliability.cases import CHECK, PULL, Case, Damage, edit_json, then, wrong_values
from tests.reliability.world import BUNDLE, NAME, REGISTRY

KEY = "keys/edgedistill-signing.pub"
TRUSTED_CHECK = (*CHECK, "--trust", KEY)
TRUSTED_PULL = (*PULL, "--trust", KEY)
PUBLISHED = f"{REGISTRY}/{NAME}/1"
NOT_TEXT = [("not ASCII", "é" * 88), ("a NUL", "\x00" * 88), ("a lone surrogate", "\ud800" * 88), ("empty", "")]


def signed(bundle: str) -> Damage:
    """A key pair in keys/ and `bundle` signed with it (its manifest, and so the index's record of it, unchanged)."""
    def damage(workspace: Path) -> None:
        from edgedistill.bundle.signing import generate_key_pair, load_signing_key, sign_manifest

        private, _, _ = generate_key_pair(workspace / "keys", "edgedistill-signing")
        sign_manifest(workspace / bundle, load_signing_key(private))
        private.unlink()  # a trusting reader holds the public half alone
    return damage


def _extra(make: str) -> Damage:
    def damage(workspace: Path) -> None:
        folder = workspace / BUNDLE
        if make == "a file":
            (folder / "extra.onnx").write_bytes(b"not listed")
        elif make == "a hidden file":
            (folder / ".hidden").write_text("not listed")
        elif make == "a folder":
            (folder / "scripts").mkdir()
            (folder / "scripts" / "run.py").write_text("print('not listed')\n")
        elif make == "a link":
            (folder / "extra.onnx").symlink_to(workspace.parent / "outside" / "secret.txt")
        else:  # a name that differs from a listed one in case only
            (folder / "Labels.json").write_text((folder / "labels.json").read_text())
    return damage


def _signature_field(bundle: str, field: str, value: Any) -> Damage:
    return edit_json(f"{bundle}/manifest.sig", lambda signature: signature.update({field: value}))


def trust_cases() -> Iterator[Case]:
    from edgedistill.bundle.signing import SignatureFile

    yield Case("trust/a signed bundle and nothing else/check", "trust", TRUSTED_CHECK, signed(BUNDLE), expect="ok")
    for make in ("a file", "a hidden file", "a folder", "a link", "a name unlike a listed one in case only"):
        yield Case(f"trust/the bundle folder holds {make} its manifest does not list/check", "trust", TRUSTED_CHECK,
                   then(signed(BUNDLE), _extra(make)), says="which its signed manifest.json does not list")
    for bundle, argv in ((BUNDLE, TRUSTED_CHECK), (PUBLISHED, TRUSTED_PULL)):
        for field in (field.name for field in dataclasses.fields(SignatureFile)):  # every one a string
            for label, value in [*wrong_values(str), *NOT_TEXT]:
                yield Case(f"trust/manifest.sig {field} is {label}/{argv[0]}", "trust", argv,
                           then(signed(bundle), _signature_field(bundle, field, value)))
        yield Case(f"trust/manifest.sig a list/{argv[0]}", "trust", argv,
                   then(signed(bundle), lambda ws, b=bundle: (ws / b / "manifest.sig").write_text(json.dumps([1]))))
