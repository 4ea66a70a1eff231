"""Teacher-labelled augmentation: variants of each labelled training text, made by three generators.

- masking: each word becomes the reading tokenizer's mask token with probability `mask`;
- replacement: each content word becomes one of its nearest neighbours with probability `replace`;
- n-gram sampling: with probability `ngram` the variant keeps only a random run of 2-6 of its words.

This is the TinyBERT / Tang et al. recipe without an MLM or GloVe: the neighbour table comes from the
teacher itself (`distill.neighbours`). Negations and function words are never replaced, and negations
are never masked, so a variant still says what it says. The teacher labels every variant anyway.

A variant is kept as its words with `None` where a mask goes: each model reads it with its own mask
token (`render`), so the teacher's `<mask>` and a student's `[MASK]` stand at the same place.
Generation is a pure function of the texts, the settings, the neighbour table and the seed: every
text draws from its own generator, seeded by its content, so the same command gives the same variants.
Distillation trains on them; the export gate reads the same set as unlabelled in-domain text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_write_bytes, user_cache_root

Variant = tuple[str | None, ...]
NEGATIONS = frozenset("not no never nor n't cannot without none nothing nobody neither hardly barely".split())
# Words whose replacement changes grammar, not content (TinyBERT keeps its stop words too).
FUNCTION_WORDS = frozenset("""
a an the and or but if of to in on at by for with from as is are was were be been being am do does did
has have had this that these those it its it's he she they them his her their we us our you your i me my
which who whom whose what when where why how than then so such too very can could will would shall should
may might must 's 're 've 'll 'd . , ! ? ; : - -- ' " ( ) ...""".split())
PROTECTED = NEGATIONS | FUNCTION_WORDS
# Tries per variant to draw one that differs from the original and from the variants before it.
DRAWS_PER_VARIANT = 4


@dataclass(frozen=True)
class AugmentSettings:
    """How many variants of each text, and each generator's one knob."""

    copies: int = 0  # variants per labelled training text; 0: no augmentation
    mask: float = 0.1  # per word
    replace: float = 0.3  # per content word that has neighbours
    ngram: float = 0.25  # per variant
    ngram_min: int = 2
    ngram_max: int = 6

    def validate(self) -> None:
        if self.copies < 0:
            raise UserError(f"--augment must be >= 0 variants per text (got {self.copies})")
        for name in ("mask", "replace", "ngram"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise UserError(f"augment {name} must be a probability in [0, 1] (got {value})")
        if self.mask + self.replace > 1:
            raise UserError(f"augment mask + replace must be at most 1 (got {self.mask} + {self.replace})")
        if not 1 <= self.ngram_min <= self.ngram_max:
            raise UserError(f"augment n-gram sizes must satisfy 1 <= min <= max (got {self.ngram_min}, {self.ngram_max})")
        if self.copies and self.mask == self.replace == self.ngram == 0:
            raise UserError("--augment needs at least one generator: mask, replace or ngram above 0")


def words_of(text: str) -> list[str]:
    """A text's words as the generators see them: split on whitespace."""
    return text.split()


def render(variant: Variant, mask_token: str) -> str:
    """The variant as text for a model whose mask token is `mask_token`."""
    return " ".join(mask_token if word is None else word for word in variant)


def replaceable(word: str) -> bool:
    """Whether a word may be swapped for a neighbour: a content word of letters."""
    return word.lower() not in PROTECTED and any(character.isalpha() for character in word)


def vocabulary(texts: Iterable[str]) -> list[str]:
    """The distinct replaceable words of `texts`, sorted: the words a neighbour table needs."""
    return sorted({word for text in texts for word in words_of(text) if replaceable(word)})


def augment(texts: list[str], settings: AugmentSettings, neighbours: Mapping[str, list[str]], seed: int,
            held_out: Iterable[Variant] = ()) -> list[Variant]:
    """`settings.copies` distinct variants of each text, in text order; a variant equal to its original, to an
    earlier variant or to a `held_out` text (validation and test, as words) is drawn again, then dropped."""
    taken = set(map(tuple, held_out)) | {tuple(words_of(text)) for text in texts}
    variants: list[Variant] = []
    for text in texts:
        words = words_of(text)
        rng = np.random.default_rng([seed, *_content_seed(text)])
        for _ in range(settings.copies):
            for _attempt in range(DRAWS_PER_VARIANT):
                variant = _variant(words, settings, neighbours, rng)
                if variant and variant not in taken:
                    taken.add(variant)
                    variants.append(variant)
                    break
    return variants


def _variant(words: list[str], settings: AugmentSettings, neighbours: Mapping[str, list[str]],
             rng: np.random.Generator) -> Variant:
    out: list[str | None] = []
    for word, draw in zip(words, rng.random(len(words))):
        candidates = neighbours.get(word) if replaceable(word) else None
        if draw < settings.mask and word.lower() not in NEGATIONS:
            out.append(None)
        elif candidates and draw < settings.mask + settings.replace:
            out.append(candidates[int(rng.integers(len(candidates)))])
        else:
            out.append(word)
    if len(out) > settings.ngram_min and rng.random() < settings.ngram:
        size = int(rng.integers(settings.ngram_min, min(settings.ngram_max, len(out)) + 1))
        start = int(rng.integers(0, len(out) - size + 1))
        out = out[start:start + size]
    return tuple(out)


def _content_seed(text: str) -> list[int]:
    """Four 32-bit words of the text's sha256: a text's variants do not depend on where it sits in the data."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


def augmented_set_key(texts: list[str], settings: AugmentSettings, neighbours_key: str, seed: int,
                      held_out: list[Variant]) -> str:
    """sha256 over what the variants depend on: the texts, the settings, the neighbour table, the seed and the
    held-out texts they must avoid."""
    digest = hashlib.sha256(json.dumps({"settings": asdict(settings), "neighbours": neighbours_key, "seed": seed},
                                       sort_keys=True).encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\n")
    digest.update(b"held out\n")
    for words in held_out:
        digest.update(json.dumps(words, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()


def augmented_cache_path(key: str) -> Path:
    """`augmented/<key>.json` under edgedistill's cache."""
    return user_cache_root() / "augmented" / f"{key}.json"


def cached_augment(texts: list[str], settings: AugmentSettings, neighbours: Mapping[str, list[str]],
                   neighbours_key: str, seed: int, held_out: Iterable[Variant] = ()) -> tuple[list[Variant], Path]:
    """`augment`, read from the cache when this exact set was made before; returns the variants and their file."""
    held_out = [tuple(words) for words in held_out]
    path = augmented_cache_path(augmented_set_key(texts, settings, neighbours_key, seed, held_out))
    if path.is_file():
        return [tuple(variant) for variant in json.loads(path.read_text(encoding="utf-8"))["variants"]], path
    variants = augment(texts, settings, neighbours, seed, held_out)
    payload = {"settings": asdict(settings), "seed": seed, "neighbours": neighbours_key, "variants": variants}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return variants, path


def read_augmented(path: Path, mask_token: str) -> list[str]:
    """The variants of a cached augmented set, rendered for a model whose mask token is `mask_token`."""
    stored = json.loads(Path(path).read_text(encoding="utf-8"))
    return [render(tuple(variant), mask_token) for variant in stored["variants"]]
