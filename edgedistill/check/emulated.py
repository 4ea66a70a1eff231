"""`check --arch arm64` on an x86 host: the same check inside the emulated arm64 Python, compared with this host.

What it proves: accuracy and golden parity as Arm's kernels compute them (ONNX Runtime's int8 dot-product
paths, LiteRT/XNNPACK's Arm micro-kernels) on the CPU model of the bundle's profile, and whether any
prediction differs from x86's. What it does not prove: speed. qemu runs 180-550x slower than a device, so
emulated timings are dropped from the report, never shown as device figures.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.bundle.reader import open_bundle
from edgedistill.check.checker import BundleRun, run_check
from edgedistill.errors import UserError
from edgedistill.profiles import read_profile
from edgedistill.targets.registry import get_target
from edgedistill.toolenvs.arm64 import CPU_MODELS, RUNTIMES, guest_environ
from edgedistill.toolenvs.known import ARM64

WORST_SHOWN = 5
# int8 artifacts have no parity tolerance (accuracy gates them). Across ISAs their logits do move: by 0.36 on the
# tiny test student's int8-dynamic and about 0.5 on the MR student's static int8 (benchmarks/results/arm64_mr.json),
# where 2 of 100 predictions flipped. So this flags drift past a tenth of a logit, for a person to read; the gates
# stay on the Arm figures themselves.
INT8_CROSS_ISA_TOLERANCE = 0.1
EMULATION_NOTE = ("accuracy and parity computed by Arm kernels under qemu user-mode emulation; "
                  "emulated latency is 180-550x a device's and is not reported")


def check_on_arm64(bundle: Path, data: str | None, text_column: str, label_column: str,
                   cpu: str | None) -> dict[str, Any]:
    """The check's report as measured in the arm64 env, with `cross_isa` comparing its logits to this host's."""
    manifest = open_bundle(bundle).manifest
    if manifest.runtime not in RUNTIMES:
        raise UserError(f"{manifest.runtime} bundles cannot be checked on arm64 here: the arm64 env holds "
                        f"{' and '.join(RUNTIMES)} (executorch's aarch64 wheel runs only through libtorch); "
                        "its figures stay measured on x86-64")
    cpu = cpu or profile_cpu(manifest.target)
    started = time.perf_counter()
    arm = _run_emulated(Path(bundle), data, text_column, label_column, cpu)
    wall_s = time.perf_counter() - started
    host = run_check(bundle, data, text_column, label_column)
    report = arm["report"]
    report["latency_ms"] = None
    report["emulation"] = {"cpu": cpu, "wall_s": round(wall_s, 1), "wheels": ARM64.versions(), "note": EMULATION_NOTE}
    target = get_target(manifest.runtime)
    tolerance = target.tolerance(manifest.precision)
    report["cross_isa"] = compare_isas(np.asarray(arm["logits"], dtype=np.float32), host,
                                       INT8_CROSS_ISA_TOLERANCE if tolerance is None else tolerance)
    return report


def profile_cpu(profile_name: str) -> str:
    """The qemu CPU model the bundle's profile names (`emulation_cpu`)."""
    try:
        profile, _ = read_profile(profile_name)
    except UserError:
        profile = None
    if profile is None or profile.emulation_cpu is None:
        raise UserError(f"profile {profile_name!r} names no emulation_cpu; pass --cpu "
                        f"({', '.join(sorted(CPU_MODELS))})")
    return profile.emulation_cpu


def compare_isas(arm_logits: np.ndarray, host: BundleRun, tolerance: float) -> dict[str, Any]:
    """Argmax flips and |Δlogit| between Arm and this host on the same rows (texts, or words), with the worst."""
    host_logits = host.logits
    if arm_logits.shape != host_logits.shape:
        raise UserError(f"the arm64 run gave logits of shape {arm_logits.shape}, this host {host_logits.shape}")
    diff = np.abs(arm_logits - host_logits).max(axis=1)
    flipped = arm_logits.argmax(axis=1) != host_logits.argmax(axis=1)
    order = sorted(range(len(diff)), key=lambda i: (not flipped[i], -diff[i]))
    worst = [{"index": i, "text": host.row_texts[i][:160], "label": host.row_labels[i],
              "host_logits": host_logits[i].tolist(), "arm_logits": arm_logits[i].tolist(),
              "max_abs_logit_diff": float(diff[i]), "flipped": bool(flipped[i])}
             for i in order[:WORST_SHOWN] if flipped[i] or diff[i] > tolerance]
    metric = host.report["metric"]
    return {"host_isa": host.report["isa"], f"host_{metric}": host.report[metric],
            "examples": len(diff), "argmax_agreement": float(1.0 - flipped.mean()), "flips": int(flipped.sum()),
            "max_abs_logit_diff": float(diff.max()), "tolerance": tolerance,
            "agrees": bool(not flipped.any() and diff.max() <= tolerance), "worst": worst}


def _run_emulated(bundle: Path, data: str | None, text_column: str, label_column: str, cpu: str) -> dict[str, Any]:
    """Run check/json_entry.py in the arm64 env and parse what it prints."""
    env = ARM64.require()
    source = Path(__file__).resolve().parents[2]  # edgedistill's own (torch-free) code, not copied into the env
    command = [str(env / "bin" / "python"), "-m", "edgedistill.check.json_entry", str(bundle.resolve()),
               "--text-column", text_column, "--label-column", label_column]
    if data is not None:
        command += ["--data", str(Path(data).resolve()) if Path(data).is_file() else data]
    result = subprocess.run(command, env=guest_environ(env, cpu, [source]), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
        message = lines[-1].removeprefix("error: ")
        raise UserError(f"the arm64 check ({cpu} under qemu) failed: {message[:300]}")
    payload = json.loads(result.stdout)
    if payload["report"].get("machine") != "aarch64":
        raise UserError(f"the arm64 env ran on {payload['report'].get('machine')!r}, not aarch64; rebuild it")
    return payload
