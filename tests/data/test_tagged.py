"""Tagged sentences: CoNLL columns, JSON lines, builtin:conll2003, and one-line errors for bad files."""

import json

import pytest

from edgedistill.data.tagged import load_tagged_splits, read_tagged, tag_order
from edgedistill.errors import UserError

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
"""


def test_conll_columns_take_the_first_and_last_and_split_at_blank_lines(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text(CONLL)
    sentences = read_tagged(path)
    assert sentences.tokens == [["EU", "rejects", "German"], ["Peter", "Blackburn"]]
    assert sentences.tags == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"]]


def test_jsonl_and_conll_give_the_same_sentences(tmp_path):
    conll, jsonl = tmp_path / "a.conll", tmp_path / "a.jsonl"
    conll.write_text(CONLL)
    first = read_tagged(conll)
    jsonl.write_text("".join(json.dumps({"tokens": w, "tags": t}) + "\n" for w, t in zip(first.tokens, first.tags)))
    second = read_tagged(jsonl)
    assert (second.tokens, second.tags) == (first.tokens, first.tags)


@pytest.mark.parametrize("name, content, message", [
    ("bad.conll", "EU\n", "line 1 has one column"),
    ("bad.conll", "EU NNP E-ORG\n", "line 1 has tag 'E-ORG'"),
    ("bad.conll", "\n\n", "no tagged sentences"),
    ("bad.jsonl", '{"tokens": ["a", "b"], "tags": ["O"]}\n', "line 1 needs non-empty"),
    ("bad.jsonl", "{not json\n", "line 1 is not valid JSON"),
])
def test_bad_files_are_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError, match=message) as error:
        read_tagged(path)
    assert "\n" not in str(error.value)


def test_user_file_splits_by_sentence_and_orders_tags(tmp_path):
    path = tmp_path / "all.jsonl"
    path.write_text("".join(json.dumps({"tokens": ["w"] * 3, "tags": ["B-PER", "I-PER", "O"] if i % 2 else
                                        ["B-LOC", "O", "O"]}) + "\n" for i in range(40)))
    splits = load_tagged_splits(str(path), seed=1)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (32, 4, 4)
    assert splits.tag_names == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"] == tag_order(["I-PER", "B-LOC", "O"])
    with pytest.raises(UserError, match="unsupported format"):
        load_tagged_splits(str(tmp_path / "all.csv"))


def test_builtin_conll2003_has_its_published_sizes_and_tags():
    splits = load_tagged_splits("builtin:conll2003")
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (14041, 3250, 3453)
    assert splits.tag_names == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
