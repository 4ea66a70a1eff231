"""One distillation run's augmented set: the neighbour table from the teacher, the variants of the labelled
training texts (`data.augment`, cached by content), and each variant as the teacher and the student read it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgedistill.data.augment import cached_augment, render, vocabulary, words_of
from edgedistill.distill.config import DistillConfig
from edgedistill.distill.console import log
from edgedistill.distill.distributed import DistContext
from edgedistill.distill.neighbours import neighbour_table
from edgedistill.errors import UserError


@dataclass
class AugmentedSet:
    teacher_texts: list[str] = field(default_factory=list)
    student_texts: list[str] = field(default_factory=list)
    record: dict | None = None  # for metrics.json: the settings, the count and the cached file


def augmented_set(ctx: DistContext, config: DistillConfig, texts: list[str], held_out: list[str],
                  tokenizers: tuple) -> AugmentedSet:
    """`config.augment` variants of each of `texts`, none equal to a `held_out` text; rank 0 builds the neighbour
    table and the variants once, the other ranks then read them from the cache."""
    settings = config.augment_settings
    if not settings.copies:
        return AugmentedSet()
    student_mask, teacher_mask = (mask_token(tokenizer, whose) if settings.mask else "" for tokenizer, whose in
                                  zip(tokenizers, ("the student's tokenizer", "the teacher's tokenizer")))
    if ctx.is_main:
        _build(config, texts, held_out)
    ctx.barrier()
    variants, path = _build(config, texts, held_out)
    log(f"augment: {len(variants)} variants of {len(texts)} labelled texts ({path})", ctx.is_main)
    return AugmentedSet([render(variant, teacher_mask) for variant in variants],
                        [render(variant, student_mask) for variant in variants],
                        {**asdict(settings), "seed": config.seed, "variants": len(variants), "file": str(path)})


def _build(config: DistillConfig, texts: list[str], held_out: list[str]):
    table, table_key = neighbour_table(Path(config.teacher), vocabulary(texts)) if config.augment_replace else ({}, "")
    return cached_augment(texts, config.augment_settings, table, table_key, config.seed,
                          [tuple(words_of(text)) for text in held_out])


def mask_token(tokenizer, whose: str) -> str:
    """The token a masked word becomes for this tokenizer ([MASK], <mask>, ...)."""
    if not tokenizer.mask_token:
        raise UserError(f"{whose} has no mask token; set augment_mask = 0 to augment without masking")
    return tokenizer.mask_token
