"""The typed recipe of `edgedistill run`: data, teach (or a trained teacher), distill, the profiles to export for.

A recipe is a TOML or YAML file, or `builtin:NAME` for one shipped in `edgedistill/run/recipes/`. Its [teach] and
[distill] tables take the keys `teach --config` and `distill --config` files take, less the ones the run sets
itself (data, out, teacher, resume, overwrite). Relative paths are read from the current directory, like flags.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgedistill.data.dataset import DataSpec
from edgedistill.distill.config import DistillConfig, TeachConfig
from edgedistill.errors import UserError
from edgedistill.fsutil import check_name, inside, require_apart
from edgedistill.typed_config import from_mapping, load_mapping

BUILTIN_PREFIX = "builtin:"
RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
# Set by the run for every stage, so a recipe's stage tables may not.
_RUN_OWNED = ("data", "out", "teacher", "resume", "overwrite")


@dataclass(frozen=True)
class ExportPlan:
    """The profiles to export for (names from `edgedistill targets`, or profile files) and export's options."""

    targets: list[str]
    prune_vocab: bool = False
    # With prune_vocab: keep only tokens the task's texts produce at least this many times.
    prune_min_count: int = 1
    calibration: str | None = None
    converter: str | None = None
    # Check arm64 profiles' kept bundles on Arm kernels under qemu when the arm64 env is built (minutes per bundle).
    arm_check: bool = True


@dataclass(frozen=True)
class RecipeFile:
    """A recipe file as written; `resolve` turns it into the settings of every stage."""

    data: DataSpec
    export: ExportPlan
    name: str | None = None
    out: Path | None = None  # the run folder; default runs/NAME
    teacher: Path | None = None  # a trained teacher to reuse instead of [teach]
    teach: dict[str, Any] = field(default_factory=dict)
    distill: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """Every stage's settings, with the run folder's paths filled in."""

    source: str  # what `edgedistill run` was given, for the resume command
    name: str
    out: Path
    teach: TeachConfig | None  # None when the recipe reuses a trained teacher
    distill: DistillConfig
    export: ExportPlan

    def inputs(self) -> list[tuple[str, object]]:
        """What the run reads that the user named (builtin:NAME sources are no paths): no output may overlap one."""
        distill = self.distill
        named = [("recipe", self.source), ("data", distill.data.source), ("test data", distill.data.test_source),
                 ("transfer set", distill.transfer), ("student base", distill.student_base),
                 ("calibration set", self.export.calibration), *(("device profile", t) for t in self.export.targets)]
        if self.teach is None:
            return [*named, ("teacher", distill.teacher)]
        return [*named, ("base encoder", self.teach.base)]


def builtin_names() -> list[str]:
    return sorted(path.stem for path in RECIPES_DIR.glob("*.toml"))


def load_recipe(source: str, out: Path | None = None) -> Recipe:
    """The recipe at `source` (a file, or builtin:NAME), its run folder `out` when given."""
    path = _recipe_path(source)
    where = source
    recipe_file = from_mapping(RecipeFile, load_mapping(path), where)
    return resolve(recipe_file, source, path.stem, out, where)


def resolve(recipe: RecipeFile, source: str, default_name: str, out: Path | None, where: str) -> Recipe:
    """Each stage's config: teach writes RUN/NAME-teacher; distill reads it (or `teacher`), writes RUN/NAME-student."""
    name = check_name(default_name if recipe.name is None else recipe.name,
                      f"{where}: run name (its `name`, else the recipe file's)")
    run_dir = Path(out or recipe.out or Path("runs") / name)
    if not recipe.export.targets:
        raise UserError(f"{where}: export.targets must list at least one device profile")
    if recipe.teacher is not None and recipe.teach:
        raise UserError(f"{where}: give either teacher = PATH (reuse a trained teacher) or a [teach] table, not both")
    data = dataclasses.asdict(recipe.data)
    teacher, teach = recipe.teacher, None
    if teacher is None:
        teacher = inside(run_dir, f"{name}-teacher")
        teach = _stage_config(TeachConfig, recipe.teach, {"data": data, "out": str(teacher)}, f"{where} [teach]")
    distill = _stage_config(DistillConfig, recipe.distill,
                            {"data": data, "out": str(inside(run_dir, f"{name}-student")), "teacher": str(teacher)},
                            f"{where} [distill]")
    if distill.init not in ("teacher", "random"):
        raise UserError(f"{where} [distill]: init must be 'teacher' or 'random' (got {distill.init!r})")
    resolved = Recipe(source, name, run_dir, teach, distill, recipe.export)
    require_apart(run_dir, resolved.inputs())
    return resolved


def _stage_config(config_type: type, table: dict[str, Any], owned: dict[str, Any], where: str):
    allowed = sorted({f.name for f in dataclasses.fields(config_type)} - set(_RUN_OWNED))
    for key in table:
        if key in _RUN_OWNED:
            raise UserError(f"{where}: {key!r} is set by the run (data at the top of the recipe, teacher = PATH "
                            "to reuse one); remove it from this table")
        if key not in allowed:
            raise UserError(f"{where}: unknown key {key!r}; valid keys: {', '.join(allowed)}")
    return from_mapping(config_type, {**table, **owned}, where)


def _recipe_path(source: str) -> Path:
    if source.startswith(BUILTIN_PREFIX):
        name = check_name(source[len(BUILTIN_PREFIX):], "recipe name")
        if name not in builtin_names():
            raise UserError(f"unknown recipe {source!r}; built in: "
                            f"{', '.join(BUILTIN_PREFIX + known for known in builtin_names())}")
        return RECIPES_DIR / f"{name}.toml"
    return Path(source)
