"""The word-replacement generator's neighbour table, built from the teacher itself.

Offline there is no GloVe and no MLM head, so each vocabulary word is read by the teacher alone, as
a one-word text, and described by the mean of its sub-tokens' hidden states in the middle layer; a
word's neighbours are the words nearest to it by cosine. The middle layer is used because the last
layers of a fine-tuned classifier sort words by label (every positive adjective near every other)
and the input embeddings by spelling (`film`, `films`, `filmed`). The table is cached per teacher
and vocabulary, so every seed and student reuses it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from edgedistill.distill.batches import EncodedTexts, collate, inference_batches, load_tokenizer
from edgedistill.distill.console import log, progress
from edgedistill.distill.teacher_cache import cache_dir, teacher_key
from edgedistill.fsutil import atomic_write_bytes

NEIGHBOURS = 15  # TinyBERT's top-15 candidates
BATCH_SIZE = 256
SIMILARITY_ROWS = 1024  # rows of the similarity matrix at a time


def neighbour_table(teacher_dir: Path, words: list[str], k: int = NEIGHBOURS) -> tuple[dict[str, list[str]], str]:
    """{word: its k nearest words} for `words`, from the teacher in `teacher_dir`, and the table's cache key."""
    digest = hashlib.sha256(f"{teacher_key(teacher_dir, 0)}:{k}\n".encode())
    for word in words:
        digest.update(word.encode("utf-8", "surrogatepass") + b"\n")
    key = digest.hexdigest()
    path = cache_dir().parent / "neighbours" / f"{key}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8")), key
    log(f"neighbour table: reading {len(words)} words with the teacher")
    vectors = word_vectors(teacher_dir, words)
    nearest = nearest_neighbours(vectors, k)
    table = {word: [words[j] for j in row] for word, row in zip(words, nearest)}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(table, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return table, key


def word_vectors(teacher_dir: Path, words: list[str]) -> np.ndarray:
    """Unit vectors [words, hidden]: each word's mean middle-layer state over its own sub-tokens."""
    from edgedistill.model.classifiers import load_trained_classifier

    tokenizer = load_tokenizer(teacher_dir)
    encoded = tokenizer(words, add_special_tokens=True, return_attention_mask=False, return_special_tokens_mask=True)
    tokens = EncodedTexts(encoded["input_ids"], tokenizer.pad_token_id or 0)
    special = encoded["special_tokens_mask"]
    model = load_trained_classifier(teacher_dir)
    out = np.zeros((len(words), model.config.hidden_size), dtype=np.float32)
    layer = (model.config.num_hidden_layers + 1) // 2
    with torch.inference_mode():
        for rows in progress(inference_batches(tokens.lengths, BATCH_SIZE), "neighbour table"):
            batch = collate(tokens, rows)
            hidden = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                           output_hidden_states=True).hidden_states[layer]
            keep = batch.attention_mask.clone()
            for position, row in enumerate(rows):
                keep[position, :len(special[row])] *= 1 - torch.tensor(special[row])
            pooled = (hidden * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp(min=1)
            out[rows] = pooled.float().numpy()
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def nearest_neighbours(vectors: np.ndarray, k: int) -> np.ndarray:
    """[rows, k] indices of each unit vector's k most cosine-similar others, nearest first; ties go to the lower index."""
    k = min(k, len(vectors) - 1)
    nearest = np.zeros((len(vectors), max(k, 0)), dtype=np.int64)
    if k <= 0:
        return nearest
    for start in range(0, len(vectors), SIMILARITY_ROWS):
        similarity = vectors[start:start + SIMILARITY_ROWS] @ vectors.T
        rows = np.arange(similarity.shape[0])
        similarity[rows, rows + start] = -np.inf
        candidates = np.argpartition(-similarity, k, axis=1)[:, :k + 1]
        for row, chosen in enumerate(candidates):
            order = np.lexsort((chosen, -similarity[row, chosen]))
            nearest[start + row] = chosen[order][:k]
    return nearest
