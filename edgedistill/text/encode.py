"""Turn texts into the int64 `input_ids`/`attention_mask` arrays every artifact takes (torch-free)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from edgedistill.errors import UserError


class TextEncoder:
    """Tokenize with the model's own `tokenizer.json`, truncating to `max_length`."""

    def __init__(self, tokenizer_json: Path, max_length: int):
        if not Path(tokenizer_json).is_file():
            raise UserError(f"tokenizer file {tokenizer_json} not found")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.max_length = max_length
        self.pad_id = _pad_id(self.tokenizer, Path(tokenizer_json))

    def encode(self, texts: list[str], pad_to: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encode a batch, padded to the longest text or to `pad_to`."""
        encodings = self.tokenizer.encode_batch(list(texts))
        width = pad_to or max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            length = min(len(encoding.ids), width)
            ids[row, :length] = encoding.ids[:length]
            mask[row, :length] = 1
        return ids, mask


def _pad_id(tokenizer: Tokenizer, tokenizer_json: Path) -> int:
    """The padding id: from the tokenizer's padding, else tokenizer_config.json's pad_token (MPNet's is
    `<pad>` = 1, and MPNet derives position ids from it), else `[PAD]`, else 0."""
    if tokenizer.padding:
        return tokenizer.padding["pad_id"]
    config_path = tokenizer_json.with_name("tokenizer_config.json")
    if config_path.is_file():
        token = json.loads(config_path.read_text(encoding="utf-8")).get("pad_token")
        token = token.get("content") if isinstance(token, dict) else token
        if isinstance(token, str) and tokenizer.token_to_id(token) is not None:
            return tokenizer.token_to_id(token)
    return tokenizer.token_to_id("[PAD]") or 0
