"""`teacher_logits`: computed once per text for each (teacher, max_length), then read back from safetensors."""

from __future__ import annotations

import numpy as np
import torch

from edgedistill.distill.batches import encode_texts, load_tokenizer
from edgedistill.distill.teacher_cache import cache_dir, teacher_logits
from edgedistill.model.classifiers import load_trained_classifier

TEXTS = ["a great and moving film", "dull", "the plot was tedious and the acting bland but the ending was superb"]


def test_logits_match_unpadded_teacher_runs_and_are_cached_per_text(tiny_teacher, capsys):
    before = set(cache_dir().glob("*.safetensors"))
    logits = teacher_logits(tiny_teacher, TEXTS, max_length=16)
    assert logits.dtype == np.float32 and logits.shape == (3, 2)

    model = load_trained_classifier(tiny_teacher)
    encoded = encode_texts(load_tokenizer(tiny_teacher), TEXTS, 16)
    with torch.inference_mode():
        for token_ids, row in zip(encoded.token_ids, logits):
            np.testing.assert_allclose(row, model(input_ids=torch.tensor([token_ids])).logits[0].numpy(), atol=1e-5)

    capsys.readouterr()
    np.testing.assert_array_equal(teacher_logits(tiny_teacher, TEXTS[::-1], max_length=16), logits[::-1])
    assert "all 3 texts cached" in capsys.readouterr().err
    more = teacher_logits(tiny_teacher, ["the acting was charming", *TEXTS], max_length=16)
    assert "computing 1 of 4 texts (3 cached)" in capsys.readouterr().err
    np.testing.assert_array_equal(more[1:], logits)
    teacher_logits(tiny_teacher, TEXTS, max_length=8)
    assert len(set(cache_dir().glob("*.safetensors")) - before) == 2
