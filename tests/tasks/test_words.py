"""First-sub-token alignment and the torch-free decoder an app mirrors."""

import numpy as np

from edgedistill.tasks.words import (
    decode_entities,
    first_subtokens,
    word_tags,
)

# [CLS] Jo ##hn lives in New York [SEP] [PAD]
WORD_IDS = [None, 0, 0, 1, 2, 3, 4, None, None]
TAGS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def test_first_subtokens_skip_specials_padding_and_continuations():
    assert first_subtokens(WORD_IDS) == [1, 3, 4, 5, 6]


def test_decoder_reads_the_first_subtoken_and_maps_spans_back_to_words():
    logits = np.full((len(WORD_IDS), len(TAGS)), -5.0, dtype=np.float32)
    for position, tag in {1: 3, 2: 1, 3: 0, 4: 0, 5: 1, 6: 2}.items():  # position 2's B-LOC must be ignored
        logits[position, tag] = 5.0
    tags = word_tags(logits, WORD_IDS, TAGS, num_words=6)  # a sixth word was cut off by truncation
    assert tags == ["B-PER", "O", "O", "B-LOC", "I-LOC", "O"]
    words = ["John", "lives", "in", "New", "York", "today"]
    assert decode_entities(words, tags) == [{"type": "PER", "start": 0, "end": 0, "text": "John"},
                                            {"type": "LOC", "start": 3, "end": 4, "text": "New York"}]


def test_torch_free_word_encoding_matches_the_training_tokenizer(tmp_path):
    """The runtime side (tokenizers only) must give the same ids and word ids as training (transformers) did."""
    from edgedistill.distill.batches import load_tokenizer
    from edgedistill.distill.token_task import encode_words
    from edgedistill.text.encode import TextEncoder
    from tests.tiny import TAGGED_WORDS, save_tiny_encoder

    sentences = [["Alice", "visited", "Paris"], ["the", "plot", "unheardofword", "bob"], ["Rome"]]
    for family in ("bert", "mpnet"):
        path = save_tiny_encoder(tmp_path / family, family=family, extra_words=TAGGED_WORDS)
        trained = encode_words(load_tokenizer(path, words=True), sentences, max_length=6)
        ids, mask, word_ids = TextEncoder(path / "tokenizer.json", max_length=6).encode_words(sentences)
        for row in range(len(sentences)):
            length = int(mask[row].sum())
            assert ids[row, :length].tolist() == trained.token_ids[row]
            assert first_subtokens(word_ids[row]) == trained.word_positions[row]
