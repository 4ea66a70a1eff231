"""A runtime from another package: one entry point in the `edgedistill.targets` group, no edit to edgedistill."""

from __future__ import annotations

import textwrap

import pytest

from edgedistill.errors import UserError
from edgedistill.targets.base import Recipe
from edgedistill.targets.registry import get_target, runtime_names

PLUGIN = '''
from edgedistill.targets.base import Target


class EchoTarget(Target):
    name = "echo"
    artifact_suffix = ".echo"
    packages = ("numpy",)
    recipe_descriptions = {"fp32": "copies the student"}
    default_recipes = ("fp32",)

    def build_recipe(self, name, profile):
        raise NotImplementedError

    def export(self, inputs, recipe):
        raise NotImplementedError

    def load(self, artifact, threads):
        raise NotImplementedError


TARGET = EchoTarget()
MISNAMED = EchoTarget()
MISNAMED.name = "other"
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "echo_runtime").mkdir(parents=True)
    (site / "echo_runtime" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "echo_runtime-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-runtime\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[edgedistill.targets]\necho = echo_runtime:TARGET\n"
                                           "broken = echo_runtime:MISNAMED\nonnxruntime = echo_runtime:TARGET\n")
    monkeypatch.syspath_prepend(str(site))


def test_an_entry_point_adds_a_runtime(plugin):
    assert {"echo", "onnxruntime", "executorch", "tflite"} <= set(runtime_names())
    target = get_target("echo")
    assert target.artifact_name("student", Recipe("fp32", "fp32", "copies the student")) == "student_echo_fp32.echo"


def test_a_plugin_cannot_take_a_builtin_name_or_misname_itself(plugin):
    assert type(get_target("onnxruntime")).__name__ == "OnnxRuntimeTarget"
    with pytest.raises(UserError, match="is not a Target named 'broken'"):
        get_target("broken")
