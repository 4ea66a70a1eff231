"""An interrupted run resumes from its last epoch checkpoint and ends exactly where an uninterrupted run does."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from edgedistill.cli import main
from edgedistill.distill.checkpoint import CheckpointStore, checkpoint_dir
from edgedistill.modeldir import read_metrics


class Interrupted(Exception):
    """Stands in for a crash or Ctrl-C right after the first epoch's checkpoint."""


@pytest.fixture
def interrupt_after_first_checkpoint(monkeypatch):
    save = CheckpointStore.save

    def save_then_stop(self, *args, **kwargs):
        save(self, *args, **kwargs)
        monkeypatch.setattr(CheckpointStore, "save", save)
        raise Interrupted

    monkeypatch.setattr(CheckpointStore, "save", save_then_stop)


def _interrupted_run(argv) -> None:
    with pytest.raises(Interrupted):
        main(argv)


def test_resume_matches_an_uninterrupted_run(tmp_path, tiny_teacher, tiny_distilled, distill_argv,
                                             interrupt_after_first_checkpoint, capsys):
    out = tmp_path / "student"
    _interrupted_run(distill_argv(tiny_teacher, out))
    assert not out.exists()
    assert (checkpoint_dir(out) / "state.pt").is_file()

    assert main(distill_argv(tiny_teacher, out, "--resume")) == 0
    assert "resuming after step 10 (epoch 1.00)" in capsys.readouterr().err
    assert not checkpoint_dir(out).exists()
    resumed, reference = read_metrics(out), read_metrics(tiny_distilled)
    for key in ("student", "agreement", "best_epoch"):
        assert resumed[key] == reference[key]
    assert [e["train_loss"] for e in resumed["history"]] == [e["train_loss"] for e in reference["history"]]
    resumed_weights, reference_weights = load_file(out / "model.safetensors"), load_file(tiny_distilled / "model.safetensors")
    assert resumed_weights.keys() == reference_weights.keys()
    assert all((resumed_weights[name] == reference_weights[name]).all() for name in reference_weights)


def test_without_resume_a_stale_checkpoint_is_ignored(tmp_path, tiny_teacher, tiny_distilled, distill_argv,
                                                      interrupt_after_first_checkpoint, capsys):
    out = tmp_path / "student"
    _interrupted_run(distill_argv(tiny_teacher, out))
    assert main(distill_argv(tiny_teacher, out)) == 0
    assert "resuming" not in capsys.readouterr().err
    assert not checkpoint_dir(out).exists()
    assert read_metrics(out)["student"] == read_metrics(tiny_distilled)["student"]


def test_resume_with_other_settings_is_refused(tmp_path, tiny_teacher, distill_argv, interrupt_after_first_checkpoint, capsys):
    out = tmp_path / "student"
    _interrupted_run(distill_argv(tiny_teacher, out))
    capsys.readouterr()
    assert main(distill_argv(tiny_teacher, out, "--resume", "--temperature", "2")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "without --resume" in err and "\n" not in err
    assert not out.exists()


@pytest.mark.parametrize(("damaged", "payload"), [("state.pt", b""), ("state.pt", b"PK\x03\x04 truncated"),
                                                  ("trainable.safetensors", b"\x08\x00\x00")])
def test_a_damaged_checkpoint_is_one_line_that_says_to_start_over(tmp_path, tiny_teacher, distill_argv,
                                                                  interrupt_after_first_checkpoint, capsys, damaged, payload):
    out = tmp_path / "student"
    _interrupted_run(distill_argv(tiny_teacher, out))
    (checkpoint_dir(out) / damaged).write_bytes(payload)
    capsys.readouterr()
    assert main(distill_argv(tiny_teacher, out, "--resume")) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines, one error line
    assert error.startswith(f"error: the checkpoint in {checkpoint_dir(out)} is damaged")
    assert error.endswith("rerun without --resume to start over")
    assert not out.exists()


def test_sigkill_mid_training_then_resume_matches_an_uninterrupted_run(tmp_path, tiny_teacher, tiny_distilled,
                                                                       distill_argv):
    """A real `kill -9` once the first epoch's checkpoint is on disk: the resumed run ends bit-identical."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "student"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "edgedistill", *distill_argv(tiny_teacher, out)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (checkpoint_dir(out) / "fingerprint.txt").is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not out.exists()

    assert main(distill_argv(tiny_teacher, out, "--resume")) == 0
    resumed, reference = read_metrics(out), read_metrics(tiny_distilled)
    assert resumed["student"] == reference["student"] and resumed["best_epoch"] == reference["best_epoch"]
    assert [e["train_loss"] for e in resumed["history"]] == [e["train_loss"] for e in reference["history"]]
