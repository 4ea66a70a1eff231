"""The neighbour table: cosine neighbours, nearest first, from the teacher's own reading of each word; cached."""

from __future__ import annotations

import numpy as np
import pytest

from edgedistill.distill import neighbours
from edgedistill.distill.neighbours import nearest_neighbours, neighbour_table


def test_nearest_neighbours_by_cosine_nearest_first_ties_to_the_lower_index():
    vectors = np.array([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1], [0.8, 0.6]], dtype=np.float32)
    nearest = nearest_neighbours(vectors, k=2)
    assert nearest.tolist() == [[1, 4], [4, 2], [1, 4], [2, 1], [1, 2]]
    assert nearest_neighbours(vectors[:2], k=15).tolist() == [[1], [0]]


def test_the_table_comes_from_the_teacher_once(tiny_teacher, monkeypatch):
    words = ["great", "dull", "film", "moving", "boring", "superb"]
    table, key = neighbour_table(tiny_teacher, words, k=3)
    assert set(table) == set(words) and all(len(found) == 3 and word not in found for word, found in table.items())

    def fail(*args, **kwargs):
        raise AssertionError("read the words again")

    monkeypatch.setattr(neighbours, "word_vectors", fail)
    assert neighbour_table(tiny_teacher, words, k=3) == (table, key)
    with pytest.raises(AssertionError, match="read the words again"):  # another k is another table
        neighbour_table(tiny_teacher, words, k=2)
