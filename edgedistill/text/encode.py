"""Turn texts into the int64 `input_ids`/`attention_mask` arrays every artifact takes (torch-free)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from edgedistill.errors import UserError, first_line
from edgedistill.jsonio import read_json

# Characters kept per token of `max_length` before tokenizing. Truncation happens after tokenization, so an
# uncut 50 MB text took 57 s and 6.7 GB only to be cut to 128 tokens. Real words are far shorter than 100
# characters (WordPiece turns any longer word into a single [UNK]), so the tokens kept are the same.
CHARS_PER_TOKEN = 100


def clip_text(text: str, max_length: int) -> str:
    """The part of `text` that can reach the first `max_length` tokens."""
    return text[: max_length * CHARS_PER_TOKEN]


class TextEncoder:
    """Tokenize with the model's own `tokenizer.json`, truncating to `max_length`."""

    def __init__(self, tokenizer_json: Path, max_length: int):
        if not Path(tokenizer_json).is_file():
            raise UserError(f"tokenizer file {tokenizer_json} not found")
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        except Exception as exc:  # the tokenizers library raises a bare Exception for any malformed file
            raise UserError(f"{tokenizer_json} is not a valid tokenizer.json ({first_line(exc)})") from None
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.max_length = max_length
        self.pad_id = _pad_id(self.tokenizer, Path(tokenizer_json))

    def encode(self, texts: list[str], pad_to: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encode a batch, padded to the longest text or to `pad_to`."""
        encodings = self.tokenizer.encode_batch([clip_text(text, self.max_length) for text in texts])
        return self._padded([e.ids for e in encodings], pad_to or max(len(e.ids) for e in encodings))


    def encode_words(self, sentences: list[list[str]], pad_to: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, list[list[int | None]]]:
        """Encode pre-split words (token classification) like `encode`, plus each position's word index
        (None for special tokens and padding), which maps per-token logits back to words."""
        encodings = self.tokenizer.encode_batch(
            [[clip_text(word, self.max_length) for word in words] for words in sentences], is_pretokenized=True)
        width = pad_to or max(len(e.ids) for e in encodings)
        ids, mask = self._padded([e.ids for e in encodings], width)
        return ids, mask, [(list(e.word_ids) + [None] * width)[:width] for e in encodings]

    def _padded(self, rows: list[list[int]], width: int) -> tuple[np.ndarray, np.ndarray]:
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, token_ids in enumerate(rows):
            length = min(len(token_ids), width)
            ids[row, :length] = token_ids[:length]
            mask[row, :length] = 1
        return ids, mask


def _pad_id(tokenizer: Tokenizer, tokenizer_json: Path) -> int:
    """The padding id: from the tokenizer's padding, else tokenizer_config.json's pad_token (MPNet's is
    `<pad>` = 1, and MPNet derives position ids from it), else `[PAD]`, else 0."""
    if tokenizer.padding:
        return tokenizer.padding["pad_id"]
    token = config_token(tokenizer_json, "pad_token")
    if token is not None and tokenizer.token_to_id(token) is not None:
        return tokenizer.token_to_id(token)
    return tokenizer.token_to_id("[PAD]") or 0


def config_token(tokenizer_json: Path, key: str) -> str | None:
    """A special token named in tokenizer_config.json beside `tokenizer_json` (`pad_token`, `cls_token`, ...)."""
    config_path = Path(tokenizer_json).with_name("tokenizer_config.json")
    if not config_path.is_file():
        return None
    config = read_json(config_path, "tokenizer config")
    token = config.get(key) if isinstance(config, dict) else None
    token = token.get("content") if isinstance(token, dict) else token
    return token if isinstance(token, str) else None
