import json
from collections import Counter

import pytest

from edgedistill.data import load_splits
from edgedistill.data.tagged import load_tagged_splits
from edgedistill.errors import UserError
from edgedistill.export.calibration import (
    calibration_dir,
    calibration_texts,
    stratified_sample,
)
from edgedistill.modeldir import read_data_spec


def test_stratified_sample_keeps_class_shares_and_is_seeded():
    texts = [f"t{i}" for i in range(1000)]
    labels = [0] * 750 + [1] * 250
    sample = stratified_sample(texts, labels, 200)
    assert len(sample) == 200 == len(set(sample))
    assert Counter(labels[int(t[1:])] for t in sample) == {0: 150, 1: 50}
    assert sample == stratified_sample(texts, labels, 200)


def test_default_is_a_sample_of_the_train_split(tiny_student_dir):
    train = load_splits(read_data_spec(tiny_student_dir)).train
    texts = calibration_texts(None, train, limit=50)
    assert len(texts) == 50 and set(texts) <= set(train.texts)


def test_a_token_classifiers_default_is_its_train_sentences_joined(tiny_tagger_dir):
    spec = read_data_spec(tiny_tagger_dir)
    train = load_tagged_splits(spec.source, spec.test_source, spec.seed, spec.validation_fraction,
                               spec.test_fraction).train
    texts = calibration_texts(None, train, limit=50)
    assert len(texts) == 50 and set(texts) <= {" ".join(words) for words in train.tokens}


def test_shipped_set_by_name_and_a_user_file(tiny_student_dir, tmp_path):
    shipped = calibration_texts("mr-polarity", load_splits(read_data_spec(tiny_student_dir)).train)
    lines = (calibration_dir() / "mr-polarity.jsonl").read_text().splitlines()
    assert len(shipped) == 200 == len(lines) and shipped[0] == json.loads(lines[0])["text"]
    user = tmp_path / "calib.txt"
    user.write_text("one text\n\nanother text\n")
    assert calibration_texts(str(user), None) == ["one text", "another text"]


def test_unknown_set_lists_the_shipped_ones(tiny_student_dir):
    with pytest.raises(UserError, match="unknown calibration set 'nope'.*mr-polarity"):
        calibration_texts("nope", None)
