"""`edgedistill check`: the check on this host (checker.py), or on another ISA, emulated (emulated.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgedistill.check.checker import run_check
from edgedistill.check.emulated import check_on_arm64
from edgedistill.errors import UserError
from edgedistill.profiles import host_isa


def check_bundle(bundle: Path, data: str | None = None, text_column: str = "text", label_column: str = "label",
                 arch: str | None = None, cpu: str | None = None) -> dict[str, Any]:
    """Verify, load and measure a bundle; `passed` is False when any gate fails.

    `arch` other than this host's runs the check on that ISA (arm64: under qemu as `cpu`, else the CPU model
    of the bundle's profile) and compares its logits with this host's."""
    if arch is None or arch == host_isa():
        return run_check(bundle, data, text_column, label_column).report
    if arch != "arm64":
        raise UserError(f"--arch {arch}: this host ({host_isa()}) can check arm64 bundles under emulation only")
    return check_on_arm64(bundle, data, text_column, label_column, cpu)
