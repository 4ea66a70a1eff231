"""The report's plots as PNG bytes (matplotlib's Agg canvas, no display and no pyplot state).

One colour per runtime throughout; the kept bundle of each runtime is a star or has a black edge.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from edgedistill.report.lengths import LengthSweep
from edgedistill.report.pareto import pareto_front
from edgedistill.report.records import CandidateRecord, ExportRecord
from edgedistill.tasks.kinds import METRIC_NAMES

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
_WIDTH_IN = 10.0
_DPI = 110
_LABEL_OFFSETS = (5, -11, 17, -23)


def _plain_text(plot: Callable[..., bytes | None]) -> Callable[..., bytes | None]:
    """Draw with every label as plain text. Profile, runtime and recipe names come from export reports anyone may
    edit, and matplotlib would read `$...$` in one as mathtext (or as TeX under a usetex matplotlibrc): a name of
    `$\\frac{$` crashed `report`. Text artists read these settings when they are made, so all of the drawing is
    inside."""
    @functools.wraps(plot)
    def drawn(*args: Any) -> bytes | None:
        with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
            return plot(*args)
    return drawn


def runtime_colours(exports: list[ExportRecord]) -> dict[str, str]:
    names = sorted({runtime.runtime for export in exports for runtime in export.runtimes})
    return {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(names)}


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    return buffer.getvalue()


def _measured(export: ExportRecord) -> list[CandidateRecord]:
    return [c for runtime in export.runtimes for c in runtime.candidates if c.measured]


@_plain_text
def score_vs_latency(exports: list[ExportRecord]) -> bytes | None:
    """The test task metric against p90 latency, one panel per export (profile), every runtime's candidates in it."""
    panels = [export for export in exports if _measured(export)]
    if not panels:
        return None
    colours = runtime_colours(exports)
    columns = min(len(panels), 2)
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(_WIDTH_IN, 4.2 * rows))
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, export in zip(axes, panels):
        candidates = _measured(export)
        points = [(c.figure("latency_ms", "p90"), 100 * c.score()) for c in candidates]
        front = pareto_front(points)
        ax.step([points[i][0] for i in front], [points[i][1] for i in front], where="post", color="#888",
                linestyle="--", linewidth=1, zorder=1)
        for index, (candidate, (p90, score)) in enumerate(zip(candidates, points)):
            style = ({"marker": "*", "s": 260, "edgecolors": "black", "linewidths": 1.2} if candidate.kept else
                     {"marker": "x", "s": 50} if candidate.status == "rejected" else {"marker": "o", "s": 50})
            ax.scatter([p90], [score], color=colours[candidate.runtime], zorder=3, **style)
            # Staggered, so the names of candidates that measured alike stay readable.
            ax.annotate(f"{candidate.runtime} {candidate.recipe}", (p90, score), textcoords="offset points",
                        xytext=(7, _LABEL_OFFSETS[index % len(_LABEL_OFFSETS)]), fontsize=7)
        if export.reference_score is not None:
            ax.axhline(100 * export.reference_score, color="#555", linestyle=":", linewidth=1)
        title = export.group
        budget = export.budgets.get("p90_latency_ms")
        if isinstance(budget, (int, float)) and budget <= 2 * max(p90 for p90, _ in points):
            ax.axvline(budget, color="#d62728", linestyle=":", linewidth=1)
        elif isinstance(budget, (int, float)):  # a far-off line would squeeze every point against the axis
            title += f" (p90 budget {budget:g} ms, off the chart)"
        ax.set_title(title, fontsize=10)
        ax.margins(x=0.15, y=0.12)
        ax.set_xlabel("p90 latency (ms)")
        ax.set_ylabel(f"test {METRIC_NAMES[export.metric]} (%)")
        ax.grid(alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker="o", linestyle="", color=colour, label=name) for name, colour in colours.items()]
    handles += [Line2D([], [], marker="*", markersize=13, linestyle="", color="white", markeredgecolor="black",
                       label="kept bundle"),
                Line2D([], [], marker="x", linestyle="", color="#333", label="rejected by a gate"),
                Line2D([], [], color="#888", linestyle="--", label="Pareto front"),
                Line2D([], [], color="#555", linestyle=":", label="fp32 student"),
                Line2D([], [], color="#d62728", linestyle=":", label="p90 budget")]
    figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 5), fontsize=8, frameon=False,
                  bbox_to_anchor=(0.5, -0.02))
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    return _png(figure)


@_plain_text
def sizes(exports: list[ExportRecord]) -> bytes | None:
    """Artifact size of every measured candidate; kept ones edged in black."""
    candidates = [c for export in exports for c in _measured(export) if c.figure("size_bytes") is not None]
    if not candidates:
        return None
    colours = runtime_colours(exports)
    figure = Figure(figsize=(_WIDTH_IN, 0.9 + 0.32 * len(candidates)))
    ax = figure.subplots()
    sizes = [c.figure("size_bytes") for c in candidates]
    scale, unit = (1e6, "MB") if max(sizes) >= 1e6 else (1e3, "kB")  # tiny test models weigh kilobytes
    rows = range(len(candidates))[::-1]
    bars = ax.barh(list(rows), [size / scale for size in sizes], color=[colours[c.runtime] for c in candidates],
                   edgecolor=["black" if c.kept else "none" for c in candidates],
                   linewidth=[2.0 if c.kept else 0 for c in candidates])
    for bar, candidate, size in zip(bars, candidates, sizes):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                f" {size / scale:.1f} {unit}" + (" (kept)" if candidate.kept else ""), va="center", fontsize=7)
    ax.set_yticks(list(rows), [c.label for c in candidates], fontsize=7)
    ax.set_xlabel(f"artifact size ({unit})")
    ax.set_xlim(0, max(sizes) / scale * 1.25)
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return _png(figure)


@_plain_text
def latency_distributions(exports: list[ExportRecord]) -> bytes | None:
    """Per-call latency of every candidate on the texts export measured it on: box p25-p75, whiskers p5-p95."""
    candidates = [c for export in exports for c in _measured(export) if c.distribution is not None]
    if not candidates:
        return None
    colours = runtime_colours(exports)
    figure = Figure(figsize=(_WIDTH_IN, 0.9 + 0.36 * len(candidates)))
    ax = figure.subplots()
    stats = [{"med": c.distribution.at(50), "q1": c.distribution.at(25), "q3": c.distribution.at(75),
              "whislo": c.distribution.at(5), "whishi": c.distribution.at(95), "fliers": [], "label": c.label}
             for c in candidates]
    positions = list(range(len(candidates)))[::-1]
    boxes = ax.bxp(stats, positions=positions, orientation="horizontal", patch_artist=True, widths=0.6)
    for box, candidate in zip(boxes["boxes"], candidates):
        box.set_facecolor(colours[candidate.runtime])
        box.set_edgecolor("black" if candidate.kept else "#444")
        box.set_linewidth(2.0 if candidate.kept else 0.8)
    ax.scatter([c.figure("latency_ms", "p90") for c in candidates], positions, marker="D", s=14, color="black",
               zorder=3, label="p90")
    ax.set_yticks(positions, [c.label + (" (kept)" if c.kept else "") for c in candidates], fontsize=7)
    ax.set_xlabel("latency per call (ms), batch 1")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return _png(figure)


@_plain_text
def latency_by_length(sweeps: list[tuple[str, LengthSweep]]) -> bytes | None:
    """p50 (line) and p90 (band top) against tokens per text, one line per (export, kept bundle)."""
    if not sweeps:
        return None
    figure = Figure(figsize=(_WIDTH_IN, 4.5))
    ax = figure.subplots()
    for index, (group, sweep) in enumerate(sweeps):
        tokens = [point.tokens for point in sweep.points]
        colour = _PALETTE[index % len(_PALETTE)]
        ax.plot(tokens, [point.p50_ms for point in sweep.points], marker="o", color=colour,
                label=f"{group} · {sweep.runtime} {sweep.recipe} ({sweep.threads} thr.)")
        ax.fill_between(tokens, [point.p50_ms for point in sweep.points], [point.p90_ms for point in sweep.points],
                        color=colour, alpha=0.15)
    lengths = sorted({point.tokens for _, sweep in sweeps for point in sweep.points})
    ax.set_xscale("log", base=2)
    ax.set_xticks(lengths, [str(n) for n in lengths])
    latencies = [point.p50_ms for _, sweep in sweeps for point in sweep.points]
    if max(latencies) > 20 * min(latencies):  # a teacher beside its students: a linear axis flattens the students
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("tokens in the text")
    ax.set_ylabel("latency (ms): p50, shaded to p90")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return _png(figure)
