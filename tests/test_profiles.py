"""Device profiles: the qemu CPU model their Arm-kernel checks run under, and the accuracy budget."""

from __future__ import annotations

import pytest

from edgedistill.errors import UserError
from edgedistill.metrics import drop_points
from edgedistill.profiles import Budgets, exceeds_drop_budget, parse_profile, profile_names, read_profile
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


def test_a_drop_exactly_at_the_budget_passes_despite_floating_point():
    at_budget = drop_points(0.92, 0.93)  # 1.0000000000000009 points
    assert at_budget > 1.0 and not exceeds_drop_budget(at_budget, Budgets(max_accuracy_drop=1.0))
    assert exceeds_drop_budget(1.01, Budgets(max_accuracy_drop=1.0))
