"""Every generated case of bad input ends in one line of error and touches nothing (see cases.py).

The same cases, counted, are recorded by benchmarks/reliability.py in benchmarks/results/reliability.json.
"""

from __future__ import annotations

import json

import pytest

from tests.reliability.cases import CONTROLS, REGRESSIONS, all_cases
from tests.reliability.harness import run_case
from tests.reliability.terminal_cases import EXPORT_REPORT_STRINGS, INDEX_ENTRY_STRINGS, MANIFEST_STRINGS, string_paths
from tests.reliability.world import BUNDLE, NAME, REGISTRY, RUN

CASES = all_cases()


@pytest.mark.parametrize("case", [pytest.param(case, marks=[pytest.mark.slow] if case.command == "export" else [])
                                  for case in CONTROLS], ids=[case.name for case in CONTROLS])
def test_the_undamaged_world_passes_every_command(world, tmp_path, case):
    """Without this, a case could end in an error because the world itself was broken, not because of its damage."""
    outcome = run_case(case, world, tmp_path / "case")
    assert outcome.clean, outcome.describe()


@pytest.mark.parametrize("case", [pytest.param(case, marks=[pytest.mark.slow] if case.slow else []) for case in CASES],
                         ids=[case.name for case in CASES])
def test_bad_input_ends_in_one_error_line_and_touches_nothing(world, tmp_path, case):
    outcome = run_case(case, world, tmp_path / "case")
    assert outcome.clean, outcome.describe()


def test_every_command_and_category_is_covered():
    commands = {case.command for case in CASES}
    assert commands == {"teach", "distill", "export", "check", "bench", "publish", "pull", "bundles", "targets",
                        "predict", "prune-vocab", "run", "report", "keygen", "results", "manifest-schema"}
    categories = {case.category for case in CASES}
    assert {"data", "configs", "profiles", "model-dirs", "bundles", "manifests", "golden", "index", "registry",
            "outputs", "names", "links", "overlaps", "debris", "report", "terminal", "stdout", "http", "trust", "text",
            "recipes", "run-outputs"} <= categories
    assert len(REGRESSIONS) >= 30 and all(case.name.startswith("why/") for case in REGRESSIONS)


@pytest.mark.parametrize(("relative", "listed", "below"), [
    (f"{BUNDLE}/manifest.json", MANIFEST_STRINGS, ()), (f"{REGISTRY}/index.json", INDEX_ENTRY_STRINGS, ("bundles", NAME, "1")),
    (f"{RUN}/bundles/tiny-host/export_report.json", EXPORT_REPORT_STRINGS, ())])
def test_control_characters_reach_every_string_the_world_holds(world, relative, listed, below):
    """A string field added to what export or publish writes gets its case in terminal_cases.py (every entry of
    `files` is alike, so one stands for all)."""
    found = {path[len(below):] for path in string_paths(json.loads((world / relative).read_text()))}
    assert {("files", "labels.json", "sha256") if path[0] == "files" else path for path in found} <= set(listed)
