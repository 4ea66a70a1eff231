"""The typed recipe: the shipped one parses, and mistakes are one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgedistill.errors import UserError
from edgedistill.run.recipe import builtin_names, load_recipe
from edgedistill.run.stages import plan


def test_the_builtin_recipe_goes_from_minilm_on_mr_to_three_device_profiles():
    assert "mr" in builtin_names()
    recipe = load_recipe("builtin:mr")
    assert recipe.out == Path("runs/mr") and recipe.teach.base == "builtin:all-minilm-l6-v2"
    assert recipe.teach.data.source == "builtin:mr-polarity" and recipe.distill.layer_map == [0, 2, 4]
    assert recipe.distill.teacher == recipe.teach.out
    assert [stage.name for stage in plan(load_recipe("builtin:mr", Path("elsewhere")))] == [
        "teach", "distill", "export:raspberry-pi-5", "check:raspberry-pi-5", "export:android-arm64",
        "check:android-arm64", "export:ios-arm64", "check:ios-arm64", "report"]


def test_the_builtin_ner_recipe_tags_conll_with_a_three_layer_student():
    recipe = load_recipe("builtin:conll")
    assert recipe.teach.task == "token-classification" and recipe.teach.data.source == "builtin:conll2003"
    assert recipe.distill.layer_map == [0, 2, 4] and recipe.distill.max_length == recipe.teach.max_length == 96
    assert [stage.name for stage in plan(recipe)][-1] == "report"


@pytest.mark.parametrize(("text", "message"), [
    ('[data]\nsource = "d.csv"\n[export]\ntargets = ["ios-arm64"]\n[teach]\nepoch = 3\n', "[teach]: unknown key 'epoch'"),
    ('[data]\nsource = "d.csv"\n[export]\ntargets = ["ios-arm64"]\n[distill]\nout = "x"\n', "'out' is set by the run"),
    ('[data]\nsource = "d.csv"\n[export]\ntargets = []\n', "at least one device profile"),
    ('teacher = "t"\n[data]\nsource = "d.csv"\n[export]\ntargets = ["ios-arm64"]\n[teach]\nepochs = 1\n', "not both"),
    ('[data]\nsource = "d.csv"\n[export]\ntargets = ["ios-arm64"]\n[distill]\nlayers = "two"\n', "expected int"),
    ('[data]\nsource = "d.csv"\n[export]\ntargets = ["ios-arm64"]\nprofiles = 1\n', "unknown key 'profiles'"),
])
def test_recipe_mistakes_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "recipe.toml"
    path.write_text(text)
    with pytest.raises(UserError) as caught:
        load_recipe(str(path))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unknown_builtin_lists_the_known_ones():
    with pytest.raises(UserError, match="builtin:mr"):
        load_recipe("builtin:nope")


def test_a_reused_teacher_replaces_teach_and_its_content_keys_distill(tmp_path):
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "model.safetensors").write_bytes(b"weights")
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'teacher = "{teacher}"\n[data]\nsource = "builtin:mr-polarity"\n'
                      '[export]\ntargets = ["ios-arm64"]\n')
    stages = plan(load_recipe(str(recipe), tmp_path / "run"))
    assert [stage.name for stage in stages][:2] == ["distill", "export:ios-arm64"] and stages[0].after == ()
    before = stages[0].settings
    (teacher / "model.safetensors").write_bytes(b"retrained")
    assert plan(load_recipe(str(recipe), tmp_path / "run"))[0].settings != before
    (teacher / "model.safetensors").unlink()
    teacher.rmdir()
    with pytest.raises(UserError, match="teacher directory .* not found"):
        plan(load_recipe(str(recipe), tmp_path / "run"))


def test_the_builtin_large_recipe_distils_mpnet_into_an_augmented_minilm_student():
    recipe = load_recipe("builtin:mr-large")
    assert recipe.teach.base == "builtin:all-mpnet-base-v2"
    assert recipe.distill.student_base == "builtin:all-minilm-l6-v2" and recipe.distill.layer_map == [0, 2, 4]
    assert recipe.distill.augment == 24 and recipe.distill.steps == 3000 and recipe.distill.eval_every == 200
