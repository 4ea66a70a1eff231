"""Issue 23.10's class, generated: a lone surrogate (a JSON "\\ud800" escape; argument bytes that are not UTF-8)
in every text a command tokenizes (labelled and unlabelled JSON lines, golden texts, texts to classify) ends in one
line naming where it is; one in a label, which is never tokenized, is read as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from tests.reliability.cases import (
    BUNDLE_READERS, DISTILL, EXPORT, PREDICT, TEACH, Case, _labelled_readers, _rows, edit_json, in_bundle,
    labelled_file, write,
)
from tests.reliability.world import BUNDLE

SURROGATES = {"an escaped high surrogate": "a \ud800 film", "an escaped low surrogate": "a \udc00 film",
              "a non-UTF-8 byte, as Python reads it from an argument": "a \udcff film"}
SAYS = "a lone surrogate, which is not text"


def text_cases() -> Iterator[Case]:
    for what, text in SURROGATES.items():
        labelled = write("data/bad.jsonl", labelled_file(".jsonl", [*_rows(), (text, "pos")]))
        for argv in _labelled_readers("data/bad.jsonl"):
            yield Case(f"text/a labelled text holds {what}/{argv[0]}", "text", argv, labelled, says=SAYS)
        unlabelled = write("data/bad.jsonl", json.dumps({"text": "fine"}) + "\n" + json.dumps({"text": text}) + "\n")
        for argv in ((*DISTILL, "--transfer", "data/bad.jsonl"), (*EXPORT, "--calibration", "data/bad.jsonl")):
            yield Case(f"text/an unlabelled text holds {what}/{argv[0]}", "text", argv, unlabelled, says=SAYS)
        golden = in_bundle(BUNDLE, "golden.json", edit_json(f"{BUNDLE}/golden.json",
                                                            lambda doc, t=text: doc["cases"][0].update(text=t)))
        for command, argv in BUNDLE_READERS.items():
            yield Case(f"text/a golden text holds {what}/{command}", "text", argv, golden, says=SAYS)
        yield Case(f"text/the text to classify holds {what}/predict", "text", (*PREDICT[:2], text), says=SAYS)
    label = write("data/odd.jsonl", labelled_file(".jsonl", [(text, "pos" if i % 2 else "a \ud800 label")
                                                             for i, (text, _) in enumerate(_rows())]))
    yield Case("text/a label holds a lone surrogate/teach", "text", (*TEACH[:2], "data/odd.jsonl", *TEACH[3:]), label,
               expect="either", allowed=("teacher-out",))
