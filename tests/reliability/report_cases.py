"""Issue 23.9's class, generated: every field `report` reads from an export report or checks.json given a value of
each wrong kind, or left out where it is required, ends in one line naming the file and the field; and names
holding matplotlib's mathtext (`$\\frac{$`) are drawn as plain text, the report written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.reliability.cases import REPORT, Case, edit_json, set_at
from tests.reliability.world import NAME, RUN

EXPORT_REPORT = f"{RUN}/bundles/tiny-host/export_report.json"
CHECKS = f"{RUN}/bundles/tiny-host/checks.json"
MATHTEXT = "$\\frac{$"
WRONG: dict[str, list[tuple[str, Any]]] = {
    "text": [("a number", 5), ("a list", ["a"]), ("a table", {"a": 1}), ("true", True), ("a lone surrogate", "a\ud800")],
    "number": [("a string", "abc"), ("a list", [1]), ("a table", {"a": 1}), ("true", True), ("NaN", math.nan)],
    "flag": [("a string", "passed"), ("a number", 1), ("a list", [True])],
    "table": [("a string", "passed"), ("a list", [1, 2]), ("a number", 5)],
    "list": [("a string", "x"), ("a table", {"a": 1})],
    "choice": [("not one of the choices", "surely-not"), ("a number", 5)],
}
RUNTIME = ("runtimes", "onnxruntime")
CANDIDATE = (*RUNTIME, "candidates", 0)
# What records.py reads of an export report, by kind; the required ones are also left out.
READ: list[tuple[tuple, str, bool]] = [
    (("student",), "text", False), (("profile",), "text", False), (("metric",), "choice", False),
    (("reference_accuracy",), "number", False), (("budgets",), "table", False),
    (("budgets", "p90_latency_ms"), "number", False), (("runtimes",), "table", True), (RUNTIME, "table", False),
    ((*RUNTIME, "bundle"), "text", False), ((*RUNTIME, "error"), "text", False), ((*RUNTIME, "check"), "table", False),
    ((*RUNTIME, "check", "passed"), "flag", False), ((*RUNTIME, "check", "gates"), "table", False),
    ((*RUNTIME, "candidates"), "list", True), (CANDIDATE, "table", False), ((*CANDIDATE, "recipe"), "text", True),
    ((*CANDIDATE, "precision"), "text", False), ((*CANDIDATE, "status"), "choice", False),
    ((*CANDIDATE, "reason"), "text", False), ((*CANDIDATE, "export_s"), "number", False),
    ((*CANDIDATE, "metrics"), "table", False), ((*CANDIDATE, "metrics", "accuracy"), "number", True),
    ((*CANDIDATE, "metrics", "reference_accuracy"), "number", False),
    ((*CANDIDATE, "metrics", "size_bytes"), "number", False), ((*CANDIDATE, "metrics", "validation"), "table", False),
    ((*CANDIDATE, "metrics", "validation", "accuracy"), "number", False),
    ((*CANDIDATE, "metrics", "unlabelled"), "table", False), ((*CANDIDATE, "metrics", "latency_ms"), "table", False),
    ((*CANDIDATE, "metrics", "latency_ms", "p90"), "number", True),
    ((*CANDIDATE, "metrics", "latency_ms", "p50"), "number", False),
    ((*CANDIDATE, "latency_distribution"), "table", False), ((*CANDIDATE, "latency_distribution", "ms"), "list", True),
]
CHECKS_READ: list[tuple[tuple, str]] = [((), "table"), ((NAME,), "table"), ((NAME, "passed"), "flag"),
                                        ((NAME, "gates"), "table")]


def _dropped(path: tuple) -> Any:
    def edit(document: Any) -> None:
        for key in path[:-1]:
            document = document[key]
        del document[path[-1]]
    return edit


def _page_written(workspace: Path, stdout: str) -> str | None:
    return None if (workspace / "report-out" / "index.html").is_file() else "no page written"


def report_cases() -> Iterator[Case]:
    for path, kind, required in READ:
        field = ".".join(map(str, path))
        for label, value in WRONG[kind]:
            yield Case(f"report/{field} is {label}/report", "report", REPORT,
                       edit_json(EXPORT_REPORT, lambda doc, p=path, v=value: set_at(doc, p, v)))
        if required:
            yield Case(f"report/{field} missing/report", "report", REPORT, edit_json(EXPORT_REPORT, _dropped(path)))
    for path, kind in CHECKS_READ:
        field = ".".join(path) or "the file"
        for label, value in WRONG[kind]:
            edit = (lambda doc, v=value: v) if not path else (lambda doc, p=path, v=value: set_at(doc, p, v))
            yield Case(f"report/checks.json {field} is {label}/report", "report", REPORT, edit_json(CHECKS, edit))
    names = [("profile",), (*CANDIDATE, "recipe"), (*CANDIDATE, "precision"), (*CANDIDATE, "reason")]
    for path in names:
        yield Case(f"report/mathtext in {'.'.join(map(str, path))}/report", "report", REPORT,
                   edit_json(EXPORT_REPORT, lambda doc, p=path: set_at(doc, p, MATHTEXT)), expect="ok",
                   allowed=("report-out",), verify=_page_written)
    renamed = edit_json(EXPORT_REPORT, lambda doc: doc["runtimes"].update({MATHTEXT: doc["runtimes"].pop("onnxruntime")}))
    yield Case("report/mathtext in a runtime's name/report", "report", REPORT, renamed, expect="ok",
               allowed=("report-out",), verify=_page_written)
