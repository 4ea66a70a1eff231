"""Every generated case of bad input ends in one line of error and touches nothing (see cases.py).

The same cases, counted, are recorded by benchmarks/reliability.py in benchmarks/results/reliability.json.
"""

from __future__ import annotations

import pytest

from tests.reliability.cases import CONTROLS, REGRESSIONS, all_cases
from tests.reliability.harness import run_case

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
            "outputs", "names", "links", "overlaps", "debris", "report", "terminal", "stdout"} <= categories
    assert len(REGRESSIONS) >= 30 and all(case.name.startswith("why/") for case in REGRESSIONS)
