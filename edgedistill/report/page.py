"""The report as one HTML page: plots embedded as base64 PNG, every figure in a table (every string escaped)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from typing import Any

from edgedistill.report.lengths import LengthSweep
from edgedistill.report.records import CandidateRecord, ExportRecord, RuntimeRecord
from edgedistill.tasks.kinds import METRIC_NAMES

# Marks a page this command wrote, so a rerun replaces it and never a page of the user's own.
GENERATOR = "edgedistill report"

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1180px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; margin: 0.6em 0; font-size: 12.5px; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.kept td { background: #eef8ee; font-weight: 600; }
.rejected { color: #b22; } .kept-status { color: #161; } .meta { color: #666; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 12.5px; }
"""


@dataclass(frozen=True)
class Plot:
    title: str
    caption: str
    png: bytes | None


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: float | None, spec: str, scale: float | None = None) -> str:
    if value is None:
        return "–"
    return format(value if scale is None else value * scale, spec)


def _table(headers: list[str], rows: list[tuple[list[str], str]]) -> str:
    """Cells are given escaped already (numbers formatted, strings through `_e`); each row has its CSS class."""
    head = "".join(f"<th>{header}</th>" for header in headers)
    body = "".join(f'<tr class="{css}">' + "".join(cells) + "</tr>" for cells, css in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _text(value: Any) -> str:
    return f"<td>{_e(value)}</td>"


def _num(value: float | None, spec: str, scale: float | None = None) -> str:
    return f'<td class="n">{_number(value, spec, scale)}</td>'


def _figure(plot: Plot) -> str:
    if plot.png is None:
        return f"<h2>{_e(plot.title)}</h2><p class=meta>Nothing measured to plot.</p>"
    data = base64.b64encode(plot.png).decode("ascii")
    return (f"<h2>{_e(plot.title)}</h2><figure><img src=\"data:image/png;base64,{data}\" alt=\"{_e(plot.title)}\">"
            f"<figcaption>{_e(plot.caption)}</figcaption></figure>")


def _check_verdict(runtime: RuntimeRecord) -> str:
    check = runtime.check if runtime.check is not None else runtime.export_check
    if not check:
        return "–"
    failed = [gate for gate, passed in (check.get("gates") or {}).items() if passed is False]
    where = "check" if runtime.check is not None else "export's own check"
    return f"passed ({where})" if check.get("passed") else f"FAILED {', '.join(failed)} ({where})"


def metric_label(metrics: set[str]) -> str:
    """What the score columns and axes hold: the one metric every export shares, else "score" (the tables then name
    each row's metric)."""
    return METRIC_NAMES[next(iter(metrics))] if len(metrics) == 1 else "score"


def _kept_table(exports: list[ExportRecord]) -> str:
    rows = []
    for export in exports:
        for runtime in export.runtimes:
            kept = next((c for c in runtime.candidates if c.kept), None)
            if kept is None:
                rows.append(([_text(export.group), _text(runtime.runtime), _text(f"none: {runtime.error}")]
                             + ["<td></td>"] * 9, "rejected"))
                continue
            rows.append(([_text(export.group), _text(runtime.runtime), _text(runtime.bundle.name if runtime.bundle else "?"),
                          _text(kept.precision), _text(METRIC_NAMES[kept.metric]), _num(kept.score(), ".2%"),
                          _num(kept.reference_score(), ".2%"), _num(kept.figure("agreement"), ".1%"),
                          _num(kept.figure("latency_ms", "p50"), ".2f"), _num(kept.figure("latency_ms", "p90"), ".2f"),
                          _num(kept.figure("size_bytes"), ".2f", 1e-6), _text(_check_verdict(runtime))], ""))
    return _table(["profile", "runtime", "bundle", "precision", "metric", "test", "fp32 student", "agreement", "p50 ms",
                   "p90 ms", "MB", "check"], rows)


def _gate_table(candidates: list[CandidateRecord]) -> str:
    rows = []
    for c in candidates:
        css = {"kept": "kept", "rejected": "rejected"}.get(c.status, "")
        status = f'<td class="{"kept-status" if c.kept else css}">{_e(c.status)}</td>'
        reason = c.reason or ("within every budget, and ranked first" if c.kept else "")
        rows.append(([_text(c.group), _text(c.runtime), _text(c.recipe), _text(c.precision), status, _text(reason)], css))
    return _table(["profile", "runtime", "recipe", "precision", "decision", "reason"], rows)


def _figures_table(candidates: list[CandidateRecord]) -> str:
    rows = []
    metrics = {c.metric for c in candidates}
    label, mixed = metric_label(metrics), len(metrics) > 1
    for c in candidates:
        rows.append(([_text(c.group), _text(c.runtime), _text(c.recipe), _text(c.status),
                      *([_text(METRIC_NAMES[c.metric])] if mixed else []),
                      _num(c.score("validation"), ".2%"), _num(c.reference_score("validation"), ".2%"),
                      _num(c.score(), ".2%"), _num(c.reference_score(), ".2%"),
                      _num(c.figure("macro_f1"), ".3f"), _num(c.figure("unlabelled", "agreement"), ".1%"),
                      _num(c.figure("max_abs_logit_diff"), ".1e"),
                      *(_num(c.figure("latency_ms", key), ".2f") for key in ("load", "first", "p50", "p90", "p99")),
                      _num(c.figure("size_bytes"), ".2f", 1e-6), _num(c.figure("peak_rss_mb"), ".0f"),
                      _num(c.export_s, ".1f")], "kept" if c.kept else ""))
    return _table(["profile", "runtime", "recipe", "decision", *(["metric"] if mixed else []), f"val. {label}", "val. fp32",
                   f"test {label}", "test fp32",
                   "macro F1", "agreement (unlabelled)", "max |Δ logit|", "load ms", "first ms", "p50 ms", "p90 ms",
                   "p99 ms", "MB", "peak RSS MB", "export s"], rows)


def _lengths_table(sweeps: list[tuple[str, LengthSweep]]) -> str:
    rows = []
    for group, sweep in sweeps:
        for point in sweep.points:
            rows.append(([_text(group), _text(f"{sweep.runtime} {sweep.recipe}"), _num(point.tokens, "d"),
                          _num(point.width, "d"), _num(point.p50_ms, ".2f"), _num(point.p90_ms, ".2f")], ""))
    return _table(["profile", "bundle", "tokens", "runs at width", "p50 ms", "p90 ms"], rows)


def render_page(title: str, meta: list[str], exports: list[ExportRecord], plots: list[Plot],
                sweeps: list[tuple[str, LengthSweep]]) -> str:
    """The whole page: kept bundles, the plots, every gate decision and every figure."""
    candidates = [c for export in exports for runtime in export.runtimes for c in runtime.candidates]
    sections = [
        f"<h1>{_e(title)}</h1>",
        "".join(f"<p class=meta>{_e(line)}</p>" for line in meta),
        "<h2>Kept bundles</h2>", _kept_table(exports),
        *(_figure(plot) for plot in plots),
        "<h2>Gate decisions</h2>",
        ("<p>Every recipe tried for every runtime, and why the gate kept or rejected it. The task-metric and agreement "
         "gates read the validation split and unlabelled texts; of the recipes within every budget, export keeps the one its "
         "selection ranks first, and the others say why they lost.</p>"),
        _gate_table(candidates),
        "<h2>Every figure</h2>",
        ("<p>As export measured them, at batch 1 with each profile's threads (test figures are reported only, never "
         "used to choose).</p>"),
        _figures_table([c for c in candidates if c.measured]),
        "<h2>Latency by input length, measured for this report</h2>",
        _lengths_table(sweeps) if sweeps else "<p class=meta>No kept bundle on disk to time.</p>",
    ]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="generator" content="{GENERATOR}"><title>{_e(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n")
