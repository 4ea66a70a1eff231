"""QAT is the fallback: the pipeline runs it only when no cheaper recipe of its precision meets the budget."""

import pytest

from edgedistill.export.pipeline import ExportRequest, run_export
from edgedistill.targets.executorch import TARGET
from edgedistill.targets.registry import load_profile
from tests.export.conftest import write_profile

pytestmark = pytest.mark.slow  # real ExecuTorch exports


def _executorch_profile(path, max_accuracy_drop):
    text = write_profile(path, 'policy = "fixed"\nmax_length = 32\nbuckets = [32]', ["int8"], max_accuracy_drop)
    text.write_text(text.read_text().replace('runtimes = ["onnxruntime"]', 'runtimes = ["executorch"]'))
    return text


def test_qat_is_skipped_once_a_cheaper_int8_recipe_passes(tiny_student_dir, tmp_path):
    profile = _executorch_profile(tmp_path / "et-loose.toml", max_accuracy_drop=6.0)
    recipes = [TARGET.recipe(name, load_profile(str(profile))) for name in ("int8-dynamic", "int8-qat")]
    report = run_export(ExportRequest(student_dir=tiny_student_dir, profile=str(profile), out_dir=tmp_path / "out",
                                      recipes=recipes))
    entries = {entry["recipe"]: entry for entry in report["runtimes"]["executorch"]["candidates"]}
    assert entries["int8-dynamic"]["status"] == "kept"
    assert entries["int8-qat"]["status"] == "skipped"
    assert "int8-dynamic" in entries["int8-qat"]["reason"]
