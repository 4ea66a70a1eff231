"""One tiny world shared by every reliability case; each case damages a copy of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.harness import warm_imports
from tests.reliability.world import build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """The pristine workspace (see world.py); never modified by a case."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDGEDISTILL_CACHE", str(tmp_path_factory.mktemp("reliability-cache")))
        root = build_world(tmp_path_factory.mktemp("reliability") / "world")
    warm_imports()
    return root


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Teacher logits and downloads go to a folder of the test session's own, never to ~/.cache."""
    monkeypatch.setenv("EDGEDISTILL_CACHE", str(tmp_path_factory.getbasetemp() / "reliability-cache"))
