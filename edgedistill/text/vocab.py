"""`vocab.txt` for WordPiece tokenizers, which mobile tokenizers (e.g. BertTokenizer ports) load (torch-free)."""

from __future__ import annotations

import json
from pathlib import Path

VOCAB_FILE = "vocab.txt"


def wordpiece_vocab_text(tokenizer_json: Path) -> str | None:
    """The vocabulary as `vocab.txt` text (line i = token id i), or None if the tokenizer is not WordPiece."""
    model = json.loads(Path(tokenizer_json).read_text(encoding="utf-8")).get("model", {})
    if model.get("type") != "WordPiece":
        return None
    by_id = sorted(model["vocab"].items(), key=lambda item: item[1])
    if [token_id for _, token_id in by_id] != list(range(len(by_id))):
        return None
    return "".join(f"{token}\n" for token, _ in by_id)
