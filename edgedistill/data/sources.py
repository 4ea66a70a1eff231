"""Read raw (text, label) rows from a built-in corpus or a CSV, TSV or JSONL file."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from pathlib import Path

from edgedistill.data.builtin import read_mr_polarity, read_mr_review_sentences
from edgedistill.errors import UserError
from edgedistill.unicode_text import require_text

BUILTIN_PREFIX = "builtin:"
LABELLED_BUILTINS = {"mr-polarity": read_mr_polarity}
UNLABELLED_BUILTINS = {"mr-reviews": read_mr_review_sentences}
FILE_SUFFIXES = (".csv", ".tsv", ".jsonl")
CSV_FIELD_LIMIT = 64 * 1024 * 1024


def read_labelled(source: str, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    """Texts and raw label strings from `source`."""
    if source.startswith(BUILTIN_PREFIX):
        name = source[len(BUILTIN_PREFIX):]
        if name not in LABELLED_BUILTINS:
            raise UserError(f"unknown labelled built-in {source!r}; available: "
                            + ", ".join(BUILTIN_PREFIX + n for n in sorted(LABELLED_BUILTINS)))
        return LABELLED_BUILTINS[name]()
    rows = _read_rows(Path(source))
    texts, labels = [], []
    for number, row in rows:
        for column in (text_column, label_column):
            if column not in row:
                raise UserError(f"{source}: no column {column!r} (row {number} has: {', '.join(map(str, row))}); "
                                "set --text-column/--label-column")
        text, label = row[text_column], row[label_column]
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"{source}: row {number} has an empty or non-text {text_column!r}")
        require_text(text, f"{source}: row {number}'s {text_column!r}")
        if label is None or isinstance(label, (list, dict)) or str(label).strip() == "":
            raise UserError(f"{source}: row {number} has no usable label in {label_column!r}")
        texts.append(text.strip())
        labels.append(str(label).strip())
    return texts, labels


def read_unlabelled(source: str, text_column: str) -> list[str]:
    """Texts from `source` for a transfer set; labels, if present, are ignored."""
    if source.startswith(BUILTIN_PREFIX):
        name = source[len(BUILTIN_PREFIX):]
        if name in UNLABELLED_BUILTINS:
            return UNLABELLED_BUILTINS[name]()
        if name in LABELLED_BUILTINS:
            return LABELLED_BUILTINS[name]()[0]
        raise UserError(f"unknown built-in {source!r}; available: "
                        + ", ".join(BUILTIN_PREFIX + n for n in sorted({**LABELLED_BUILTINS, **UNLABELLED_BUILTINS})))
    path = Path(source)
    if path.suffix == ".txt":
        return [line.strip() for _, line in numbered_lines(path) if line.strip()]
    texts = []
    for number, row in _read_rows(path):
        if text_column not in row:
            raise UserError(f"{source}: no column {text_column!r} in row {number}; set --text-column")
        if str(row[text_column]).strip():
            texts.append(require_text(str(row[text_column]).strip(), f"{source}: row {number}'s {text_column!r}"))
    return texts


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a UTF-8 file, read one at a time (a large file is never held whole) and split at "\n"
    only: str.splitlines would also split inside texts at U+2028, U+2029 or \x85. Each keeps its line ending."""
    if not path.is_file():
        raise UserError(f"data file {path} not found")
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):  # binary files split at b"\n", never inside a UTF-8 character
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(f"{path}: not UTF-8 text (bad byte 0x{raw[exc.start]:02x} on line {number}); "
                                "re-save it as UTF-8") from None


def _read_rows(path: Path) -> list[tuple[int, dict]]:
    if path.suffix not in FILE_SUFFIXES:
        raise UserError(f"{path}: unsupported data format {path.suffix or '(none)'}; use one of {', '.join(FILE_SUFFIXES)} "
                        "or builtin:mr-polarity")
    if path.suffix == ".jsonl":
        rows = []
        for number, line in numbered_lines(path):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
            except RecursionError:
                raise UserError(f"{path}: line {number} nests too deeply to be a row of data") from None
            if not isinstance(row, dict):
                raise UserError(f"{path}: line {number} is not a JSON object")
            rows.append((number, row))
        return rows
    # csv reads its own line endings (newline=""), so a quoted field may hold line breaks; the field limit
    # is raised for long documents, and a malformed file is one line of error, not a traceback.
    csv.field_size_limit(CSV_FIELD_LIMIT)
    lines = (line for _, line in numbered_lines(path))  # with their own endings, as csv wants (newline="")
    reader = csv.DictReader(lines, delimiter="\t" if path.suffix == ".tsv" else ",", strict=True)
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise UserError(f"{path}: not valid {path.suffix[1:].upper()} near line {reader.line_num} ({exc})") from None
