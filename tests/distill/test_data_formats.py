"""Data files are read the way their formats define them: CSV quoting, JSONL lines, long fields."""

from __future__ import annotations

import csv
import json

import pytest

from edgedistill.data.sources import read_labelled, read_unlabelled
from edgedistill.errors import UserError


def test_a_quoted_csv_field_keeps_its_line_break(tmp_path):
    path = tmp_path / "data.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["text", "label"], ["first line\nsecond line", "pos"], ["dull", "neg"]])
    texts, labels = read_labelled(str(path), "text", "label")
    assert texts == ["first line\nsecond line", "dull"] and labels == ["pos", "neg"]


def test_jsonl_lines_end_at_newline_only(tmp_path):
    path = tmp_path / "data.jsonl"
    rows = [{"text": "one\u2028two\u2029three\x85four", "label": "pos"}, {"text": "dull", "label": "neg"}]
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n", encoding="utf-8")
    texts, _ = read_labelled(str(path), "text", "label")
    assert texts == ["one\u2028two\u2029three\x85four", "dull"]
    transfer = tmp_path / "transfer.txt"
    transfer.write_text("a\u2028b\r\nc\n", encoding="utf-8")
    assert read_unlabelled(str(transfer), "text") == ["a\u2028b", "c"]


def test_a_long_csv_field_is_read(tmp_path):
    path = tmp_path / "long.csv"
    long_text = "word " * 400_000  # 2 MB, past csv's default 128 KiB field limit
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["text", "label"], [long_text, "pos"], ["dull", "neg"]])
    texts, _ = read_labelled(str(path), "text", "label")
    assert texts[0] == long_text.strip()


def test_malformed_csv_is_one_line_of_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('text,label\n"unclosed quote,pos\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.csv: not valid CSV near line \d") as excinfo:
        read_labelled(str(path), "text", "label")
    assert "\n" not in str(excinfo.value)


def test_files_are_streamed_line_by_line_with_bom_and_bad_bytes_located(tmp_path, monkeypatch):
    from pathlib import Path

    def whole_file_read(*_args, **_kwargs):
        raise AssertionError("a data file was read whole")

    monkeypatch.setattr(Path, "read_bytes", whole_file_read)
    monkeypatch.setattr(Path, "read_text", whole_file_read)
    data = tmp_path / "d.csv"
    data.write_bytes(b"\xef\xbb\xbftext,label\r\n\"multi\r\nline\",pos\r\ndull,neg\r\n")
    assert read_labelled(str(data), "text", "label") == (["multi\r\nline", "dull"], ["pos", "neg"])
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"text": "fine", "label": "pos"}\n{"text": "caf\xe9", "label": "neg"}\n')
    with pytest.raises(UserError, match=r"not UTF-8 text \(bad byte 0xe9 on line 2\)"):
        read_labelled(str(bad), "text", "label")
