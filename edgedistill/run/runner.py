"""`edgedistill run`: every stage of a recipe in order, skipping those whose key is unchanged since they finished.

One progress line per stage with its elapsed time; a stage that fails says which it was and the command that
resumes the run (the same command: finished stages are skipped, an interrupted training resumes its checkpoint).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from edgedistill.errors import UserError
from edgedistill.fsutil import inside, refuse_links_below, require_directory_path
from edgedistill.progress import say
from edgedistill.report.writer import PAGE_FILE
from edgedistill.run.ledger import Ledger, stage_key
from edgedistill.run.recipe import Recipe
from edgedistill.run.stages import REPORT_DIR, Stage, plan
from edgedistill.third_party import LOG_FILE, to_log


def resume_command(recipe: Recipe) -> str:
    return f"edgedistill run {shlex.quote(recipe.source)} --out {shlex.quote(str(recipe.out))}"


def run_recipe(recipe: Recipe, verbose: bool = False) -> dict[str, str]:
    """Run or skip every stage; returns each stage's outcome ("ran" or "skipped") by name.

    What could refuse the run is checked before its first write: the recipe (`load_recipe`: names, and a run
    folder that overlaps an input), the plan (every profile), a link anywhere below the run folder (a root the
    user named, itself followed if it is a link), and every stage's outputs (a user's index.html where the report
    goes refuses the run now, not after hours of training). The libraries' warnings go to RUN/warnings.log, and
    with `verbose` to the screen as well."""
    stages = plan(recipe)
    require_directory_path(recipe.out)
    refuse_links_below(recipe.out)
    for stage in stages:
        stage.require_writable()
    ledger = Ledger(recipe.out)
    with ledger.hold(), to_log(inside(recipe.out, LOG_FILE), verbose):
        return _run_stages(recipe, stages, ledger)


def _run_stages(recipe: Recipe, stages: list[Stage], ledger: Ledger) -> dict[str, str]:
    started = time.perf_counter()
    run_ids: dict[str, str] = {}
    outcomes: dict[str, str] = {}
    say(f"run {recipe.name} in {recipe.out}: {len(stages)} stages", "bold")
    for number, stage in enumerate(stages, start=1):
        prefix = f"[{number}/{len(stages)}] {stage.name}"
        key = stage_key({**stage.settings, "after": {name: run_ids[name] for name in stage.after}})
        record = ledger.read(stage.name)
        if record is not None and record.status == "done" and record.key == key and stage.output.is_file():
            run_ids[stage.name], outcomes[stage.name] = record.run_id, "skipped"
            say(f"{prefix}: skipped, inputs unchanged (it took {_duration(record.elapsed_s)})")
            continue
        resume = record is not None and record.status == "running" and record.key == key
        say(f"{prefix}: running" + (" (resuming the interrupted attempt)" if resume else ""), "bold")
        ledger.start(stage.name, key)
        stage_started = time.perf_counter()
        try:
            stage.action(resume)
        except UserError as exc:
            raise UserError(f"stage {stage.name} failed: {exc}; "
                            f"fix that and resume with: {resume_command(recipe)}") from None
        except BaseException:
            say(f"{prefix}: failed after {_duration(time.perf_counter() - stage_started)}; "
                 f"resume with: {resume_command(recipe)}", "red")
            raise
        elapsed = time.perf_counter() - stage_started
        run_ids[stage.name], outcomes[stage.name] = ledger.finish(stage.name, key, elapsed).run_id, "ran"
        say(f"{prefix}: done in {_duration(elapsed)} (run total {_duration(time.perf_counter() - started)})", "green")
    say(f"run {recipe.name} finished in {_duration(time.perf_counter() - started)}; "
         f"report: {Path(recipe.out) / REPORT_DIR / PAGE_FILE}", "bold")
    return outcomes


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"
