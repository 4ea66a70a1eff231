"""The exact tokenizer settings a bundle's inputs are made with, as the manifest records them for an app (torch-free).

Each setting is read off what `TextEncoder` does, not off what a config file claims: lowercasing and accent
stripping from the normalizer's output, the added special tokens from encoding a one-token text, truncation and
the padding id from the encoder itself, and the padding widths from the sequence policy that check and bench use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgedistill.profiles import SequencePolicy
from edgedistill.text.encode import TextEncoder, config_token
from edgedistill.text.vocab import VOCAB_FILE

SPECIAL_ROLES = ("cls", "sep", "pad", "unk", "mask")


def tokenizer_settings(tokenizer_json: Path, sequence: SequencePolicy) -> dict[str, Any]:
    """What an app must reproduce to feed the model the ids the bundle was measured with."""
    encoder = TextEncoder(tokenizer_json, sequence.longest)
    tokenizer = encoder.tokenizer
    normalize = tokenizer.normalizer.normalize_str if tokenizer.normalizer else (lambda text: text)
    before, after = _added_tokens(encoder)
    return {
        "file": Path(tokenizer_json).name,
        "vocab_file": VOCAB_FILE if Path(tokenizer_json).with_name(VOCAB_FILE).is_file() else None,
        "model": type(tokenizer.model).__name__,
        "vocab_size": tokenizer.get_vocab_size(),
        "lowercase": normalize("A") == "a",
        "strip_accents": normalize("é") in ("e", "E"),
        "max_length": sequence.longest,
        "truncation": {"side": "right", "strategy": "longest_first", "counts_special_tokens": True},
        "padding": {"side": "right", "pad_id": encoder.pad_id,
                    "strategy": "smallest_bucket" if sequence.policy == "fixed" else "longest",
                    "buckets": sorted(sequence.buckets)},
        "added_tokens": {"before": before, "after": after},
        "special_tokens": _special_tokens(encoder, Path(tokenizer_json), before, after),
    }


def _added_tokens(encoder: TextEncoder) -> tuple[list[int], list[int]]:
    """The ids the post-processor puts before and after a text, from encoding a one-token text untruncated."""
    encoder.tokenizer.no_truncation()
    probe = encoder.tokenizer.encode("a")
    encoder.tokenizer.enable_truncation(encoder.max_length)
    text = [i for i, sequence_id in enumerate(probe.sequence_ids) if sequence_id is not None] or [len(probe.ids)]
    return probe.ids[:text[0]], probe.ids[text[-1] + 1:]


def _special_tokens(encoder: TextEncoder, tokenizer_json: Path, before: list[int],
                    after: list[int]) -> dict[str, dict[str, Any]]:
    """{role: {token, id}} for the roles this tokenizer has. pad is the id the encoder pads with; the others are
    named by tokenizer_config.json, and without it the tokens added around a text stand for cls and sep, and the
    model's own unknown token for unk."""
    tokenizer = encoder.tokenizer
    unk = getattr(tokenizer.model, "unk_token", None)
    fallback = {"cls": before[:1], "sep": after[-1:], "unk": [tokenizer.token_to_id(unk)] if unk else []}
    roles = {}
    for role in SPECIAL_ROLES:
        token = config_token(tokenizer_json, f"{role}_token")
        token_id = encoder.pad_id if role == "pad" else tokenizer.token_to_id(token) if token is not None else None
        if token_id is None:
            token_id = next(iter(fallback.get(role, [])), None)
        if token_id is not None:
            roles[role] = {"token": tokenizer.id_to_token(token_id), "id": token_id}
    return roles
