"""Readable rich tables for `targets`, `export`, `check`, `bench` and `bundles`."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from edgedistill.profiles import DeviceProfile
from edgedistill.tasks.kinds import METRIC_NAMES
from edgedistill.terminal import TextConsole

console = TextConsole(highlight=False)


def _heading(text: str) -> None:
    """A title line printed whole: bundle paths should stay copyable, not wrapped inside a table title."""
    console.print(text, style="bold", markup=False, soft_wrap=True)


def _table(title: str | None = None) -> Table:
    """Compact tables: an 80-column terminal or log still shows every figure."""
    return Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)


def _number(value: Any, scale: float, spec: str) -> str:
    """`value * scale` formatted; "–" when absent, "?" when a file holds something that is not a number."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "?"
    return format(value * scale, spec)


def _ms(value: float | None) -> str:
    return _number(value, 1.0, ".2f")


def _pct(value: float | None) -> str:
    return _number(value, 1.0, ".2%")


_STATUS = {"kept": "[green]kept[/green]", "accepted": "accepted", "rejected": "[red]rejected[/red]", "skipped": "skipped"}


def _verdict(passed: bool | None) -> str:
    return {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "report only"}[passed]


def print_profiles(profiles: list[DeviceProfile]) -> None:
    table = _table("Device profiles (targets/)")
    for column in ("name", "isa", "runtimes", "thr.", "precision", "sequence", "drop", "p90 ms"):
        # Runtime names never break mid-word; the column wraps between them.
        table.add_column(column, no_wrap=column != "runtimes", min_width=len("onnxruntime") if column == "runtimes" else None)
    for p in profiles:
        sequence = f"fixed {p.sequence.buckets}" if p.sequence.policy == "fixed" else f"≤{p.sequence.max_length}"
        p90 = "–" if p.budgets.p90_latency_ms is None else f"{p.budgets.p90_latency_ms:g}"
        table.add_row(p.name, p.isa, " ".join(p.runtimes), str(p.threads), "/".join(p.precisions), sequence,
                      f"{p.budgets.max_accuracy_drop:g} pt", p90)
    console.print(table)


def print_export(report: dict[str, Any]) -> None:
    metric = report.get("metric", "accuracy")
    short = "F1" if metric == "entity_f1" else "acc."
    _heading(f"export {report['student']} → {report['profile']} "
             f"(fp32 student {METRIC_NAMES[metric]} {_pct(report[f'reference_{metric}'])})")
    for runtime, outcome in report["runtimes"].items():
        table = _table(f"{runtime} (latency in ms, size in MB)")
        # Selection reads the validation split and the unlabelled agreement; the test figure is only reported.
        for column in ("recipe", "status", f"val {short}", f"test {short}", "agree", "max|Δ|", "p50", "p90", "MB"):
            table.add_column(column, no_wrap=True)
        for entry in outcome["candidates"]:
            m = entry["metrics"]
            latency = m.get("latency_ms", {})
            agreed = (m.get("unlabelled") or m.get("validation") or {}).get("agreement")
            table.add_row(entry["recipe"], _STATUS[entry["status"]], _pct((m.get("validation") or {}).get(metric)),
                          _pct(m.get(metric)), _pct(agreed),
                          "–" if "max_abs_logit_diff" not in m else f"{m['max_abs_logit_diff']:.1e}",
                          _ms(latency.get("p50")), _ms(latency.get("p90")),
                          "–" if "size_bytes" not in m else f"{m['size_bytes'] / 1e6:.2f}")
        console.print(table)
        for entry in outcome["candidates"]:
            if entry["reason"]:
                console.print(f"  {entry['recipe']}: {entry['reason']}", markup=False, soft_wrap=True)
        console.print(f"{runtime}: {outcome['bundle'] or outcome['error']}", markup=False, soft_wrap=True)


def print_check(report: dict[str, Any]) -> None:
    metric = report["metric"]
    items = "sentences" if metric == "entity_f1" else "texts"
    _heading(f"check {report['bundle']} ({report['runtime']} {report['recipe']}, "
             f"{report['examples']} {items} from {report['data']})")
    table = _table()
    table.add_column("gate")
    table.add_column("measured")
    table.add_column("limit")
    table.add_column("result")
    gates = report["gates"]
    table.add_row(METRIC_NAMES[metric], f"{_pct(report[metric])} (export measured {_pct(report[f'manifest_{metric}'])}: "
                  f"{report['drift_from_export_points']:.2f} pt lower; fp32 {_pct(report[f'reference_{metric}'])})",
                  f"≤ {report['max_accuracy_drop']:g} pt lower", _verdict(gates[metric]))
    parity = report["parity"]
    for entry in parity["lengths"]:
        table.add_row(f"parity {entry['max_tokens']} tok, width {entry['width']}",
                      f"|Δ| {entry['max_abs_logit_diff']:.2e}, agree {_pct(entry['agreement'])}",
                      "–" if parity["tolerance"] is None else f"|Δ| ≤ {parity['tolerance']:g}", _verdict(entry["passed"]))
    table.add_row("tokenizer", "golden ids " + ("reproduced" if gates["tokenizer"] else "DIFFER"), "identical",
                  _verdict(gates["tokenizer"]))
    console.print(table)
    latency = report["latency_ms"]
    if latency is not None:
        console.print(f"latency: load {_ms(latency['load'])} ms, first {_ms(latency['first'])} ms, "
                      f"p50 {_ms(latency['p50'])} / p90 {_ms(latency['p90'])} / p99 {_ms(latency['p99'])} ms")
    if "emulation" in report:
        _print_emulation(report)
    console.print("[green]PASSED[/green]" if report["passed"] else "[red]FAILED[/red]")


def _print_emulation(report: dict[str, Any]) -> None:
    """Where an emulated check ran, and where its predictions differ from this host's."""
    emulation, cross = report["emulation"], report["cross_isa"]
    console.print(f"measured on {report['machine']} ({emulation['cpu']} under qemu, {emulation['wall_s']} s): "
                  f"{emulation['note']}", markup=False)
    verdict = "agree" if cross["agrees"] else "[yellow]DISAGREE[/yellow]"
    metric = report["metric"]
    console.print(f"Arm vs {cross['host_isa']}: {verdict}; {METRIC_NAMES[metric]} {_pct(report[metric])} vs "
                  f"{_pct(cross[f'host_{metric}'])}, argmax agreement {_pct(cross['argmax_agreement'])} "
                  f"({cross['flips']} flipped of {cross['examples']}), max |Δlogit| {cross['max_abs_logit_diff']:.3g} "
                  f"(tolerance {cross['tolerance']:g})")
    for worst in cross["worst"]:
        console.print(f"  #{worst['index']} {'flipped' if worst['flipped'] else 'drifted'} |Δ| "
                      f"{worst['max_abs_logit_diff']:.3g}: {worst['text'][:80]!r}", markup=False)


def print_bench(report: dict[str, Any], device: dict[str, Any] | None = None) -> None:
    latency = report["latency_ms"]
    _heading(f"bench {report['bundle']} ({report['runtime']} {report['recipe']}, "
             f"length {report['length']}, {report['threads']} thread(s))")
    table = _table()
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [("load", f"{_ms(report['load_ms'])} ms"), ("first call", f"{_ms(report['first_ms'])} ms"),
            ("runs", str(latency["runs"])), ("p50", f"{_ms(latency['p50'])} ms"), ("p90", f"{_ms(latency['p90'])} ms"),
            ("p99", f"{_ms(latency['p99'])} ms"), ("mean", f"{_ms(latency['mean'])} ms"), ("min", f"{_ms(latency['min'])} ms"),
            ("peak RSS", f"{report['memory']['peak_rss_mb']} MB (+{report['memory']['peak_rss_delta_mb']} MB for the model)"),
            ("model size", f"{report['size_bytes'] / 1e6:.2f} MB"),
            ("cores pinned", ", ".join(map(str, report["cpu_affinity"]["applied"])) or "none"),
            ("p90 budget", "none" if report["budget_p90_ms"] is None else f"{report['budget_p90_ms']:g} ms")]
    if device is not None:
        rows += [(name, _text(value)) for name, value in _device_rows(device)]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    console.print("[green]PASSED[/green]" if report["passed"] else "[red]FAILED: p90 over budget[/red]")


def print_bundles(listing: dict[str, dict[str, dict[str, Any]]]) -> None:
    """One table per name: names are what `pull` takes, so they are printed whole rather than squeezed into a column."""
    if not listing:
        console.print("no bundles published yet")
        return
    for name, versions in listing.items():
        _heading(f"{name} (latency in ms, size in MB)")
        table = _table()
        for column in ("version", "runtime", "target", "precision", "acc./F1", "MB", "p50"):
            table.add_column(column)
        for version, entry in versions.items():
            metrics = entry.get("metrics") if isinstance(entry.get("metrics"), dict) else {}
            size = metrics.get("size_bytes")
            latency = metrics.get("latency_ms") if isinstance(metrics.get("latency_ms"), dict) else {}
            # Index strings come from a file anyone with write access can edit: print them, never interpret markup.
            table.add_row(*(escape(str(value)) for value in (version, entry.get("runtime", "?"), entry.get("target", "?"),
                                                              entry.get("precision", "?"))),
                          _pct(metrics.get("accuracy", metrics.get("entity_f1"))), _number(size, 1e-6, ".2f"),
                          _ms(latency.get("p50")))
        console.print(table)


def _text(value: Any) -> str:
    """A value from a device's files or a result file, printed as text: never interpreted as markup."""
    if value is None or value == []:
        return "–"
    return escape(", ".join(map(str, value)) if isinstance(value, list) else str(value))


def _device_rows(device: dict[str, Any]) -> list[tuple[str, Any]]:
    cpu, throttling = device["cpu"], device["throttling"]
    return [("device", device["hostname"]), ("board", device["board"]), ("CPU", cpu["model"]),
            ("governor", cpu["governor"]),
            ("throttled now", "not readable" if throttling is None else throttling["now"] or "no"),
            ("OS", device["os"].get("distribution") or device["os"]["system"]), ("kernel", device["os"]["kernel"])]


_MERGED_FIGURES = (("size_bytes", "model MB", 1e-6, ".2f"), ("accuracy", "accuracy", 100.0, ".2f"),
                   ("load_ms", "load ms", 1.0, ".1f"), ("first_ms", "first call ms", 1.0, ".2f"),
                   ("p50_ms", "p50 ms", 1.0, ".2f"), ("p90_ms", "p90 ms", 1.0, ".2f"), ("p99_ms", "p99 ms", 1.0, ".2f"),
                   ("peak_rss_mb", "peak RSS MB", 1.0, ".1f"), ("threads", "threads", 1.0, "g"))
_MERGED_IDENTITY = (("measured_on", "measured on"), ("where", "where"), ("board", "board"), ("cpu", "CPU"),
                    ("cores", "cores"), ("governor", "governor"), ("throttled_now", "throttled now"),
                    ("throttled_since_boot", "throttled since boot"), ("os", "OS"), ("kernel", "kernel"),
                    ("runtime_version", "runtime version"), ("created_at", "when"))


def print_device_results(merged: dict[str, Any]) -> None:
    """One table per bundle build: figures down the side, the export-time column and then one per device."""
    for group in merged["bundles"]:
        budget = group["budget_p90_ms"]
        _heading(f"{group['name']} ({group['runtime']} {group['recipe']}, profile {group['profile']}, "
                 f"manifest {group['manifest_sha256'][:12]}, p90 budget {'none' if budget is None else f'{budget:g} ms'})")
        columns = ([group["export"]] if group["export"] else []) + group["devices"]
        table = _table()
        table.add_column("")
        for column in columns:
            table.add_column(escape(column["label"]), justify="right")
        for key, name, scale, spec in _MERGED_FIGURES:
            table.add_row(name, *(_number(column["figures"][key], scale, spec) for column in columns))
        table.add_row("p90 within budget", *("–" if column["passed"] is None else _verdict(column["passed"])
                                             for column in columns))
        for key, name in _MERGED_IDENTITY:
            values = [column["identity"].get(key) for column in columns]
            if any(value not in (None, []) for value in values):
                table.add_row(name, *(_throttle_text(key, value) for value in values))
        console.print(table)
        if not group["export"]:
            console.print("  no export-time column: pass the bundle with --bundle", markup=False)


def _throttle_text(key: str, value: Any) -> str:
    """An empty throttling list means "readable, and not throttled"; None means not readable there."""
    return "no" if key.startswith("throttled") and value == [] else _text(value)
