"""The stages of a run, in order: teach (unless a trained teacher is given), distill, then per profile an export and
a check of its bundles, then the report. Each says what its key hashes, which stages it follows, and where its
output lies; the runner decides whether it runs.

RUN/NAME-teacher, RUN/NAME-student     teach and distill
RUN/bundles/PROFILE/                   export: the bundles, export_report.json, and check's checks.json
RUN/report/index.html                  report
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgedistill.bundle.reader import is_written_bundle
from edgedistill.distill.config import DistillConfig, TeachConfig
from edgedistill.errors import UserError
from edgedistill.export.pipeline import REPORT_FILE, require_writable_out
from edgedistill.fsutil import inside
from edgedistill.jsonio import read_json, write_json
from edgedistill.modeldir import METRICS_FILE
from edgedistill.profiles import DeviceProfile
from edgedistill.report.lengths import SweepSettings
from edgedistill.report.records import CHECKS_FILE
from edgedistill.report.writer import PAGE_FILE, require_writable_page
from edgedistill.run.ledger import folder_fingerprint, source_fingerprint
from edgedistill.run.recipe import Recipe
from edgedistill.targets.registry import load_profile

REPORT_DIR = "report"
BUNDLES_DIR = "bundles"


@dataclass(frozen=True)
class Stage:
    name: str
    settings: dict[str, Any]  # what its key hashes, with the run ids of the stages in `after`
    after: tuple[str, ...]
    output: Path  # a file the stage writes last: while it is missing, the stage has not finished
    action: Callable[[bool], None]  # called with resume=True when the same stage was interrupted before
    # Called for what it raises: what would refuse the stage's outputs at its end (a user's file where one goes, a
    # link, a runtime not usable here). The runner asks every stage before the first runs, not the last after hours.
    require_writable: Callable[[], object]


def plan(recipe: Recipe) -> list[Stage]:
    stages = [] if recipe.teach is None else [_teach(recipe.teach)]
    stages.append(_distill(recipe.distill, reuses_teacher=recipe.teach is None))
    checks = []
    for target in recipe.export.targets:
        profile = load_profile(target)
        folder = inside(recipe.out, BUNDLES_DIR, profile.name)  # a plain name: profiles.parse_profile checks it
        stages += [_export(recipe, target, profile, folder), _check(profile.name, folder)]
        checks.append(stages[-1].name)
    stages.append(_report(recipe.out, tuple(checks)))
    return stages


def _training_settings(config: TeachConfig | DistillConfig, *paths_kept_out: str) -> dict[str, Any]:
    """The settings that decide a trained model: not where it is written, nor whether training resumes."""
    settings = {key: value for key, value in dataclasses.asdict(config).items()
                if key not in ("out", "resume", "overwrite", *paths_kept_out)}
    settings["data"] = {**settings["data"], "source": source_fingerprint(config.data.source),
                        "test_source": source_fingerprint(config.data.test_source)}
    return settings


def _teach(config: TeachConfig) -> Stage:
    from edgedistill.distill.teach import run_teach

    return Stage("teach", _training_settings(config), (), config.out / METRICS_FILE,
                 lambda resume: run_teach(dataclasses.replace(config, resume=resume)), _model_dir_writable(config))


def _distill(config: DistillConfig, reuses_teacher: bool) -> Stage:
    from edgedistill.distill.trainer import run_distill

    settings = _training_settings(config, "teacher")
    settings["transfer"] = source_fingerprint(config.transfer)
    if reuses_teacher:
        settings["teacher"] = folder_fingerprint(config.teacher)
    return Stage("distill", settings, () if reuses_teacher else ("teach",), config.out / METRICS_FILE,
                 lambda resume: run_distill(dataclasses.replace(config, resume=resume)), _model_dir_writable(config))


def _model_dir_writable(config: TeachConfig | DistillConfig) -> Callable[[], object]:
    def require() -> None:
        from edgedistill.distill.outputs import require_output_dir

        require_output_dir(config.out, config.overwrite, [])  # the run's inputs: checked apart by load_recipe
    return require


def _export(recipe: Recipe, target: str, profile: DeviceProfile, folder: Path) -> Stage:
    from edgedistill.export.pipeline import ExportRequest, run_export

    options = recipe.export
    settings = {"profile": dataclasses.asdict(profile), "prune_vocab": options.prune_vocab,
                "calibration": source_fingerprint(options.calibration), "converter": options.converter,
                # Only when set, so the runs recorded before the option existed keep their keys.
                **({"prune_min_count": options.prune_min_count} if options.prune_min_count != 1 else {})}
    request = ExportRequest(student_dir=recipe.distill.out, profile=target, out_dir=folder,
                            calibration=options.calibration, converter=options.converter,
                            prune_vocab=options.prune_vocab, prune_min_count=options.prune_min_count,
                            arm_check=options.arm_check)

    def export(_resume: bool) -> None:
        _clear_export(folder)
        run_export(request)

    return Stage(f"export:{profile.name}", settings, ("distill",), folder / REPORT_FILE, export,
                 lambda: require_writable_out(request))


def _clear_export(folder: Path) -> None:
    """Drop what an earlier export left here (its bundles, reports and checks), so no stale bundle outlives it."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name in (REPORT_FILE, CHECKS_FILE) and entry.is_file():
            entry.unlink()
        elif entry.is_dir() and not entry.is_symlink() and is_written_bundle(entry):
            shutil.rmtree(entry)


def _check(profile: str, folder: Path) -> Stage:
    def check(_resume: bool) -> None:
        from edgedistill.check.dispatch import check_bundle

        outcomes = read_json(folder / REPORT_FILE, "export report")["runtimes"]
        reports = {Path(outcome["bundle"]).name: check_bundle(inside(folder, Path(outcome["bundle"]).name))
                   for outcome in outcomes.values() if outcome.get("bundle")}
        write_json(folder / CHECKS_FILE, reports)
        failed = [f"{name} ({', '.join(gate for gate, ok in report['gates'].items() if ok is False)})"
                  for name, report in reports.items() if not report["passed"]]
        if failed:
            raise UserError(f"bundles failed their check: {'; '.join(failed)}")

    return Stage(f"check:{profile}", {}, (f"export:{profile}",), folder / CHECKS_FILE, check,
                 lambda: inside(folder, CHECKS_FILE))


def _report(run_dir: Path, checks: tuple[str, ...]) -> Stage:
    from edgedistill.report.writer import write_report

    settings = SweepSettings()
    return Stage("report", {"sweep": dataclasses.asdict(settings)}, checks, run_dir / REPORT_DIR / PAGE_FILE,
                 lambda _resume: write_report(run_dir, run_dir / REPORT_DIR, settings),
                 lambda: require_writable_page(run_dir / REPORT_DIR))
