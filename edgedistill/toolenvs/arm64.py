"""An emulated arm64 Python: a Debian rootfs run by qemu user-mode, with the aarch64 wheels of the runtimes.

Built without root-level kernel settings, binfmt or containers (Debian 12 x86-64):
debootstrap --foreign downloads python3 and its packages, `dpkg-deb -x` unpacks them (--foreign only
downloads), and pip installs the aarch64 wheels from this side into `site/`, at the versions pinned in the
main environment's constraints.txt. `bin/python` runs it: qemu-aarch64-static with `-L` on a root for the
CPU model in $QEMU_CPU. edgedistill's own code is not copied in; callers put it on PYTHONPATH.

Traps this layout avoids:
- onnxruntime segfaults on import when /proc/cpuinfo is the host's x86 text (qemu passes it through), so
  each CPU model has a root of its own (symlinks into the rootfs) with an aarch64 `proc/cpuinfo`;
- qemu's default `-cpu max` enables SME, under which ORT int8 outputs came out wrong (max |Δ| 6.47 on
  outputs of about 5.6), so only the models in CPU_MODELS are allowed;
- an emulated process cannot exec x86 `sys.executable` ("Exec format error"), so argv[0] is the wrapper,
  which execs qemu again for subprocesses.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from edgedistill.errors import UserError
from edgedistill.toolenvs.base import ToolEnv, run_step

SUITE = "bookworm"  # its python3 is 3.11, matching the cp311 wheels below
GUEST_PYTHON = "usr/bin/python3.11"
# The aarch64 wheels the torch-free check imports, at the main environment's versions.
WHEELS = ("numpy", "onnxruntime", "ai-edge-litert", "flatbuffers", "tokenizers", "PyYAML", "jsonschema",
          "jsonschema-specifications", "referencing", "rpds-py", "attrs", "typing_extensions", "packaging",
          "protobuf")
# pip takes exact platform tags: every glibc up to bookworm's 2.36 (ai-edge-litert 2.3.0 is manylinux_2_27).
PLATFORMS = ("manylinux2014_aarch64", *(f"manylinux_2_{minor}_aarch64" for minor in range(17, 37)))
# The runtimes whose Arm kernels the env runs. executorch 1.5.1 ships an aarch64 wheel, but its pybindings
# link libtorch: checking .pte files here would need torch's aarch64 wheel and minutes of emulated import.
RUNTIMES = ("onnxruntime", "tflite")
SYSTEM_TOOLS = {"qemu-aarch64-static": "qemu-user-static", "debootstrap": "debootstrap", "dpkg-deb": "dpkg"}

# qemu 7.2 models these wheels run correctly under, with each one's /proc/cpuinfo part number and HWCAPs.
# `max` is left out: it enables SME, and ORT int8 outputs came out wrong under it.
_ARMV80 = "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"
_ARMV82_DOT = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs"
CPU_MODELS = {
    "cortex-a72": ("0xd08", _ARMV80),  # Raspberry Pi 4: Armv8.0, no dot product, so int8 takes the widening NEON path
    "cortex-a76": ("0xd0b", _ARMV82_DOT),  # Raspberry Pi 5, phone big cores
    "neoverse-n1": ("0xd0c", _ARMV82_DOT),  # Graviton 2 and most Arm servers
}


def arm64_toolenv(constraints: Path) -> ToolEnv:
    """The emulated arm64 environment, its wheels pinned to the versions in `constraints` (a pip freeze)."""
    pinned = _pinned(constraints)
    pins = (f"debootstrap-suite={SUITE}", *(f"cpu={cpu}:{part}:{features}" for cpu, (part, features) in CPU_MODELS.items()),
            *(pinned[name.lower()] for name in WHEELS if name.lower() in pinned))

    def build(path: Path, env: ToolEnv) -> None:
        missing = [name for name in WHEELS if name.lower() not in pinned]
        if missing:
            raise UserError(f"{constraints} pins no version of {', '.join(missing)}; the arm64 env takes its "
                            "wheel versions from it")
        absent = sorted({package for tool, package in SYSTEM_TOOLS.items() if shutil.which(tool) is None})
        if absent:
            raise UserError(f"the arm64 env needs {', '.join(absent)}: run `make arm64env`, which apt-get "
                            "installs them")
        rootfs = path / "rootfs"
        run_step(env, ["debootstrap", "--arch=arm64", "--foreign", "--variant=minbase", "--include=python3",
                       SUITE, str(rootfs)], quiet=True)
        archives = rootfs / "var" / "cache" / "apt" / "archives"
        for deb in sorted(archives.glob("*.deb")):
            run_step(env, ["dpkg-deb", "-x", str(deb), str(rootfs)])
            deb.unlink()
        platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
        run_step(env, [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                       "--no-deps", "--only-binary=:all:", *platforms, "--python-version", "3.11",
                       "--implementation", "cp", "--abi", "cp311", "--target", str(path / "site"),
                       *(pinned[name.lower()] for name in WHEELS)])
        for cpu, (part, features) in CPU_MODELS.items():
            _cpu_root(rootfs, path / "cpus" / cpu, part, features)
        _write_wrapper(path / "bin" / "python")
        run_step(env, [str(path / "bin" / "python"), "-c",
                       "import platform, numpy, onnxruntime, tokenizers, yaml, jsonschema\n"
                       "from ai_edge_litert.interpreter import Interpreter\n"
                       "assert platform.machine() == 'aarch64', platform.machine()"],
                 environ=guest_environ(path, "cortex-a76", []), quiet=True)

    return ToolEnv(name="arm64", pins=pins, make_target="arm64env", build=build,
                   build_note="debootstrap and aarch64 wheels: about 2 minutes, 550 MB")


def guest_environ(path: Path, cpu: str, source_paths: list[Path]) -> dict[str, str]:
    """Environment for `bin/python`: the CPU model, the wheels and `source_paths` on PYTHONPATH."""
    if cpu not in CPU_MODELS:
        raise UserError(f"qemu CPU model {cpu!r} is not one the arm64 env runs correctly; use one of "
                        f"{', '.join(sorted(CPU_MODELS))}")
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "VIRTUAL_ENV", "QEMU_CPU")}
    environ["QEMU_CPU"] = cpu
    environ["PYTHONPATH"] = os.pathsep.join(str(p) for p in (path / "site", *source_paths))
    environ["PYTHONNOUSERSITE"] = "1"
    return environ


def _pinned(constraints: Path) -> dict[str, str]:
    """{lower-case name: "name==version"} from a pip-freeze file; empty when the file is not there."""
    if not constraints.is_file():
        return {}
    lines = (line.strip() for line in constraints.read_text().splitlines())
    return {line.split("==", 1)[0].lower(): line for line in lines if "==" in line and not line.startswith("#")}


def _cpu_root(rootfs: Path, root: Path, part: str, features: str) -> None:
    """A root for one CPU model: the rootfs's top-level entries by symlink, and its own /proc/cpuinfo."""
    (root / "proc").mkdir(parents=True)
    for entry in rootfs.iterdir():
        if entry.name != "proc":
            (root / entry.name).symlink_to(entry)
    block = (f"BogoMIPS\t: 50.00\nFeatures\t: {features}\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
             f"CPU variant\t: 0x4\nCPU part\t: {part}\nCPU revision\t: 1\n")
    (root / "proc" / "cpuinfo").write_text("".join(f"processor\t: {i}\n{block}\n" for i in range(4)))


def _write_wrapper(wrapper: Path) -> None:
    """`bin/python`: qemu on the guest interpreter, argv[0] set to itself so subprocesses come back here."""
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(
        "#!/bin/sh\n"
        "# The emulated aarch64 Python. QEMU_CPU picks the CPU model (never qemu's default `max`, see arm64.py).\n"
        'env_dir=$(cd "$(dirname "$0")/.." && pwd)\n'
        ': "${QEMU_CPU:?set QEMU_CPU to a model under $env_dir/cpus}"\n'
        'root="$env_dir/cpus/$QEMU_CPU"\n'
        '[ -d "$root" ] || { echo "error: no root for QEMU_CPU=$QEMU_CPU in $env_dir/cpus" >&2; exit 2; }\n'
        f'exec qemu-aarch64-static -L "$root" -0 "$env_dir/bin/python" "$root/{GUEST_PYTHON}" "$@"\n')
    wrapper.chmod(0o755)
