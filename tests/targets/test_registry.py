"""The target registry: a runtime from another package is one entry point in the `edgedistill.targets` group,
and profiles meet runtimes here."""

from __future__ import annotations

import textwrap

import pytest

from edgedistill.errors import UserError
from edgedistill.targets.base import Recipe
from edgedistill.profiles import parse_profile
from edgedistill.targets.registry import get_target, load_profile, resolve_profile, runtime_names

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


def test_profiles_meet_runtimes_at_the_registry(tmp_path, plugin):
    """The profile loader reads runtime tables as data; the registry checks the names and types the tables."""
    base = {"name": "p", "description": "", "isa": "arm64"}
    plain = parse_profile({**base, "runtimes": ["echo", "onnxruntime"], "onnxruntime": {"weight_type": "int8"}}, "p.toml")
    assert plain.runtime_options == {"onnxruntime": {"weight_type": "int8"}}
    resolved = resolve_profile(plain, "p.toml")
    assert resolved.runtime_options["onnxruntime"].weight_type == "int8" and resolved.runtime_options["echo"] == {}
    with pytest.raises(UserError, match="unknown runtime 'coreml'"):
        resolve_profile(parse_profile({**base, "runtimes": ["coreml"]}, "p.toml"), "p.toml")
    with pytest.raises(UserError, match=r"has a \[tflite\] table but runtimes does not list"):
        parse_profile({**base, "runtimes": ["onnxruntime"], "tflite": {}}, "p.toml")
    profile = tmp_path / "custom.toml"
    profile.write_text('name = "custom"\ndescription = ""\nisa = "arm64"\nruntimes = ["echo"]\n')
    assert load_profile(str(profile)).runtimes == ["echo"]
