"""Write a bundle directory atomically: model, tokenizer, labels, golden vectors, manifest."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgedistill.bundle.golden import GOLDEN_FILE
from edgedistill.bundle.manifest import MANIFEST_FILE, Manifest, file_entry, parse_manifest
from edgedistill.bundle.reader import is_written_bundle
from edgedistill.fsutil import atomic_output_dir
from edgedistill.jsonio import write_json
from edgedistill.typed_config import from_mapping
from edgedistill.modeldir import LABELS_FILE, TOKENIZER_FILES
from edgedistill.profiles import SequencePolicy
from edgedistill.text.settings import tokenizer_settings
from edgedistill.text.vocab import VOCAB_FILE, wordpiece_vocab_text


def _ensure_vocab_txt(bundle_dir: Path) -> None:
    """Apps porting BertTokenizer need vocab.txt; transformers 5 no longer saves it beside tokenizer.json."""
    if (bundle_dir / VOCAB_FILE).is_file():
        return
    text = wordpiece_vocab_text(bundle_dir / "tokenizer.json")
    if text is not None:
        (bundle_dir / VOCAB_FILE).write_text(text, encoding="utf-8")


def bundle_name(student: str, runtime: str, recipe: str) -> str:
    return f"{student}-{runtime}-{recipe}"


def write_bundle(final_dir: Path, artifact: Path, model_name: str, student_dir: Path, golden: dict[str, Any],
                 manifest: dict[str, Any], verify: Callable[[Path], None] | None = None) -> Path:
    """Assemble the bundle in a scratch dir and move it into place only once it is complete (and verified).

    `manifest` holds every manifest field except `model`, `files`, `created_at` and `tokenizer`, which are filled
    here: the tokenizer settings are read off the bundle's own tokenizer files under the manifest's sequence policy.
    `verify` runs on the complete bundle in the scratch dir; if it raises, nothing is moved into place, so a
    bundle at `final_dir` has always passed it, even when the process is killed while it runs.
    """
    with atomic_output_dir(final_dir, is_written_bundle) as scratch:
        shutil.copyfile(artifact, scratch / model_name)
        for name in TOKENIZER_FILES + (LABELS_FILE,):
            if (Path(student_dir) / name).is_file():
                shutil.copyfile(Path(student_dir) / name, scratch / name)
        _ensure_vocab_txt(scratch)
        write_json(scratch / GOLDEN_FILE, golden)
        files = {path.name: dataclasses.asdict(file_entry(path))
                 for path in sorted(scratch.iterdir()) if path.is_file()}
        created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        sequence = from_mapping(SequencePolicy, manifest.get("sequence"), f"manifest of {final_dir.name} sequence")
        sequence.validate(f"manifest of {final_dir.name}")
        complete = {**manifest, "model": model_name, "files": files, "created_at": created_at,
                    "tokenizer": tokenizer_settings(scratch / "tokenizer.json", sequence)}
        checked: Manifest = parse_manifest(complete, f"manifest of {final_dir.name}")
        write_json(scratch / MANIFEST_FILE, checked.to_dict())
        if verify is not None:
            verify(scratch)
    return final_dir

