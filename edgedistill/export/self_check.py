"""Before a bundle is placed: reload it from disk and run the same `check` a user would, on Arm kernels under
emulation for an arm64 profile when the arm64 env is built (ExecuTorch's aot_compiler reloads and runs too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgedistill.bundle.manifest import MANIFEST_FILE, parse_manifest
from edgedistill.progress import say
from edgedistill.jsonio import write_json
from edgedistill.profiles import DeviceProfile, host_isa
from edgedistill.targets.base import Target


class FailedItsOwnCheck(Exception):
    """Raised inside the bundle writer, so the bundle is never moved into place; the message names the failed gates."""


def check_before_placing(scratch: Path, check: dict[str, Any], arm: dict[str, Any] | None) -> None:
    """Reload the complete bundle from disk and check it, recording the outcome in `check`, before it is moved into
    place: one that fails, cannot be checked, or whose process is killed meanwhile never appears at its final path,
    so nothing is left behind looking as if it were good.

    With `arm` (an arm64 profile, the arm64 env built) the check runs on Arm kernels under emulation, its gates
    decide, and its figures are added to the manifest beside the x86 ones."""
    from edgedistill.check.dispatch import check_bundle

    report = check_bundle(scratch, arch="arm64", cpu=arm["cpu"]) if arm else check_bundle(scratch)
    metric = report["metric"]
    check.update(passed=report["passed"], gates=report["gates"], **{metric: report[metric]},
                 parity_widths=[entry["width"] for entry in report["parity"]["lengths"]])
    if arm:
        check["cross_isa"] = report["cross_isa"]
    if not report["passed"]:
        raise FailedItsOwnCheck(", ".join(gate for gate, passed in report["gates"].items() if passed is False))
    if arm:
        _record_arm_figures(scratch, report, arm)


def arm_check_for(target: Target, profile: DeviceProfile) -> dict[str, Any] | None:
    """How the kept bundle is checked on Arm kernels, or None: not an arm64 profile, already on Arm, no env."""
    from edgedistill.toolenvs.arm64 import RUNTIMES
    from edgedistill.toolenvs.known import ARM64

    if profile.isa != "arm64" or host_isa() == "arm64" or profile.emulation_cpu is None:
        return None
    if target.name not in RUNTIMES:
        say(f"{target.name}: no Arm-kernel check (the arm64 env runs {' and '.join(RUNTIMES)}); "
            f"its figures are measured on {host_isa()}", "yellow")
        return None
    if not ARM64.is_ready():
        say(f"{target.name}: figures measured on {host_isa()}, not Arm kernels: {ARM64.missing}", "yellow")
        return None
    return {"cpu": profile.emulation_cpu, "measured_on": f"arm64 (qemu {profile.emulation_cpu})"}


def _record_arm_figures(scratch: Path, report: dict[str, Any], arm: dict[str, Any]) -> None:
    """Add the Arm check's figures to the scratch bundle's manifest (the files it hashes are unchanged)."""
    manifest = json.loads((scratch / MANIFEST_FILE).read_text())
    manifest["metrics"]["arm64"] = {
        "measured_on": arm["measured_on"], "machine": report["machine"], "wheels": report["emulation"]["wheels"],
        **{key: report[key] for key in _metric_keys(report["metric"])}, "examples": report["examples"],
        "parity": report["parity"], "cross_isa": report["cross_isa"], "note": report["emulation"]["note"],
    }
    write_json(scratch / MANIFEST_FILE, parse_manifest(manifest, f"manifest of {scratch.name}").to_dict())


def _metric_keys(metric: str) -> tuple[str, ...]:
    """A check report's figures of the task metric."""
    return metric, f"reference_{metric}", f"{metric}_drop_points"
