"""`bench --out` result files and `results`: real benches of real bundles, merged with their manifests' figures."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from edgedistill.check.device_results import device_latencies, merge_device_results
from edgedistill.cli import main

pytestmark = pytest.mark.slow  # real ONNX Runtime exports and benches

QUICK = ["--runs", "10", "--seconds", "0", "--warmup", "1"]


@pytest.fixture(scope="module")
def result_files(host_bundle, fp32_bundle, tmp_path_factory):
    """Three real results: the int8 bundle at 1 and at 2 threads, and the fp32 bundle."""
    root = tmp_path_factory.mktemp("results")
    runs = {"one-thread.json": (host_bundle, "1"), "two-threads.json": (host_bundle, "2"), "fp32.json": (fp32_bundle, "1")}
    for name, (bundle, threads) in runs.items():
        assert main(["bench", str(bundle), *QUICK, "--threads", threads, "--out", str(root / name)]) == 0
    return [root / name for name in runs]


def test_a_result_names_its_bundle_build_and_the_device(result_files, host_bundle):
    result = json.loads(result_files[0].read_text())
    manifest = json.loads((host_bundle / "manifest.json").read_text())
    assert result["format"] == "edgedistill-bench-result" and result["schema_version"] == 1
    assert result["bundle"]["name"] == manifest["name"] and result["bundle"]["profile"] == manifest["target"]
    assert result["device"]["hostname"] == socket.gethostname() and result["device"]["cpu"]["logical_cores"] >= 1
    assert {"python", "edgedistill", "onnxruntime", "numpy"} <= set(result["device"]["versions"])
    assert result["bench"]["threads"] == 1 and result["bench"]["latency_ms"]["runs"] >= 10


def test_export_ranks_by_the_results_of_its_own_profile_and_names_the_others(result_files):
    profiles = {path: json.loads(path.read_text())["bundle"]["profile"] for path in result_files}
    own_profile = profiles[result_files[0]]
    assert set(profiles.values()) == {own_profile, "dynamic-fp32"}  # the fp32 bundle was exported for another
    own = device_latencies(result_files, own_profile)
    assert own.other_profiles == ("fp32.json (profile dynamic-fp32)",) and own.devices == (socket.gethostname(),)
    assert list(own.p50_ms["onnxruntime"]) == [json.loads(result_files[0].read_text())["bundle"]["recipe"]]
    other = device_latencies(result_files, "raspberry-pi-5")
    assert other.p50_ms == {} and other.other_profiles == tuple(f"{path.name} (profile {profiles[path]})"
                                                                for path in result_files)


def test_results_merge_one_column_per_device_beside_the_export_figures(result_files, host_export, fp32_bundle,
                                                                        tmp_path, capsys):
    _, export_dir = host_export
    out = tmp_path / "merged.json"
    argv = ["results", *map(str, result_files), "--bundle", str(export_dir), "--bundle", str(fp32_bundle), "--out", str(out)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    merged = json.loads(out.read_text())
    by_name = {group["name"]: group for group in merged["bundles"]}
    host_name = json.loads(result_files[0].read_text())["bundle"]["name"]
    fp32_name = json.loads((fp32_bundle / "manifest.json").read_text())["name"]
    assert set(by_name) == {host_name, fp32_name}
    host = by_name[host_name]
    manifest = json.loads((Path(host["export"]["source"])).read_text())
    assert host["export"]["figures"]["p50_ms"] == manifest["metrics"]["latency_ms"]["p50"]
    assert host["export"]["figures"]["accuracy"] == manifest["metrics"]["accuracy"]
    hostname = socket.gethostname()
    assert [column["label"] for column in host["devices"]] == [hostname, f"{hostname} #2"]
    assert [column["figures"]["threads"] for column in host["devices"]] == [1, 2]
    for column, path in zip(host["devices"], result_files[:2]):
        assert column["figures"]["p90_ms"] == json.loads(path.read_text())["bench"]["latency_ms"]["p90"]
    assert [column["label"] for column in by_name[fp32_name]["devices"]] == [hostname]
    assert host_name in table.replace("\n", "") and f"{hostname} #2" in table and "p90 ms" in table and "export" in table
    assert main(argv) == 0  # a merged file of ours is replaced; anything else is not (below)


def test_results_without_manifests_still_merge(result_files, capsys):
    merged = merge_device_results(result_files[:1])
    assert merged["bundles"][0]["export"] is None and len(merged["bundles"][0]["devices"]) == 1
    assert main(["results", str(result_files[0])]) == 0
    assert "no export-time column: pass the bundle with --bundle" in capsys.readouterr().out


@pytest.mark.parametrize("damage, message", [
    (lambda r: {"format": "something else"}, "is not a bench result; give files written by `edgedistill bench --out`"),
    (lambda r: {**r, "schema_version": 7}, "schema_version 7 is newer than this edgedistill reads (1); upgrade edgedistill"),
    (lambda r: {**r, "bench": {**r["bench"], "latency_ms": "fast"}}, "does not match the bench result schema at $.bench.latency_ms"),
    (lambda r: {**r, "bundle": {**r["bundle"], "manifest_sha256": "../x"}}, "does not match the bench result schema"),
    (lambda r: [r], "is not a bench result"),
])
def test_a_bad_result_file_is_one_line_naming_it(result_files, tmp_path, capsys, damage, message):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(damage(json.loads(result_files[0].read_text()))))
    assert main(["results", str(result_files[0]), str(bad)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: {bad}") and message in error and "\n" not in error


def test_outputs_never_replace_what_is_not_ours(result_files, host_bundle, tmp_path, capsys):
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": 1}')
    folder = tmp_path / "folder"
    folder.mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(notes)
    for out in (notes, folder, link):
        assert main(["results", str(result_files[0]), "--out", str(out)]) == 2
        assert main(["bench", str(host_bundle), *QUICK, "--out", str(out)]) == 2
    assert notes.read_text() == '{"mine": 1}' and list(folder.iterdir()) == []
    assert main(["results", str(result_files[0]), "--out", str(result_files[1])]) == 2  # a result is not a merge
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 7 and all(line.startswith("error: --out ") for line in errors)
    assert main(["results", str(result_files[0]), "--bundle", str(tmp_path / "absent")]) == 2
    assert "--bundle" in capsys.readouterr().err
