"""`edgedistill run` for a token classifier: a trained tagger reused, a word-level KD student, an int8 bundle gated
and checked on entity F1, and a report that reads entity F1."""

from __future__ import annotations

import json

import pytest

from edgedistill.bundle.reader import open_bundle
from edgedistill.cli import main
from edgedistill.modeldir import read_data_spec
from tests.run.conftest import DISTILL, toml_table, write_profile

pytestmark = pytest.mark.slow  # a distillation and a real ONNX Runtime export


def test_a_ner_recipe_runs_to_checked_bundles_and_an_entity_f1_report(tiny_tagger_dir, tmp_path):
    profile = write_profile(tmp_path / "tiny-tagger.toml", 'policy = "dynamic"\nmax_length = 32', '["int8"]',
                            "max_accuracy_drop = 5.0")
    recipe = tmp_path / "ner.toml"
    recipe.write_text(f'name = "ner"\nteacher = "{tiny_tagger_dir}"\n'
                      + toml_table("data", {"source": read_data_spec(tiny_tagger_dir).source})
                      + toml_table("distill", {**DISTILL, "max_length": 32})
                      + toml_table("export", {"targets": [str(profile)]}))
    run_dir = tmp_path / "run"
    assert main(["run", str(recipe), "--out", str(run_dir)]) == 0

    folder = run_dir / "bundles" / "tiny-tagger"
    report = json.loads((folder / "export_report.json").read_text())
    assert report["metric"] == "entity_f1"
    bundle = folder / report["runtimes"]["onnxruntime"]["bundle"].rsplit("/", 1)[-1]
    assert open_bundle(bundle).manifest.task_kind == "token-classification"
    checks = json.loads((folder / "checks.json").read_text())
    assert checks[bundle.name]["passed"] and "entity_f1" in checks[bundle.name]["gates"]
    page = (run_dir / "report" / "index.html").read_text()
    assert "Entity F1 against p90 latency" in page and "test entity F1" in page
