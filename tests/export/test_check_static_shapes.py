"""`check` and `bench` on static-shape bundles (TFLite, ExecuTorch) exported under dynamic and multi-bucket profiles.

Golden vectors follow the profile's policy (widths 8, 16, 32, 64 dynamic; 16 and 64 with buckets [16, 64]). An
artifact with one static length pads narrower inputs itself, so parity must hold at every golden width; a TFLite
file with one signature per bucket runs each width in its own signature.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgedistill.check.bench import BenchSettings, bench_bundle
from edgedistill.check.dispatch import check_bundle
from edgedistill.export.pipeline import ExportRequest, run_export
from edgedistill.third_party import LOG_FILE
from tests.export.conftest import write_profile

pytestmark = pytest.mark.slow  # real TFLite and ExecuTorch exports

# The profile's sequence table, and the golden widths it gives for budgets of 8, 16, 32 and 64 tokens.
SEQUENCES = {"dynamic": ('policy = "dynamic"\nmax_length = 64', [8, 16, 32, 64]),
             "two-buckets": ('policy = "fixed"\nmax_length = 64\nbuckets = [16, 64]', [16, 16, 64, 64])}


@pytest.mark.parametrize("runtime", ["tflite", "executorch"])
@pytest.mark.parametrize("policy", sorted(SEQUENCES))
def test_check_and_bench_pass_on_static_shape_bundles(tiny_student_dir, profiles_dir, tmp_path, runtime, policy):
    sequence, widths = SEQUENCES[policy]
    profile = write_profile(profiles_dir / f"{runtime}-{policy}.toml", sequence, ["fp32"], max_accuracy_drop=1.0)
    profile.write_text(profile.read_text().replace('runtimes = ["onnxruntime"]', f'runtimes = ["{runtime}"]'))
    report = run_export(ExportRequest(student_dir=tiny_student_dir, profile=str(profile), out_dir=tmp_path / "out"))
    bundle = Path(report["runtimes"][runtime]["bundle"])
    assert report["runtimes"][runtime]["check"]["passed"]  # export ran `check` on what it wrote
    check = check_bundle(bundle)
    assert check["passed"], check
    assert [entry["width"] for entry in check["parity"]["lengths"]] == widths
    assert all(entry["max_abs_logit_diff"] <= 1e-4 for entry in check["parity"]["lengths"])
    bench = bench_bundle(bundle, BenchSettings(runs=5, seconds=0.1, warmup=1, length=16))
    assert bench["passed"] and bench["latency_ms"]["p50"] > 0
    if runtime == "tflite" and policy == "two-buckets":
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["export_report"]["signatures"] == {"len_16": 16, "len_64": 64}
        assert bench["length"] == 16  # so bench timed the 16-token signature, not the 64 one


def test_export_removes_a_bundle_that_fails_its_own_check(tiny_student_dir, profiles_dir, tmp_path, monkeypatch):
    import edgedistill.check.dispatch as dispatch
    from edgedistill.errors import UserError

    real = dispatch.check_bundle

    def failing_parity(bundle):
        return {**real(bundle), "passed": False, "gates": {"accuracy": True, "parity": False, "tokenizer": True}}

    monkeypatch.setattr(dispatch, "check_bundle", failing_parity)
    profile = write_profile(profiles_dir / "ort-fp32.toml", SEQUENCES["dynamic"][0], ["fp32"], max_accuracy_drop=1.0)
    with pytest.raises(UserError, match="failed its own check on x86-64 \\(parity\\) and was removed"):
        run_export(ExportRequest(student_dir=tiny_student_dir, profile=str(profile), out_dir=tmp_path / "out"))
    assert {path.name for path in (tmp_path / "out").iterdir()} - {LOG_FILE} == {"export_report.json"}


def test_export_converter_flag_picks_onnx2tf(tiny_student_dir, profiles_dir, tmp_path):
    from edgedistill.cli import main

    profile = write_profile(profiles_dir / "tflite-fp32.toml", SEQUENCES["dynamic"][0], ["fp32"], max_accuracy_drop=1.0)
    profile.write_text(profile.read_text().replace('runtimes = ["onnxruntime"]', 'runtimes = ["tflite"]'))
    out = tmp_path / "out"
    assert main(["export", str(tiny_student_dir), "--target", str(profile), "--out", str(out), "--converter", "onnx2tf"]) == 0
    (bundle,) = [path for path in out.iterdir() if path.is_dir()]
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["quantization"]["options"]["converter"] == "onnx2tf" and "onnx2tf" in manifest["toolchain"]
    assert check_bundle(bundle)["passed"]
