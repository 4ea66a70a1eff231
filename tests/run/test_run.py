"""`edgedistill run` end to end on a tiny recipe: bundles that verify, a report, reruns that skip what is unchanged."""

from __future__ import annotations

import json
import re

import pytest

from edgedistill.bundle.reader import open_bundle
from edgedistill.check.dispatch import check_bundle
from edgedistill.cli import main
from edgedistill.run.ledger import Ledger
from edgedistill.run.recipe import load_recipe
from edgedistill.run.runner import run_recipe
from edgedistill.third_party import LOG_FILE
from tests.run.conftest import write_profile, write_recipe

pytestmark = pytest.mark.slow  # real ONNX Runtime exports

STAGES = ["teach", "distill", "export:tiny-int8", "check:tiny-int8", "export:tiny-fp32", "check:tiny-fp32", "report"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_csv, tiny_base):
    """(recipe file, run folder, profile files) after one `edgedistill run` of the tiny recipe."""
    folder = tmp_path_factory.mktemp("tiny-run")
    profiles = {
        "int8": write_profile(folder / "tiny-int8.toml", 'policy = "fixed"\nmax_length = 32\nbuckets = [32]',
                              '["int8"]', "max_accuracy_drop = 6.0"),
        "fp32": write_profile(folder / "tiny-fp32.toml", 'policy = "dynamic"\nmax_length = 64', '["fp32"]',
                              "max_accuracy_drop = 1.0"),
    }
    recipe = write_recipe(folder / "tiny.toml", tiny_csv, tiny_base, [profiles["int8"], profiles["fp32"]])
    run_dir = folder / "run"
    assert main(["run", str(recipe), "--out", str(run_dir)]) == 0
    return recipe, run_dir, profiles


def test_run_writes_bundles_that_verify_and_pass_their_check(tiny_run):
    _, run_dir, _ = tiny_run
    for profile in ("tiny-int8", "tiny-fp32"):
        folder = run_dir / "bundles" / profile
        report = json.loads((folder / "export_report.json").read_text())
        bundle = folder / report["runtimes"]["onnxruntime"]["bundle"].rsplit("/", 1)[-1]
        for entry in report["runtimes"]["onnxruntime"]["candidates"]:  # export records each latency distribution
            distribution = entry["latency_distribution"]
            assert len(distribution["ms"]) == 21 and distribution["ms"] == sorted(distribution["ms"])
            assert distribution["ms"][10] == pytest.approx(entry["metrics"]["latency_ms"]["p50"])
        assert bundle.name.startswith("tiny-student-onnxruntime-")
        assert open_bundle(bundle).manifest.target == profile
        assert check_bundle(bundle)["passed"]
        checks = json.loads((folder / "checks.json").read_text())
        assert list(checks) == [bundle.name] and checks[bundle.name]["passed"]
    record = json.loads((run_dir / "tiny-student" / "distill.json").read_text())
    assert record["teacher"] == str((run_dir / "tiny-teacher").resolve())


def test_the_libraries_warnings_of_every_stage_go_to_the_run_folders_log(tiny_run):
    _, run_dir, _ = tiny_run
    assert "torchvision is not installed" in (run_dir / LOG_FILE).read_text()  # torch's exporter, in an export stage
    assert not any((run_dir / "bundles" / profile / LOG_FILE).exists() for profile in ("tiny-int8", "tiny-fp32"))


def test_run_writes_the_report(tiny_run):
    _, run_dir, _ = tiny_run
    page = (run_dir / "report" / "index.html").read_text()
    assert len(re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', page)) == 4
    assert "int8-dynamic" in page and "tiny-fp32" in page and "Gate decisions" in page


def test_rerun_skips_every_stage(tiny_run, capsys):
    recipe, run_dir, _ = tiny_run
    before = {stage: Ledger(run_dir).read(stage) for stage in STAGES}
    assert all(record is not None and record.status == "done" for record in before.values())
    capsys.readouterr()
    assert run_recipe(load_recipe(str(recipe), run_dir)) == {stage: "skipped" for stage in STAGES}
    assert {stage: Ledger(run_dir).read(stage) for stage in STAGES} == before
    assert capsys.readouterr().err.count("skipped, inputs unchanged") == len(STAGES)


def test_a_changed_setting_reruns_only_what_follows_it(tiny_run):
    recipe, run_dir, profiles = tiny_run
    profile = profiles["fp32"]
    profile.write_text(profile.read_text().replace("max_accuracy_drop = 1.0", "max_accuracy_drop = 2.0"))
    assert run_recipe(load_recipe(str(recipe), run_dir)) == {
        "teach": "skipped", "distill": "skipped", "export:tiny-int8": "skipped", "check:tiny-int8": "skipped",
        "export:tiny-fp32": "ran", "check:tiny-fp32": "ran", "report": "ran"}
    assert json.loads((run_dir / "bundles" / "tiny-fp32" / "export_report.json").read_text())["budgets"][
        "max_accuracy_drop"] == 2.0

    recipe.write_text(recipe.read_text().replace("epochs = 4", "epochs = 3"))  # the [distill] table's
    outcomes = run_recipe(load_recipe(str(recipe), run_dir))
    assert outcomes == {stage: "skipped" if stage == "teach" else "ran" for stage in STAGES}
    assert len(json.loads((run_dir / "tiny-student" / "metrics.json").read_text())["history"]) == 3


def test_a_failed_stage_names_itself_and_the_command_that_resumes(tiny_run, capsys):
    recipe, run_dir, profiles = tiny_run
    impossible = write_profile(run_dir.parent / "tiny-impossible.toml", 'policy = "dynamic"\nmax_length = 64',
                               '["fp32"]', "max_accuracy_drop = 1.0\np90_latency_ms = 0.0001")
    broken = run_dir.parent / "broken.toml"  # the same recipe but for its second profile, which no recipe can meet
    broken.write_text(recipe.read_text().replace(str(profiles["fp32"]), str(impossible)))
    capsys.readouterr()
    assert main(["run", str(broken), "--out", str(run_dir)]) == 2
    captured = capsys.readouterr()
    error = captured.err.strip().splitlines()[-1]
    assert error.startswith("error: stage export:tiny-impossible failed: no bundle written for onnxruntime")
    assert error.endswith(f"resume with: edgedistill run {broken} --out {run_dir}")
    assert "[1/7] teach: skipped" in captured.err and "[3/7] export:tiny-int8: skipped" in captured.err
    assert Ledger(run_dir).read("export:tiny-impossible").status == "running"
