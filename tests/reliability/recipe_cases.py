"""A recipe's fields and `run`'s outputs, generated (issue 23.11 and 23.13):

- every field of a recipe file, and of its [distill] table, given each wrong value (a table of strings where
  numbers belong, as `losses = {hidden = "x"}`; a path holding NUL): one line naming the field;
- a user's file or folder where any stage of the run would write (the report's index.html, a bundle's folder, the
  student's folder), or a run folder that is a file: refused before the first stage runs. Each case first drops the
  world's record of the distill stage, so that every stage would run again: a refusal at the stage that writes there
  would come after minutes of training, and the case would run out of time.
"""

from __future__ import annotations

import json
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path

from tests.reliability.cases import (
    RUN_RECIPE, Case, Damage, _toml_values, field_hints, make_dir, remove, set_path, then, toml_text, write,
)
from tests.reliability.world import RECIPE, RECIPE_TOML, RUN

RERUN_EVERY_STAGE = remove(f"{RUN}/stages/distill.json")
BUNDLE_FOLDER = f"{RUN}/bundles/tiny-host/tiny-student-onnxruntime-fp32"  # what export names the run's bundle


def _recipe(payload: dict) -> Damage:
    return write(RECIPE, toml_text(payload))


def recipe_field_cases() -> Iterator[Case]:
    from edgedistill.distill.config import DistillConfig
    from edgedistill.run.recipe import _RUN_OWNED, RecipeFile

    good = tomllib.loads(RECIPE_TOML)
    for dotted, hint in field_hints(RecipeFile):
        for label, value in _toml_values(hint):
            payload = json.loads(json.dumps(good))
            set_path(payload, dotted, value)
            yield Case(f"recipes/{dotted} is {label}/run", "recipes", RUN_RECIPE, _recipe(payload))
    for name, hint in typing.get_type_hints(DistillConfig).items():
        if name in _RUN_OWNED:
            continue
        for label, value in _toml_values(hint):
            payload = json.loads(json.dumps(good))
            payload["distill"][name] = value
            yield Case(f"recipes/[distill] {name} is {label}/run", "recipes", RUN_RECIPE, _recipe(payload))
    for label, losses in (("a string", "x"), ("a list", [1.0])):
        payload = json.loads(json.dumps(good))
        payload["distill"]["losses"] = {"hidden": losses}
        yield Case(f"recipes/[distill] losses = {{hidden = {label}}}/run", "recipes", RUN_RECIPE, _recipe(payload),
                   says="[distill].losses.hidden: expected float")


def _user_page(relative: str) -> Damage:
    def damage(workspace: Path) -> None:
        (workspace / relative).parent.mkdir(parents=True, exist_ok=True)
        (workspace / relative).write_text("<html><body>my own page</body></html>\n")
    return damage


def run_output_cases() -> Iterator[Case]:
    mine = "mine"  # a user's folder given as --out
    held = {
        "the report's index.html is a page of the user's": (RUN_RECIPE, _user_page(f"{RUN}/report/index.html"),
                                                            "was not written by `edgedistill report`"),
        "a bundle's folder holds a user's files": (RUN_RECIPE, make_dir(BUNDLE_FOLDER), "holds files edgedistill did not"),
        "the student's folder holds a user's files": (RUN_RECIPE, then(remove(f"{RUN}/tiny-student"),
                                                                       make_dir(f"{RUN}/tiny-student")),
                                                      "holds files edgedistill did not"),
        "--out is a user's folder holding report/index.html": ((*RUN_RECIPE, "--out", mine),
                                                               _user_page(f"{mine}/report/index.html"),
                                                               "was not written by `edgedistill report`"),
    }
    for what, (argv, damage, says) in held.items():
        yield Case(f"run-outputs/{what}/run", "run-outputs", argv, then(RERUN_EVERY_STAGE, damage), says=says)


def recipe_cases() -> list[Case]:
    return [*recipe_field_cases(), *run_output_cases()]
