"""A WordPiece vocabulary cut down to the tokens a task uses, with the ids renumbered (torch-free).

WordPiece picks the longest vocabulary piece at each step, so a text whose tokens are all kept tokenizes to the
same pieces as before: every piece it used is still there and nothing longer was added. Other words fall back to
shorter kept pieces, or to [UNK]. Single characters seen in the texts are kept too, so any word made of seen
characters still splits into pieces rather than becoming [UNK]. A `min_count` above 1 also drops the tokens the texts
produce fewer times than that: their words then split into kept pieces, and what that costs is measured.
Items are texts, or sentences already split into words (token classification), which tokenize as the model reads them.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from typing import Any

from tokenizers import Tokenizer

from edgedistill.errors import UserError

_BATCH = 1024


Items = list[str] | list[list[str]]  # texts, or sentences split into words


def kept_token_ids(tokenizer: Tokenizer, vocab: dict[str, int], special_ids: set[int], items: Items,
                   min_count: int = 1) -> list[int]:
    """The ids to keep, ascending: the special tokens, every token the items produce at least `min_count` times,
    and seen characters."""
    counts: Counter[int] = Counter()
    seen_characters: set[str] = set()
    normalizer = tokenizer.normalizer
    for batch, encodings in _encoded(tokenizer, items):
        for encoding in encodings:
            counts.update(encoding.ids)
        for item in batch:
            text = item if isinstance(item, str) else " ".join(item)
            seen_characters.update(normalizer.normalize_str(text) if normalizer else text)
    kept = set(special_ids) | {token_id for token_id, count in counts.items() if count >= min_count}
    for token, token_id in vocab.items():
        piece = token[2:] if token.startswith("##") else token
        if len(piece) == 1 and piece in seen_characters:
            kept.add(token_id)
    return sorted(kept)


def wordpiece_parts(payload: dict[str, Any], where: str) -> tuple[dict[str, int], set[int]]:
    """The vocabulary and the special token ids of a WordPiece tokenizer.json; other models are refused."""
    model = payload.get("model") or {}
    if model.get("type") != "WordPiece":
        raise UserError(f"{where}: vocabulary pruning needs a WordPiece tokenizer (BERT, MiniLM, MPNet families); "
                        f"this one is {model.get('type') or 'unknown'}")
    special_ids = {token["id"] for token in payload.get("added_tokens", []) if token.get("special")}
    return dict(model["vocab"]), special_ids


def pruned_tokenizer_json(payload: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    """`payload` with only the `keep` ids, renumbered in their old order, everywhere an id is written."""
    new_id = {old: new for new, old in enumerate(keep)}
    pruned = copy.deepcopy(payload)
    pruned["model"]["vocab"] = {token: new_id[old] for token, old in payload["model"]["vocab"].items() if old in new_id}
    for token in pruned.get("added_tokens", []):
        token["id"] = _renumber(new_id, token["id"], token["content"])
    processor = pruned.get("post_processor") or {}
    if processor.get("type") == "TemplateProcessing":
        for name, special in processor["special_tokens"].items():
            special["ids"] = [_renumber(new_id, old, name) for old in special["ids"]]
    elif processor.get("type") in ("BertProcessing", "RobertaProcessing"):
        for key in ("sep", "cls"):
            token, old = processor[key]
            processor[key] = [token, _renumber(new_id, old, token)]
    elif processor:
        raise UserError(f"vocabulary pruning cannot renumber a {processor.get('type')} post-processor")
    if pruned.get("padding"):
        pruned["padding"]["pad_id"] = _renumber(new_id, pruned["padding"]["pad_id"], "the padding token")
    return pruned


def unknown_share(tokenizer: Tokenizer, unk_id: int, items: Items) -> float:
    """The share of the items' tokens that are [UNK] (special tokens not counted)."""
    unknown = total = 0
    for _, encodings in _encoded(tokenizer, items):
        for encoding in encodings:
            total += len(encoding.ids)
            unknown += encoding.ids.count(unk_id)
    return unknown / total if total else 0.0


def _encoded(tokenizer: Tokenizer, items: Items) -> Iterator[tuple[list, list]]:
    """Batches of items with their encodings, special tokens left out."""
    pretokenized = bool(items) and not isinstance(items[0], str)
    for start in range(0, len(items), _BATCH):
        batch = items[start:start + _BATCH]
        yield batch, tokenizer.encode_batch(batch, is_pretokenized=pretokenized, add_special_tokens=False)


def _renumber(new_id: dict[int, int], old: int, what: str) -> int:
    if old not in new_id:
        raise UserError(f"vocabulary pruning dropped {what} (id {old}), which the tokenizer needs")
    return new_id[old]
