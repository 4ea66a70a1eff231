"""Length-bucketed batches, dynamic padding and per-rank sharding."""

from __future__ import annotations

import numpy as np

from edgedistill.distill.batches import EncodedTexts, collate, inference_batches, training_batches
from edgedistill.distill.distributed import DistContext


def test_training_batches_cover_every_row_once_and_depend_only_on_seed_and_epoch():
    lengths = np.random.default_rng(0).integers(3, 60, size=1000)
    first = training_batches(lengths, 16, seed=1, epoch=1)
    assert sorted(np.concatenate(first).tolist()) == list(range(1000))

    def as_lists(batches):
        return [rows.tolist() for rows in batches]

    assert as_lists(first) == as_lists(training_batches(lengths, 16, seed=1, epoch=1))
    assert as_lists(first) != as_lists(training_batches(lengths, 16, seed=1, epoch=2))
    spread = np.mean([np.ptp(lengths[rows]) for rows in first])
    assert spread < 0.2 * np.ptp(lengths)  # bucketed: little padding inside a batch


def test_inference_batches_are_sorted_by_length():
    lengths = np.array([5, 1, 9, 3])
    assert [rows.tolist() for rows in inference_batches(lengths, 2)] == [[1, 3], [0, 2]]


def test_collate_pads_to_the_longest_text_of_the_batch():
    encoded = EncodedTexts(token_ids=[[2, 7, 3], [2, 3], [2, 8, 8, 8, 3]], pad_id=0)
    batch = collate(encoded, np.array([1, 0]))
    assert batch.input_ids.tolist() == [[2, 3, 0], [2, 7, 3]]
    assert batch.attention_mask.tolist() == [[1, 1, 0], [1, 1, 1]]
    assert batch.rows.tolist() == [1, 0]


def test_shards_have_equal_counts_and_cover_all_batches():
    batches = list(range(7))
    shards = [DistContext(rank=rank, world_size=3).shard(batches) for rank in range(3)]
    assert [len(shard) for shard in shards] == [3, 3, 3]
    assert set().union(*shards) == set(batches)
