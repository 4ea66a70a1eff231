"""Two processes under the real `torchrun` launcher train one student together, and stop early together."""

from __future__ import annotations

import os
import subprocess
import sys

from edgedistill.distill.checkpoint import checkpoint_dir
from edgedistill.model.classifiers import load_trained_classifier
from edgedistill.modeldir import read_metrics


def test_torchrun_two_processes(tmp_path, tiny_teacher, distill_argv):
    out = tmp_path / "student"
    # A fresh cache makes each rank label its share of the texts; then both read them all from the cache.
    env = {**os.environ, "EDGEDISTILL_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "edgedistill", *distill_argv(tiny_teacher, out, "--epochs", "12", "--patience", "1")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = read_metrics(out)
    assert metrics["timings"]["processes"] == 2
    assert metrics["student"]["accuracy"] > 0.7
    assert load_trained_classifier(out).config.num_hidden_layers == 1
    assert result.stderr.count("teacher logits: computing") == 1  # rank 0's share; rank 1 labels quietly
    # Only rank 0 validates: rank 1 stops with it instead of waiting at the next step for ever.
    assert "stopping early" in result.stderr and len(metrics["history"]) < 12
    assert not checkpoint_dir(out).exists()
