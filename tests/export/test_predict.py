"""`edgedistill predict`: labels and probabilities from a bundle in its runtime, with torch unavailable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgedistill.check.predict import predict_texts
from edgedistill.cli import main

pytestmark = pytest.mark.slow  # needs a real ONNX Runtime bundle

POSITIVE = "a wonderful , moving and brilliant film"
NEGATIVE = "a dull , boring and tedious movie"


def test_predict_says_positive_for_a_positive_sentence(host_bundle):
    positive, negative = predict_texts(host_bundle, [POSITIVE, NEGATIVE])
    labels = json.loads((host_bundle / "labels.json").read_text())["labels"]
    assert set(positive["probabilities"]) == set(labels)
    assert sum(positive["probabilities"].values()) == pytest.approx(1.0)
    assert positive["label"] == "pos" and negative["label"] == "neg"


def test_predict_cli_reads_json_lines_on_stdin_without_torch(host_bundle):
    script = ("import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
              "from edgedistill.cli import main\n"
              f"sys.exit(main(['predict', {str(host_bundle)!r}, '--json']))")
    stdin = json.dumps(POSITIVE) + "\n" + json.dumps({"text": NEGATIVE}) + "\n"
    completed = subprocess.run([sys.executable, "-c", script], input=stdin, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    rows = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [row["text"] for row in rows] == [POSITIVE, NEGATIVE] and [row["label"] for row in rows] == ["pos", "neg"]


def test_predict_without_texts_or_with_bad_stdin_is_one_line(host_bundle, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("not json\n"))
    assert main(["predict", str(host_bundle)]) != 0
    assert capsys.readouterr().err.strip() == "error: stdin line 1 is not JSON; give one JSON string or {\"text\": ...} per line"
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["predict", str(host_bundle)]) != 0
    assert "no texts to classify" in capsys.readouterr().err
