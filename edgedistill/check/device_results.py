"""Device results as data: `bench --out` writes one per run, `results` merges them with export-time figures.

A result names its bundle by manifest sha256, so figures from two builds that share a name never mix. The merge
is a plain function over files (`merge_device_results`), so a report can call it too; every file it reads is
checked against its published schema, and a bad one is a one-line error naming it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgedistill.bundle.manifest import MANIFEST_FILE, Manifest, parse_manifest
from edgedistill.bundle.reader import Bundle
from edgedistill.bundle.schema import check_against_schema
from edgedistill.check.device import device_identity
from edgedistill.errors import UserError
from edgedistill.fsutil import named_path, require_directory_path, sha256_file
from edgedistill.jsonio import read_json, write_json
from edgedistill.targets.registry import get_target

RESULT_FORMAT, RESULT_VERSION, RESULT_SCHEMA = "edgedistill-bench-result", 1, "bench-result-v1.json"
MERGED_FORMAT, MERGED_VERSION = "edgedistill-device-results", 1
# The figures every column has, export-time and device alike (None where a column did not measure one).
FIGURES = ("size_bytes", "accuracy", "load_ms", "first_ms", "p50_ms", "p90_ms", "p99_ms", "peak_rss_mb", "threads")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def bench_result(opened: Bundle, settings: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """The result document of one bench run: the bundle by name and manifest digest, this device, the figures."""
    manifest = opened.manifest
    return {
        "format": RESULT_FORMAT, "schema_version": RESULT_VERSION, "created_at": _now(),
        "bundle": {"name": manifest.name, "manifest_sha256": sha256_file(opened.path / MANIFEST_FILE),
                   "profile": manifest.target, "runtime": manifest.runtime, "recipe": opened.recipe,
                   "precision": manifest.precision, "size_bytes": report["size_bytes"]},
        "device": device_identity(get_target(manifest.runtime).packages),
        "settings": settings,
        "bench": report,
    }


def require_writable_json(path: Path, kind: str) -> None:
    """Refuse an --out that is a directory, under a file, or a file that is not a `kind` file of ours (a link the
    user named is followed: it is the file it leads to that must be ours)."""
    real = named_path(path)
    if real.is_dir():
        raise UserError(f"--out {path} is a directory; give the path of a .json file to write")
    require_directory_path(real.parent)
    if real.exists() and not _holds_format(real, kind):
        raise UserError(f"--out {path} exists and is not an edgedistill {kind} file; choose another --out")


def write_owned_json(path: Path, payload: dict[str, Any], kind: str) -> None:
    """Write `payload` atomically to `path`, replacing only a file of the same `kind` (its "format")."""
    require_writable_json(path, kind)
    write_json(named_path(path), payload)


def _holds_format(path: Path, kind: str) -> bool:
    try:
        payload = read_json(path)
    except UserError:
        return False
    return isinstance(payload, dict) and payload.get("format") == kind


def read_result(path: Path) -> dict[str, Any]:
    """A bench result file, checked against its schema."""
    payload = read_json(path, "bench result")
    where = str(path)
    if not isinstance(payload, dict) or payload.get("format") != RESULT_FORMAT:
        raise UserError(f"{where} is not a bench result; give files written by `edgedistill bench --out`")
    version = payload.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > RESULT_VERSION:
        raise UserError(f"{where}: schema_version {version} is newer than this edgedistill reads "
                        f"({RESULT_VERSION}); upgrade edgedistill")
    check_against_schema(payload, where, RESULT_SCHEMA, "the bench result schema")
    return payload


def read_manifests(paths: Iterable[Path]) -> list[tuple[Path, Manifest, str]]:
    """(manifest path, manifest, its sha256) of each bundle given, or of each bundle inside a folder of them."""
    found = []
    for path in paths:
        path = Path(path)
        if (path / MANIFEST_FILE).is_file():
            bundles = [path]
        else:
            if not path.is_dir():
                raise UserError(f"--bundle {path} not found; give a bundle directory or a folder of them (export --out)")
            bundles = sorted(child for child in path.iterdir() if (child / MANIFEST_FILE).is_file())
            if not bundles:
                raise UserError(f"--bundle {path} holds no bundle (no */{MANIFEST_FILE}); give `export --out` or a bundle")
        for bundle in bundles:
            manifest_file = bundle / MANIFEST_FILE
            manifest = parse_manifest(read_json(manifest_file, "bundle manifest"), str(manifest_file))
            found.append((manifest_file, manifest, sha256_file(manifest_file)))
    return found


def merge_device_results(result_paths: list[Path], bundle_paths: list[Path] = ()) -> dict[str, Any]:
    """Read every result and manifest and merge them: one group per bundle build, one column per device."""
    if not result_paths:
        raise UserError("no result files given; pass the RESULT.json files `bench --out` wrote")
    results = [(Path(path), read_result(Path(path))) for path in result_paths]
    return merge(results, read_manifests(bundle_paths))


def merge(results: list[tuple[Path, dict[str, Any]]], manifests: list[tuple[Path, Manifest, str]]) -> dict[str, Any]:
    """Group results by the manifest they timed; each group's first column is the export-time one when its
    manifest was given."""
    groups: dict[str, dict[str, Any]] = {}
    for manifest_file, manifest, digest in manifests:
        groups.setdefault(digest, _group(manifest.name, digest, manifest.target, manifest.runtime,
                                         str(manifest.quantization.get("recipe", "?")), manifest.precision,
                                         manifest.budgets.get("p90_latency_ms"), _export_column(manifest_file, manifest)))
    for path, result in results:
        named = result["bundle"]
        group = groups.setdefault(named["manifest_sha256"], _group(
            named["name"], named["manifest_sha256"], named["profile"], named["runtime"], named["recipe"],
            named["precision"], result["bench"]["budget_p90_ms"], None))
        group["devices"].append(_device_column(path, result))
    for group in groups.values():
        _label_columns(group["devices"])
    return {"format": MERGED_FORMAT, "schema_version": MERGED_VERSION, "created_at": _now(), "figures": list(FIGURES),
            "bundles": list(groups.values())}


def _group(name: str, digest: str, profile: str, runtime: str, recipe: str, precision: str,
           budget_p90_ms: float | None, export: dict[str, Any] | None) -> dict[str, Any]:
    return {"name": name, "manifest_sha256": digest, "profile": profile, "runtime": runtime, "recipe": recipe,
            "precision": precision, "budget_p90_ms": budget_p90_ms, "export": export, "devices": []}


def _export_column(manifest_file: Path, manifest: Manifest) -> dict[str, Any]:
    metrics, latency, sequence = manifest.metrics, manifest.metrics["latency_ms"], manifest.sequence_policy()
    # Export times every validation, test and agreement text, each at its policy width; bench one text at one width.
    widths = ("length " + "/".join(map(str, sorted(sequence.buckets))) if sequence.policy == "fixed"
              else f"lengths ≤ {sequence.max_length}")
    return {
        "label": "export", "source": str(manifest_file),
        "identity": {"where": manifest.toolchain.get("platform"), "measured_on": f"export texts, {widths}",
                     "runtime_version": manifest.toolchain.get(_runtime_package(manifest.runtime)),
                     "created_at": manifest.created_at or None},
        "figures": {"size_bytes": metrics["size_bytes"], "accuracy": metrics.get("accuracy"), "load_ms": latency["load"],
                    "first_ms": latency["first"], "p50_ms": latency["p50"], "p90_ms": latency["p90"],
                    "p99_ms": latency["p99"], "peak_rss_mb": metrics["peak_rss_mb"], "threads": manifest.threads},
        "passed": None,
    }


def _device_column(path: Path, result: dict[str, Any]) -> dict[str, Any]:
    device, bench = result["device"], result["bench"]
    latency, cpu, throttling = bench["latency_ms"], device["cpu"], device["throttling"]
    return {
        "label": device["hostname"], "source": str(path),
        "identity": {"hostname": device["hostname"], "board": device["board"], "cpu": cpu["model"],
                     "cores": cpu["logical_cores"], "governor": cpu["governor"],
                     "os": device["os"].get("distribution") or device["os"]["system"], "kernel": device["os"]["kernel"],
                     "machine": device["os"]["machine"],
                     "throttled_now": None if throttling is None else throttling["now"],
                     "throttled_since_boot": None if throttling is None else throttling["since_boot"],
                     "runtime_version": device["versions"].get(_runtime_package(result["bundle"]["runtime"])),
                     "measured_on": f"length {bench['length']}", "pinned_cores": bench["cpu_affinity"]["applied"],
                     "created_at": result["created_at"]},
        "figures": {"size_bytes": result["bundle"]["size_bytes"], "accuracy": None, "load_ms": bench["load_ms"],
                    "first_ms": bench["first_ms"], "p50_ms": latency["p50"], "p90_ms": latency["p90"],
                    "p99_ms": latency["p99"], "peak_rss_mb": bench["memory"]["peak_rss_mb"], "threads": bench["threads"]},
        "passed": bench["passed"],
    }


def _runtime_package(runtime: str) -> str | None:
    """The runtime's first package (onnxruntime, executorch, ai-edge-litert), whose version ran the model."""
    try:
        return get_target(runtime).packages[0]
    except UserError:
        return None


def _label_columns(columns: list[dict[str, Any]]) -> None:
    """Hostnames label the columns; a host timed twice gets "#2", "#3" in the order the files were given."""
    seen: dict[str, int] = {}
    for column in columns:
        seen[column["label"]] = seen.get(column["label"], 0) + 1
        if seen[column["label"]] > 1:
            column["label"] = f"{column['label']} #{seen[column['label']]}"


@dataclass(frozen=True)
class DeviceLatencies:
    """p50 (ms) that `bench --out` measured on a profile's device, {runtime: {recipe: p50}} (the median over
    results when a recipe was benched more than once), and the devices they came from."""

    p50_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    devices: tuple[str, ...] = ()
    # The result files given that were benched for another profile, as "FILE (profile NAME)", so export can say so.
    other_profiles: tuple[str, ...] = ()


def device_latencies(result_paths: Iterable[Path], profile: str) -> DeviceLatencies:
    """The latencies of the results benched for `profile`; results for other profiles are left out, and a result
    file that is not one is a one-line error (read before any export work starts)."""
    timings: dict[str, dict[str, list[float]]] = {}
    devices: list[str] = []
    other_profiles: list[str] = []
    for path in result_paths:
        result = read_result(Path(path))
        bundle = result["bundle"]
        if bundle["profile"] != profile:
            other_profiles.append(f"{Path(path).name} (profile {bundle['profile']})")
            continue
        timings.setdefault(bundle["runtime"], {}).setdefault(bundle["recipe"], []).append(
            result["bench"]["latency_ms"]["p50"])
        label = result["device"]["board"] or result["device"]["hostname"]
        devices += [label] if label not in devices else []
    return DeviceLatencies({runtime: {recipe: float(statistics.median(values)) for recipe, values in recipes.items()}
                            for runtime, recipes in timings.items()}, tuple(devices), tuple(other_profiles))
