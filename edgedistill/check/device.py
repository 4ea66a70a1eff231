"""Who measured: the identity of the device a bench ran on (torch-free, standard library only).

Everything is read where readable and left None where not: a laptop has no device-tree model, a container no
cpufreq, and only a Raspberry Pi has `vcgencmd`. Nothing here needs root.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import edgedistill
from edgedistill.bundle.manifest import toolchain_versions

# ARM's own cores by the "CPU part" /proc/cpuinfo shows for implementer 0x41 (the boards and phones we target).
_ARM_PARTS = {0xd03: "Cortex-A53", 0xd04: "Cortex-A35", 0xd05: "Cortex-A55", 0xd07: "Cortex-A57", 0xd08: "Cortex-A72",
              0xd09: "Cortex-A73", 0xd0a: "Cortex-A75", 0xd0b: "Cortex-A76", 0xd0c: "Neoverse-N1", 0xd0d: "Cortex-A77",
              0xd40: "Neoverse-V1", 0xd41: "Cortex-A78", 0xd44: "Cortex-X1", 0xd46: "Cortex-A510", 0xd47: "Cortex-A710",
              0xd48: "Cortex-X2", 0xd49: "Neoverse-N2", 0xd4d: "Cortex-A715", 0xd4e: "Cortex-X3", 0xd4f: "Neoverse-V2",
              0xd80: "Cortex-A520", 0xd81: "Cortex-A720", 0xd82: "Cortex-X4"}
# The instruction-set extensions int8 and fp16 kernels dispatch on, as /proc/cpuinfo names them.
_ISA_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx512vnni", "avx_vnni", "avx512_bf16", "amx_int8",
                 "asimd", "asimddp", "asimdhp", "i8mm", "bf16", "sve", "sve2", "sme")
# `vcgencmd get_throttled` bits: the low ones are the state now, the same bits << 16 whether it happened since boot.
_THROTTLE_BITS = {0: "under-voltage", 1: "arm frequency capped", 2: "throttled", 3: "soft temperature limit"}
_CPUFREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq")


def device_identity(runtime_packages: tuple[str, ...] = ()) -> dict[str, Any]:
    """The board, OS, CPU, memory, thermal and throttling state, and the versions of what ran the model."""
    return {
        "hostname": socket.gethostname(),
        "board": _board(),
        "os": _os(),
        "cpu": _cpu(),
        "memory_total_mb": _meminfo_mb("MemTotal"),
        "memory_available_mb": _meminfo_mb("MemAvailable"),
        "temperatures_c": _temperatures(),
        "throttling": _throttling(),
        "versions": {**toolchain_versions(runtime_packages), "edgedistill": edgedistill.__version__},
    }


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip("\x00\n ") or None
    except OSError:
        return None


def _board() -> str | None:
    """The device-tree model (a Pi: "Raspberry Pi 5 Model B Rev 1.0"), else the DMI vendor and product."""
    model = _read("/proc/device-tree/model") or _read("/sys/firmware/devicetree/base/model")
    if model:
        return model
    dmi = [_read(f"/sys/class/dmi/id/{name}") for name in ("sys_vendor", "product_name")]
    return " ".join(part for part in dmi if part) or None


def _os() -> dict[str, Any]:
    try:
        distribution = platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:
        distribution = None
    return {"system": platform.system(), "distribution": distribution, "kernel": platform.release(),
            "kernel_build": platform.version(), "machine": platform.machine(), "python": platform.python_version()}


def _cpu() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo") or ""
    fields = [line.partition(":") for line in cpuinfo.splitlines()]
    values: dict[str, list[str]] = {}
    for key, _, value in fields:
        values.setdefault(key.strip(), []).append(value.strip())
    flags = set(" ".join(values.get("flags", []) + values.get("Features", [])).split())
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "model": _cpu_model(values) or platform.processor() or None,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "isa_features": [feature for feature in _ISA_FEATURES if feature in flags],
        "governor": _read(_CPUFREQ / "scaling_governor"),
        "cur_mhz": _khz_to_mhz(_read(_CPUFREQ / "scaling_cur_freq")),
        "max_mhz": _khz_to_mhz(_read(_CPUFREQ / "scaling_max_freq") or _read(_CPUFREQ / "cpuinfo_max_freq")),
    }


def _cpu_model(values: dict[str, list[str]]) -> str | None:
    """x86's "model name"; on ARM the cores named by part number, big and LITTLE counted ("Cortex-A76 ×4")."""
    if values.get("model name"):
        return values["model name"][0]
    counts: dict[str, int] = {}
    for implementer, part in zip(values.get("CPU implementer", []), values.get("CPU part", [])):
        try:
            name = _ARM_PARTS.get(int(part, 16)) if int(implementer, 16) == 0x41 else None
        except ValueError:
            continue
        name = name or f"implementer {implementer} part {part}"
        counts[name] = counts.get(name, 0) + 1
    return " + ".join(f"{name} ×{count}" for name, count in counts.items()) or None


def _khz_to_mhz(text: str | None) -> float | None:
    return int(text) / 1000 if text and text.isdigit() else None


def _meminfo_mb(key: str) -> float | None:
    match = re.search(rf"^{key}:\s+(\d+) kB", _read("/proc/meminfo") or "", re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else None


def _temperatures() -> dict[str, float]:
    """Each thermal zone's temperature by its type (cpu-thermal, x86_pkg_temp, ...)."""
    readings = {}
    for zone in sorted(Path("/sys/class/thermal").glob("thermal_zone*")):
        kind, millidegrees = _read(zone / "type"), _read(zone / "temp")
        if kind and millidegrees and millidegrees.lstrip("-").isdigit():
            readings[kind] = int(millidegrees) / 1000
    return readings


def _throttling() -> dict[str, Any] | None:
    """A Raspberry Pi's firmware throttling flags (`vcgencmd get_throttled`), now and since boot."""
    command = shutil.which("vcgencmd")
    if command is None:
        return None
    try:
        output = subprocess.run([command, "get_throttled"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"throttled=(0x[0-9a-fA-F]+)", output)
    if match is None:
        return None
    value = int(match.group(1), 16)
    return {"source": "vcgencmd get_throttled", "value": match.group(1),
            "now": [name for bit, name in _THROTTLE_BITS.items() if value >> bit & 1],
            "since_boot": [name for bit, name in _THROTTLE_BITS.items() if value >> (bit + 16) & 1]}
