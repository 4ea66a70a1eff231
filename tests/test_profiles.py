"""Device profiles name the qemu CPU model their Arm-kernel checks run under."""

from __future__ import annotations

import pytest

from edgedistill.errors import UserError
from edgedistill.profiles import parse_profile, profile_names, read_profile
from edgedistill.toolenvs.arm64 import CPU_MODELS


def test_every_shipped_arm64_profile_names_a_cpu_model_the_env_runs():
    arm64 = [read_profile(name)[0] for name in profile_names() if read_profile(name)[0].isa == "arm64"]
    assert {profile.name for profile in arm64} >= {"raspberry-pi-4", "raspberry-pi-5", "linux-arm64"}
    assert all(profile.emulation_cpu in CPU_MODELS for profile in arm64)
    assert read_profile("raspberry-pi-5")[0].emulation_cpu == "cortex-a76"
    assert read_profile("raspberry-pi-4")[0].emulation_cpu == "cortex-a72"


def test_emulation_cpu_belongs_to_arm64_profiles_only():
    mapping = {"name": "x", "description": "x", "isa": "x86-64", "runtimes": ["onnxruntime"], "emulation_cpu": "cortex-a76"}
    with pytest.raises(UserError, match="emulation_cpu applies to isa = 'arm64'"):
        parse_profile(mapping, "x.toml")
