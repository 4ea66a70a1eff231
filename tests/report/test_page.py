"""The report page from synthetic export reports: every candidate and decision on it, strings escaped, files kept."""

from __future__ import annotations

import json
import re

import pytest

from edgedistill.errors import UserError
from edgedistill.report.lengths import SweepSettings, sweep_lengths
from edgedistill.report.records import read_exports
from edgedistill.report.writer import write_report
from tests.report.conftest import candidate, write_export_report

IMAGE = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def test_records_group_candidates_by_profile_and_runtime(synthetic_run):
    exports = read_exports(synthetic_run)
    assert [(export.profile, [runtime.runtime for runtime in export.runtimes]) for export in exports] == [
        ("board", ["onnxruntime"]), ("phone", ["executorch", "tflite"])]
    board = exports[0].runtimes[0]
    assert board.bundle == synthetic_run / "bundles" / "board" / "board-onnxruntime-int8-dynamic"
    kept = next(c for c in board.candidates if c.kept)
    assert kept.figure("latency_ms", "p90") == 10.0 and kept.distribution.at(100) == pytest.approx(11.0)
    assert exports[1].runtimes[1].candidates[1].measured is False  # skipped QAT: a decision, not a point


def test_the_page_plots_and_tables_every_candidate(synthetic_run, tmp_path):
    page = write_report(synthetic_run, tmp_path / "out", SweepSettings(runs=1, seconds=0.0, warmup=0)).read_text()
    assert len(IMAGE.findall(page)) == 3  # no bundle on disk, so nothing to time by length
    assert "No kept bundle on disk to time" in page
    for text in ("int8-qdq", "validation accuracy drop 4.00 points exceeds the budget of 1",
                 "int8-dynamic already within budget at int8", "within every budget, and ranked first", "phone", "board"):
        assert text in page
    assert page.count('<tr class="kept">') == 3 + 3  # kept bundles table, every-figure table
    assert page.count('<tr class="rejected">') == 1  # the gate decisions table marks the one rejected recipe


def test_a_token_classifiers_export_is_reported_by_entity_f1(tmp_path):
    write_export_report(tmp_path / "run" / "ner", "board", {"onnxruntime": [
        candidate("int8-dynamic", "kept", 0.8731, 5.0, 20.0, metric="entity_f1"),
        candidate("int8-qdq", "rejected", 0.61, 4.0, 20.0, "validation entity F1 drop 19.00 points", metric="entity_f1")]},
        metric="entity_f1")
    [export] = read_exports(tmp_path / "run")
    kept = export.runtimes[0].candidates[0]
    assert (export.metric, export.reference_score, kept.score(), kept.reference_score("validation")) == (
        "entity_f1", 0.8, 0.8731, 0.8)
    page = write_report(tmp_path / "run", tmp_path / "out").read_text()
    assert "Entity F1 against p90 latency" in page and "test entity F1" in page and "87.31%" in page
    assert "accuracy" not in page.lower().replace("accurate", "")
    assert len(IMAGE.findall(page)) == 3


def test_a_folder_of_text_and_token_exports_names_each_rows_metric(tmp_path):
    write_export_report(tmp_path / "run" / "ner", "board", {"onnxruntime": [
        candidate("int8-dynamic", "kept", 0.8731, 5.0, 20.0, metric="entity_f1")]}, metric="entity_f1")
    write_export_report(tmp_path / "run" / "sentiment", "board", {"onnxruntime": [
        candidate("int8-dynamic", "kept", 0.795, 5.0, 20.0)]}, metric="accuracy")
    page = write_report(tmp_path / "run", tmp_path / "out").read_text()
    figures = page[page.index("val. score"):]
    header = re.findall(r"<th>([^<]*)</th>", figures[:figures.index("</tr>")])
    assert "test score" in header and "Score against p90 latency" in page
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", figures, re.DOTALL)[:2]
    assert sorted(re.findall(r"<td>(accuracy|entity F1)</td>", row)[0] for row in rows) == ["accuracy", "entity F1"]


def test_a_report_of_an_unknown_metric_is_a_one_line_error(tmp_path):
    write_export_report(tmp_path / "run" / "x", "board", {"onnxruntime": [
        candidate("fp32", "kept", 0.5, 5.0, 20.0, metric="bleu")]}, metric="bleu")
    with pytest.raises(UserError, match=r"metric must be one of accuracy, entity_f1 \(got 'bleu'\)"):
        read_exports(tmp_path / "run")


def test_strings_from_export_reports_are_escaped(tmp_path):
    write_export_report(tmp_path / "run" / "x", "<b>board</b>", {"onnxruntime": [
        candidate("int8-dynamic", "kept", 0.8, 5.0, 20.0),
        candidate("<img src=x onerror=alert(1)>", "rejected", 0.5, 4.0, 20.0, "<script>alert(1)</script>")]})
    page = write_report(tmp_path / "run", tmp_path / "out").read_text()
    assert "<script>" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;board&lt;/b&gt;" in page


def test_reports_written_before_distributions_were_recorded_still_render(tmp_path):
    entry = candidate("int8-dynamic", "kept", 0.8, 5.0, 20.0)
    del entry["latency_distribution"]
    write_export_report(tmp_path / "run" / "x", "board", {"onnxruntime": [entry]})
    page = write_report(tmp_path / "run", tmp_path / "out").read_text()
    assert len(IMAGE.findall(page)) == 2 and "Nothing measured to plot" in page


def test_an_index_html_of_the_users_own_is_never_replaced(synthetic_run, tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("<html>my site</html>")
    with pytest.raises(UserError, match="was not written by `edgedistill report`"):
        write_report(synthetic_run, out)
    assert (out / "index.html").read_text() == "<html>my site</html>"
    (out / "index.html").unlink()
    first = write_report(synthetic_run, out).read_text()
    assert write_report(synthetic_run, out).read_text() != "" and "edgedistill report" in first


def test_a_folder_without_export_reports_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError, match="holds no export_report.json"):
        read_exports(tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "export_report.json").write_text(json.dumps({"profile": "p"}))
    with pytest.raises(UserError, match=r"x/export_report.json: runtimes is missing; this is not a file edgedistill wrote"):
        read_exports(tmp_path)


def test_lengths_double_from_8_up_to_the_longest():
    assert sweep_lengths(64) == [8, 16, 32, 64]
    assert sweep_lengths(100) == [8, 16, 32, 64, 100]
    assert sweep_lengths(8) == [8]
