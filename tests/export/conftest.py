"""Real ONNX Runtime exports of the tiny student, shared by the export/check/bench tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedistill.export.pipeline import ExportRequest, run_export


def write_profile(path: Path, sequence: str, precisions: list[str], max_accuracy_drop: float,
                  p90_latency_ms: float | None = None) -> Path:
    """An onnxruntime-only device profile; the tiny test split has 40 texts, so one flip costs 2.5 points."""
    budget = "" if p90_latency_ms is None else f"p90_latency_ms = {p90_latency_ms}\n"
    path.write_text(
        f'name = "{path.stem}"\ndescription = "test profile"\nisa = "x86-64"\nruntimes = ["onnxruntime"]\n'
        f"threads = 1\nprecisions = {precisions!r}\n".replace("'", '"')
        + f"[sequence]\n{sequence}\n[budgets]\nmax_accuracy_drop = {max_accuracy_drop}\n{budget}"
    )
    return path


@pytest.fixture(scope="session")
def profiles_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("profiles")


@pytest.fixture(scope="session")
def host_profile(profiles_dir) -> Path:
    """Like x86-64-host (fixed bucket 64) restricted to onnxruntime int8, with room for one or two flips."""
    return write_profile(profiles_dir / "host-ort.toml", 'policy = "fixed"\nmax_length = 64\nbuckets = [64]',
                         ["int8"], max_accuracy_drop=6.0)


@pytest.fixture(scope="session")
def host_export(tiny_student_dir, host_profile, tmp_path_factory):
    """(report, out_dir) of exporting the default onnxruntime int8 recipes for the host-like profile."""
    out = tmp_path_factory.mktemp("host-bundles")
    return run_export(ExportRequest(student_dir=tiny_student_dir, profile=str(host_profile), out_dir=out)), out


@pytest.fixture(scope="session")
def host_bundle(host_export) -> Path:
    report, _ = host_export
    return Path(report["runtimes"]["onnxruntime"]["bundle"])


@pytest.fixture(scope="session")
def fp32_bundle(tiny_student_dir, profiles_dir, tmp_path_factory) -> Path:
    """An fp32 bundle under a dynamic sequence policy, so golden widths differ (8, 16, 32, 64), exported with a
    model card file of the exporter's own words."""
    profile = write_profile(profiles_dir / "dynamic-fp32.toml", 'policy = "dynamic"\nmax_length = 64', ["fp32"],
                            max_accuracy_drop=1.0)
    out = tmp_path_factory.mktemp("fp32-bundles")
    card = profiles_dir / "model-card.yaml"
    card.write_text("intended_use: Test that a model card reaches the manifest.\n"
                    "limits:\n  - Knows only synthetic sentiment words.\n")
    report = run_export(ExportRequest(student_dir=tiny_student_dir, profile=str(profile), out_dir=out,
                                      runtime="onnxruntime", model_card=card))
    return Path(report["runtimes"]["onnxruntime"]["bundle"])
