"""`edgedistill report`: read a run's export reports, time its kept bundles by input length, plot, write one page."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

from edgedistill.errors import UserError
from edgedistill.fsutil import atomic_write_text, inside, require_directory_path
from edgedistill.progress import say
from edgedistill.report import plots
from edgedistill.report.lengths import LengthSweep, SweepSettings, measure_lengths
from edgedistill.report.page import GENERATOR, Plot, metric_label, render_page
from edgedistill.report.records import ExportRecord, read_exports

PAGE_FILE = "index.html"


def write_report(folder: Path, out_dir: Path, sweep: SweepSettings | None = None) -> Path:
    """Write `out_dir/index.html` for every export under `folder`; return its path."""
    folder = Path(folder)
    page = require_writable_page(out_dir)
    exports = read_exports(folder)
    sweeps = _time_by_length(exports, sweep or SweepSettings())
    score = metric_label({export.metric for export in exports})
    figures = [
        Plot(f"{score[0].upper()}{score[1:]} against p90 latency",
             f"Every measured candidate of every runtime, one panel per device profile, by test {score}. Stars are the "
             "kept bundles, crosses were rejected by a gate; the dashed line is the Pareto front (nothing both faster "
             "and better).", plots.score_vs_latency(exports)),
        Plot("Size per artifact", "The model file of every measured candidate; kept ones edged in black.",
             plots.sizes(exports)),
        Plot("Latency distributions",
             "Per-call latency over every text export ran the candidate on (validation, test and unlabelled): box "
             "p25–p75, line p50, whiskers p5–p95, diamond p90.", plots.latency_distributions(exports)),
        Plot("Latency against input length",
             "Each kept bundle timed in its runtime from 8 tokens up to its profile's longest input, padded as its "
             "sequence policy says: a fixed bucket costs short texts as much as long ones.",
             plots.latency_by_length(sweeps)),
    ]
    meta = [f"From {folder.resolve()}, written {datetime.now(timezone.utc).isoformat(timespec='seconds')}.",
            (f"Latency by length measured here: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
             "the other figures are export's, measured where it ran.")]
    atomic_write_text(page, render_page(f"edgedistill report: {folder.resolve().name}", meta, exports, figures, sweeps))
    return page


def _time_by_length(exports: list[ExportRecord], settings: SweepSettings) -> list[tuple[str, LengthSweep]]:
    sweeps = []
    for export in exports:
        for runtime in export.runtimes:
            if runtime.bundle is None or not runtime.bundle.is_dir():
                continue
            say(f"report: timing {runtime.bundle.name} by input length")
            sweeps.append((export.group, measure_lengths(runtime.bundle, settings)))
    return sweeps


def require_writable_page(out_dir: Path) -> Path:
    """The page to write in `out_dir`; refused, before minutes of timing (or a run's hours of training), where it is
    a link, or an index.html this command did not write."""
    page = inside(out_dir, PAGE_FILE)
    require_directory_path(page.parent)
    if page.is_symlink() or (page.exists() and not page.is_file()):
        raise UserError(f"{page} is not a plain file; choose another --out")
    if page.is_file() and f'content="{GENERATOR}"' not in page.read_text(encoding="utf-8", errors="replace")[:2000]:
        raise UserError(f"{page} exists and was not written by `edgedistill report`; choose another --out")
    return page
