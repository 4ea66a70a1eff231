"""Deterministic, stratified train/validation/test splits with one saved label map."""

from __future__ import annotations

import random
from collections import defaultdict

from edgedistill.data.dataset import DataSpec, LabelledTexts, Splits
from edgedistill.data.sources import read_labelled, read_unlabelled
from edgedistill.errors import UserError


def label_order(raw_labels: list[str]) -> list[str]:
    """Sorted label names; numeric labels sort by value."""
    names = set(raw_labels)
    try:
        return sorted(names, key=float)
    except ValueError:
        return sorted(names)


def load_splits(spec: DataSpec, label_names: list[str] | None = None) -> Splits:
    """Read `spec.source` and split it; with `label_names`, reuse a saved label map."""
    texts, raw = read_labelled(spec.source, spec.text_column, spec.label_column)
    if not texts:
        raise UserError(f"{spec.source}: the dataset is empty")
    names = list(label_names) if label_names else label_order(raw)
    if len(set(raw)) < 2:
        raise UserError(f"{spec.source}: only one class ({raw[0]!r}); a classifier needs at least two")
    _check_known(raw, names, spec.source)
    index = {name: i for i, name in enumerate(names)}
    ids = [index[label] for label in raw]
    if spec.test_source:
        test_texts, test_raw = read_labelled(spec.test_source, spec.text_column, spec.label_column)
        _check_known(test_raw, names, spec.test_source, seen_in="training")
        train, validation, _ = _stratified(texts, ids, spec.validation_fraction, 0.0, spec.seed, names)
        test = LabelledTexts(test_texts, [index[label] for label in test_raw])
    else:
        train, validation, test = _stratified(texts, ids, spec.validation_fraction, spec.test_fraction, spec.seed, names)
    return Splits(train, validation, test, names)


def load_unlabelled(source: str, text_column: str = "text", limit: int | None = None, seed: int = 13) -> list[str]:
    """Unlabelled texts for a transfer set, de-duplicated and optionally sampled down to `limit`."""
    if limit is not None and limit < 1:
        raise UserError(f"--transfer-limit must be at least 1 (got {limit}); leave it out to use every text")
    texts = list(dict.fromkeys(read_unlabelled(source, text_column)))
    if not texts:
        raise UserError(f"{source}: the transfer set is empty")
    if limit is not None and len(texts) > limit:
        texts = random.Random(seed).sample(texts, limit)
    return texts


def load_transfer(source: str, text_column: str, limit: int | None, seed: int,
                  held_out: list[str]) -> tuple[list[str], int]:
    """The transfer set as distill uses it: sampled as `load_unlabelled` does, minus any text of the validation or
    test split (no leakage); returns the texts and how many were dropped."""
    texts = load_unlabelled(source, text_column=text_column, limit=limit, seed=seed)
    held_out_set = set(held_out)
    kept = [text for text in texts if text not in held_out_set]
    return kept, len(texts) - len(kept)


def _check_known(raw: list[str], names: list[str], source: str, seen_in: str = "the label map") -> None:
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise UserError(f"{source}: label {unknown[0]!r} is not in {seen_in} ({', '.join(names)})")


def _stratified(texts, ids, validation_fraction, test_fraction, seed, names):
    by_class: dict[int, list[int]] = defaultdict(list)
    for position, label in enumerate(ids):
        by_class[label].append(position)
    rng = random.Random(seed)
    parts: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    needed = 1 + (validation_fraction > 0) + (test_fraction > 0)
    for label, positions in sorted(by_class.items()):
        if len(positions) < needed:
            raise UserError(f"class {names[label]!r} has {len(positions)} example(s); each class needs at least "
                            f"{needed} so that it appears in every split")
        rng.shuffle(positions)
        n_test = max(1, round(len(positions) * test_fraction)) if test_fraction > 0 else 0
        n_val = max(1, round(len(positions) * validation_fraction)) if validation_fraction > 0 else 0
        parts["test"] += positions[:n_test]
        parts["validation"] += positions[n_test:n_test + n_val]
        parts["train"] += positions[n_test + n_val:]
    result = []
    for name in ("train", "validation", "test"):
        chosen = sorted(parts[name])
        result.append(LabelledTexts([texts[i] for i in chosen], [ids[i] for i in chosen]))
    return result
