"""Augmentation's generators: deterministic under the seed, negations kept, no held-out text made, cached by content."""

from __future__ import annotations

import pytest

from edgedistill.data import augment as augment_module
from edgedistill.data.augment import AugmentSettings, augment, cached_augment, render, vocabulary, words_of
from edgedistill.errors import UserError

TEXTS = ["the film is not a great achievement but it is never dull",
         "a warm , funny and moving story of two friends",
         "dull , tedious and far too long"]
NEIGHBOURS = {"great": ["superb", "fine"], "dull": ["boring"], "funny": ["witty", "amusing"], "film": ["movie"],
              "story": ["tale"], "moving": ["touching"], "friends": ["pals"], "tedious": ["tiresome"]}


def test_the_same_seed_gives_the_same_variants_and_another_seed_others():
    settings = AugmentSettings(copies=6)
    first = augment(TEXTS, settings, NEIGHBOURS, seed=13)
    assert first == augment(TEXTS, settings, NEIGHBOURS, seed=13)
    assert first != augment(TEXTS, settings, NEIGHBOURS, seed=14)
    assert 0 < len(first) <= 18 and len(set(first)) == len(first)
    # A text's variants depend on its content, not on its place in the data.
    assert set(augment(TEXTS[:1], settings, NEIGHBOURS, seed=13)) <= set(first)


def test_each_generator_does_only_its_own_change():
    words = words_of(TEXTS[0])
    masked = augment(TEXTS[:1], AugmentSettings(copies=8, mask=0.5, replace=0, ngram=0), NEIGHBOURS, seed=1)
    assert all(len(v) == len(words) and all(w in (None, o) for w, o in zip(v, words)) for v in masked)
    assert any(None in v for v in masked)
    replaced = augment(TEXTS[:1], AugmentSettings(copies=8, mask=0, replace=1, ngram=0), NEIGHBOURS, seed=1)
    assert all(w == o or w in NEIGHBOURS[o] for v in replaced for w, o in zip(v, words))
    cut = augment(TEXTS[:1], AugmentSettings(copies=8, mask=0, replace=0, ngram=1), NEIGHBOURS, seed=1)
    text = " ".join(words)
    assert all(2 <= len(v) <= 6 and " ".join(v) in text for v in cut)


def test_negations_are_never_masked_or_replaced():
    negated = ["not a good film , no , never"]
    variants = augment(negated, AugmentSettings(copies=20, mask=0.9, replace=0.1, ngram=0),
                       {"not": ["very"], "no": ["yes"], "never": ["always"]}, seed=3)
    assert variants and all(v.count("not") == v.count("no") == v.count("never") == 1 for v in variants)


def test_no_variant_equals_an_original_or_a_held_out_text():
    held_out = [("boring", ",", "tiresome", "and", "far", "too", "long")]
    settings = AugmentSettings(copies=10, mask=0, replace=1, ngram=0)
    variants = augment(TEXTS, settings, NEIGHBOURS, seed=5, held_out=held_out)
    originals = {tuple(words_of(text)) for text in TEXTS}
    assert not set(variants) & (originals | set(held_out))
    assert held_out[0] in augment(TEXTS, settings, NEIGHBOURS, seed=5)  # it is made when not held out


def test_each_model_reads_its_own_mask_token():
    variant = ("a", None, "film")
    assert render(variant, "[MASK]") == "a [MASK] film" and render(variant, "<mask>") == "a <mask> film"


def test_the_vocabulary_holds_content_words_only():
    assert vocabulary(TEXTS) == sorted({"film", "great", "achievement", "dull", "warm", "funny", "moving", "story",
                                        "two", "friends", "tedious", "far", "long"})


def test_a_cached_set_is_read_back_not_made_again(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEDISTILL_CACHE", str(tmp_path))
    settings = AugmentSettings(copies=4)
    made, path = cached_augment(TEXTS, settings, NEIGHBOURS, "table-1", seed=13)
    assert path.is_file() and made == augment(TEXTS, settings, NEIGHBOURS, seed=13)

    def fail(*args, **kwargs):
        raise AssertionError("made again")

    monkeypatch.setattr(augment_module, "augment", fail)
    assert cached_augment(TEXTS, settings, NEIGHBOURS, "table-1", seed=13) == (made, path)
    with pytest.raises(AssertionError, match="made again"):  # another neighbour table is another set
        cached_augment(TEXTS, settings, NEIGHBOURS, "table-2", seed=13)


@pytest.mark.parametrize("settings, message", [
    (AugmentSettings(copies=-1), "--augment must be >= 0"),
    (AugmentSettings(copies=2, mask=1.5), "mask must be a probability"),
    (AugmentSettings(copies=2, mask=0.6, replace=0.6), "mask \\+ replace must be at most 1"),
    (AugmentSettings(copies=2, mask=0, replace=0, ngram=0), "needs at least one generator"),
])
def test_bad_settings_are_one_line_errors(settings, message):
    with pytest.raises(UserError, match=message):
        settings.validate()
