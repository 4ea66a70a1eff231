"""The training schedule: counted in steps, at least `min_steps` of them, validated every `eval_every`, early
stopping after `patience` evaluations, ties broken by the tie-breaker, and the still-rising warning."""

from __future__ import annotations

import pytest

from edgedistill.cli import main
from edgedistill.distill.checkpoint import TrainProgress
from edgedistill.distill.training import TrainResult, TrainSettings
from edgedistill.errors import UserError
from edgedistill.modeldir import read_metrics


def _settings(**overrides) -> TrainSettings:
    return TrainSettings(**{"epochs": 3, "batch_size": 32, "learning_rate": 5e-5, "seed": 1, **overrides})


def test_small_datasets_get_more_epochs_to_reach_min_steps():
    assert _settings(min_steps=300).planned_epochs(steps_per_epoch=100) == 3
    assert _settings(min_steps=300).planned_epochs(steps_per_epoch=63) == 5
    assert _settings(min_steps=0).planned_epochs(steps_per_epoch=10) == 3
    assert _settings(min_steps=300).planned_steps(steps_per_epoch=63) == 315
    assert _settings(min_steps=300, steps=77).planned_steps(steps_per_epoch=63) == 77  # steps, not epochs
    for bad in ({"patience": 0}, {"steps": 0}, {"eval_every": 0}):
        with pytest.raises(UserError, match="--" + next(iter(bad)).replace("_", "-")):
            _settings(**bad).validate()


def _result(scores: list[float], planned: int) -> TrainResult:
    """A run of one evaluation per 10-step epoch with these validation scores, `planned` epochs long."""
    history = [{"step": 10 * (i + 1), "epoch": i + 1, "validation_accuracy": score} for i, score in enumerate(scores)]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i)) + 1
    progress = TrainProgress(steps_done=10 * len(scores), best_evaluation=best, history=history)
    return TrainResult(progress, steps_per_epoch=10, planned_steps=10 * planned, eval_every=10)


def test_still_rising_means_the_last_planned_epoch_was_the_best_and_improved():
    assert _result([0.70, 0.75, 0.80], planned=3).still_rising
    assert not _result([0.70, 0.80, 0.78], planned=3).still_rising
    assert not _result([0.70, 0.75], planned=4).still_rising  # stopped early: not the planned end
    assert not _result([0.80], planned=1).still_rising


def test_teach_runs_min_steps_then_stops_once_validation_stalls(tmp_path, tiny_csv, tiny_base, capsys):
    argv = ["teach", "--data", str(tiny_csv), "--base", str(tiny_base), "--learning-rate", "3e-3"]
    assert main([*argv, "--out", str(tmp_path / "a"), "--epochs", "1", "--min-steps", "30", "--patience", "99"]) == 0
    assert len(read_metrics(tmp_path / "a")["history"]) == 3  # 10 steps per epoch

    assert main([*argv, "--out", str(tmp_path / "b"), "--epochs", "12", "--min-steps", "0", "--patience", "1"]) == 0
    metrics = read_metrics(tmp_path / "b")
    assert len(metrics["history"]) < 12 and len(metrics["history"]) == metrics["best_epoch"] + 1
    assert "stopping early" in capsys.readouterr().err


def test_teach_warns_when_validation_still_rises_at_the_end(tmp_path, tiny_csv, tiny_base, capsys):
    out = tmp_path / "teacher"
    argv = ["teach", "--data", str(tiny_csv), "--base", str(tiny_base), "--out", str(out), "--learning-rate", "3e-3",
            "--epochs", "3", "--min-steps", "0"]
    assert main(argv) == 0
    metrics = read_metrics(out)
    scores = [entry["validation_accuracy"] for entry in metrics["history"]]
    assert metrics["still_rising"] and scores[-1] > scores[-2]
    assert "still rising at the last epoch (3); more training would likely help: try --epochs 5" in capsys.readouterr().err


def test_distill_validates_every_n_steps_and_counts_the_rows_it_saw(tmp_path, tiny_teacher, distill_argv):
    out = tmp_path / "student"
    assert main([*distill_argv(tiny_teacher, out), "--steps", "25", "--eval-every", "10", "--patience", "99"]) == 0
    metrics = read_metrics(out)
    assert [entry["step"] for entry in metrics["history"]] == [10, 20, 25]
    assert metrics["schedule"] == {"steps": 25, "planned_steps": 25, "steps_per_epoch": 10, "eval_every": 10,
                                   "stopped_early": False}
    assert metrics["rows_seen"]["all"] == 25 * 32 and metrics["rows_seen"]["teacher_labels_only"] == 0
    best = metrics["history"][[entry["step"] for entry in metrics["history"]].index(metrics["best_step"])]
    ranked = sorted(metrics["history"], key=lambda e: (e["validation_accuracy"], e["validation_teacher_agreement"]))
    assert (best["validation_accuracy"], best["validation_teacher_agreement"]) == (
        ranked[-1]["validation_accuracy"], ranked[-1]["validation_teacher_agreement"])


def test_a_tie_on_the_metric_goes_to_the_tie_breaker():
    from edgedistill.distill.training import Validator

    validator = Validator("accuracy", lambda model: {}, tie_breaker="teacher_agreement")
    assert validator.rank({"accuracy": 0.8, "teacher_agreement": 0.9}) > validator.rank(
        {"accuracy": 0.8, "teacher_agreement": 0.85})
    assert validator.rank({"accuracy": 0.81, "teacher_agreement": 0.5}) > validator.rank(
        {"accuracy": 0.8, "teacher_agreement": 0.99})
