"""The runner's bookkeeping on stand-in stages: what is skipped, what reruns, what resumes, what a failure says."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedistill.errors import UserError
from edgedistill.run import runner
from edgedistill.run.recipe import Recipe
from edgedistill.run.stages import Stage


class Stand:
    """Stages that record their calls and write their output file; `settings` and `fail` are edited between runs."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.settings = {"a": {"x": 1}, "b": {"y": 1}, "c": {}}
        self.calls: list[tuple[str, bool]] = []
        self.fail: dict[str, BaseException] = {}
        self.refuse: dict[str, UserError] = {}  # what a stage's outputs check raises

    def plan(self, _recipe) -> list[Stage]:
        after = {"a": (), "b": ("a",), "c": ("b",)}
        return [Stage(name, dict(self.settings[name]), after[name], self.folder / f"{name}.out", self._action(name),
                      self._require(name)) for name in ("a", "b", "c")]

    def _require(self, name: str):
        def require() -> None:
            if name in self.refuse:
                raise self.refuse[name]
        return require

    def _action(self, name: str):
        def act(resume: bool) -> None:
            self.calls.append((name, resume))
            if name in self.fail:
                raise self.fail[name]
            (self.folder / f"{name}.out").write_text("done")
        return act


@pytest.fixture
def stand(tmp_path, monkeypatch) -> Stand:
    stages = Stand(tmp_path)
    monkeypatch.setattr(runner, "plan", stages.plan)
    return stages


def run(folder: Path) -> dict[str, str]:
    return runner.run_recipe(Recipe("recipe.toml", "t", folder, None, None, None))


def test_unchanged_stages_are_skipped_and_a_change_reruns_what_follows(stand, tmp_path):
    assert run(tmp_path) == {"a": "ran", "b": "ran", "c": "ran"}
    assert run(tmp_path) == {"a": "skipped", "b": "skipped", "c": "skipped"}
    stand.settings["b"] = {"y": 2}
    assert run(tmp_path) == {"a": "skipped", "b": "ran", "c": "ran"}
    (tmp_path / "a.out").unlink()  # an output deleted by hand is made again, and so is what follows it
    assert run(tmp_path) == {"a": "ran", "b": "ran", "c": "ran"}
    assert all(resume is False for _, resume in stand.calls)


def test_a_failed_stage_names_itself_and_the_rerun_resumes_it(stand, tmp_path):
    stand.fail["b"] = UserError("the data file is gone")
    with pytest.raises(UserError) as caught:
        run(tmp_path)
    assert str(caught.value) == (f"stage b failed: the data file is gone; fix that and resume with: "
                                 f"edgedistill run recipe.toml --out {tmp_path}")
    del stand.fail["b"]
    stand.calls.clear()
    assert run(tmp_path) == {"a": "skipped", "b": "ran", "c": "ran"}
    assert stand.calls == [("b", True), ("c", False)]  # b was interrupted under the same key: it resumes


def test_an_interrupted_stage_whose_settings_changed_starts_over(stand, tmp_path):
    stand.fail["a"] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path)
    del stand.fail["a"]
    stand.settings["a"] = {"x": 2}
    stand.calls.clear()
    run(tmp_path)
    assert stand.calls[0] == ("a", False)


def test_a_bug_keeps_its_traceback_and_still_says_how_to_resume(stand, tmp_path, capsys):
    stand.fail["c"] = ZeroDivisionError("division by zero")
    with pytest.raises(ZeroDivisionError):
        run(tmp_path)
    err = capsys.readouterr().err
    assert "[3/3] c: failed after" in err and f"resume with: edgedistill run recipe.toml --out {tmp_path}" in err


def test_a_second_run_of_the_same_folder_is_refused_while_the_first_holds_it(stand, tmp_path):
    from edgedistill.run.ledger import Ledger

    with Ledger(tmp_path).hold():  # another run, mid-way
        with pytest.raises(UserError, match=r"is in use by another `edgedistill run` \(pid \d+\)"):
            run(tmp_path)
    assert stand.calls == [] and not (tmp_path / "a.out").exists()
    assert run(tmp_path) == {"a": "ran", "b": "ran", "c": "ran"}  # released when the first one ends


def test_the_last_stages_outputs_are_checked_before_the_first_stage_runs(stand, tmp_path):
    stand.refuse["c"] = UserError("c's output is a file of the user's")
    with pytest.raises(UserError, match="c's output is a file of the user's"):
        run(tmp_path)
    assert stand.calls == [] and not (tmp_path / "stages").exists()
