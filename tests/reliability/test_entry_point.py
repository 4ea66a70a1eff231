"""The installed entry point behaves as `main` does: a few of issue 10's cases through `python -m edgedistill`.

The other cases run in-process for speed; here a real interpreter shows that what reaches a user's terminal
is the same single `error:` line, with no traceback printed by Python itself.
"""

from __future__ import annotations

import pytest

from tests.reliability.cases import REGRESSIONS
from tests.reliability.harness import run_case

THROUGH_THE_PROGRAM = [case for case in REGRESSIONS if case.name in {
    "why/a manifest nested 100k levels deep", "why/an invalid tokenizer.json", "why/index entry named ../evil",
    "why/pull --out on a web app with manifest.json, src/ and .env", "why/a symlinked .index.lock",
    "why/golden max_tokens of Infinity",
}]


def test_the_chosen_cases_exist():
    assert len(THROUGH_THE_PROGRAM) == 6


@pytest.mark.parametrize("case", THROUGH_THE_PROGRAM, ids=[case.name for case in THROUGH_THE_PROGRAM])
def test_python_m_edgedistill_prints_one_error_line(world, tmp_path, case):
    outcome = run_case(case, world, tmp_path / "case", in_process=False)
    assert outcome.clean, outcome.describe()
    assert outcome.exit_code == 2 and len(outcome.stderr.strip().splitlines()) == 1
