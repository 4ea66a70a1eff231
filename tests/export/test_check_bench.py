"""`check` and `bench` on real ONNX Runtime bundles, in-process and in a process where torch cannot import."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgedistill.check.bench import BenchSettings, bench_bundle
from edgedistill.check.dispatch import check_bundle
from edgedistill.cli import main
from edgedistill.fsutil import sha256_file
from edgedistill.targets.onnxruntime import OnnxRuntimeTarget

pytestmark = pytest.mark.slow  # real ONNX Runtime exports

REPO = Path(__file__).resolve().parents[2]
NO_TORCH = ("import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None; "
            "from edgedistill.cli import main; sys.exit(main(sys.argv[1:]))")


def run_without_torch(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", NO_TORCH, *argv], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=300)


def edited_copy(bundle: Path, tmp_path: Path) -> Path:
    copy = tmp_path / bundle.name
    shutil.copytree(bundle, copy)
    return copy


def test_check_passes_with_parity_at_several_lengths(host_bundle):
    report = check_bundle(host_bundle)
    assert report["passed"] and report["gates"]["accuracy"] and report["gates"]["tokenizer"]
    assert report["examples"] == 40 and report["accuracy"] == json.loads(
        (host_bundle / "manifest.json").read_text())["metrics"]["accuracy"]
    parity = report["parity"]
    assert parity["tolerance"] is None and parity["passed"] is None  # int8: the accuracy budget gates
    assert [entry["max_tokens"] for entry in parity["lengths"]] == [8, 16, 32, 64]
    assert all(entry["width"] == 64 and entry["agreement"] >= 0.5 for entry in parity["lengths"])


def test_fp32_parity_holds_at_every_width(fp32_bundle):
    report = check_bundle(fp32_bundle)
    parity = report["parity"]
    assert parity["tolerance"] == OnnxRuntimeTarget.fp32_tolerance
    assert [entry["width"] for entry in parity["lengths"]] == [8, 16, 32, 64]
    assert parity["passed"] and all(entry["max_abs_logit_diff"] <= 1e-4 for entry in parity["lengths"])
    assert report["passed"]


def test_check_fails_when_accuracy_breaks_its_budget(host_bundle, tiny_csv, tmp_path, capsys):
    swapped = tmp_path / "swapped.csv"
    with open(tiny_csv, newline="") as source, open(swapped, "w", newline="") as target:
        rows = list(csv.DictReader(source))
        writer = csv.DictWriter(target, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "label": {"pos": "neg", "neg": "pos"}[r["label"]]} for r in rows)
    assert main(["check", str(host_bundle), "--data", str(swapped), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["examples"] == 400 and report["accuracy"] < 0.3
    assert report["gates"]["accuracy"] is False and report["passed"] is False


def test_check_rejects_a_tampered_model(host_bundle, tmp_path, capsys):
    bundle = edited_copy(host_bundle, tmp_path)
    model = next(bundle.glob("*.onnx"))
    content = model.read_bytes()
    model.write_bytes(content[:-1] + bytes([content[-1] ^ 0xFF]))  # same size, one byte flipped
    assert main(["check", str(bundle)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "does not match its sha256" in error and "\n" not in error
    model.write_bytes(content[: len(content) // 3])  # truncated: caught by its size before it is hashed
    assert main(["check", str(bundle)]) == 2
    error = capsys.readouterr().err.strip()
    assert f"is {len(content) // 3} bytes, but manifest.json records {len(content)}" in error and "\n" not in error


def test_a_corrupt_model_with_a_matching_manifest_is_a_one_line_error(host_bundle, tmp_path, capsys):
    bundle = edited_copy(host_bundle, tmp_path)
    model = next(bundle.glob("*.onnx"))
    model.write_bytes(model.read_bytes()[:200])
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][model.name] = {"sha256": sha256_file(model), "size": model.stat().st_size}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    assert main(["bench", str(bundle), "--runs", "1", "--seconds", "0"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and model.name in error and "\n" not in error


def test_bench_reports_latency_memory_and_the_budget(host_bundle, tmp_path):
    report = bench_bundle(host_bundle, BenchSettings(runs=30, seconds=0.2, warmup=2, length=16))
    latency = report["latency_ms"]
    assert latency["runs"] >= 30 and latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"]
    assert report["length"] == 64 and report["length_requested"] == 16  # fixed policy: the bucket
    assert report["load_ms"] > 0 and report["memory"]["peak_rss_mb"] > 0 and report["passed"]
    bundle = edited_copy(host_bundle, tmp_path)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["budgets"]["p90_latency_ms"] = 1e-6
    manifest["cpu_affinity"] = [0]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    strict = bench_bundle(bundle, BenchSettings(runs=5, seconds=0, warmup=0, threads=1))
    assert strict["passed"] is False and strict["budget_p90_ms"] == 1e-6
    assert strict["cpu_affinity"] == {"requested": [0], "applied": [0] if hasattr(os, "sched_setaffinity") else []}


def test_bench_runs_where_torch_cannot_be_imported(host_bundle):
    result = run_without_torch("bench", str(host_bundle), "--json", "--runs", "20", "--seconds", "0", "--warmup", "2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["latency_ms"]["runs"] >= 20 and report["runtime"] == "onnxruntime" and report["passed"]


def test_check_runs_where_torch_cannot_be_imported(fp32_bundle):
    result = run_without_torch("check", str(fp32_bundle), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] and report["parity"]["passed"]


def test_bad_bench_settings_are_user_errors(host_bundle, capsys):
    assert main(["bench", str(host_bundle), "--runs", "0"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["check", "bench"])
def test_tables_print(host_bundle, command, capsys):
    argv = [command, str(host_bundle)] + (["--runs", "5", "--seconds", "0"] if command == "bench" else [])
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and host_bundle.name in out.replace("\n", "")
