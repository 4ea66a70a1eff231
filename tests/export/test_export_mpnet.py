"""An MPNet-architecture student (relative position bias, no segment ids, `<pad>` = 1) through every runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgedistill.check.dispatch import check_bundle
from edgedistill.export.pipeline import ExportRequest, run_export
from tests.export.conftest import write_profile

pytestmark = pytest.mark.slow  # real exports through three runtimes

RUNTIMES = ("onnxruntime", "executorch", "tflite")


@pytest.fixture(scope="module")
def mpnet_export(tiny_mpnet_student_dir, profiles_dir, tmp_path_factory):
    profile = write_profile(profiles_dir / "mpnet-all.toml", 'policy = "fixed"\nmax_length = 64\nbuckets = [64]',
                            ["int8", "fp32"], max_accuracy_drop=6.0)
    text = profile.read_text().replace('runtimes = ["onnxruntime"]', f"runtimes = {list(RUNTIMES)!r}".replace("'", '"'))
    profile.write_text(text)
    out = tmp_path_factory.mktemp("mpnet-bundles")
    return run_export(ExportRequest(student_dir=tiny_mpnet_student_dir, profile=str(profile), out_dir=out)), out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_runtime_keeps_a_checked_mpnet_bundle(mpnet_export, runtime):
    report, _ = mpnet_export
    outcome = report["runtimes"][runtime]
    for candidate in outcome["candidates"]:
        assert candidate["status"] in {"kept", "accepted", "rejected", "skipped"}
        if candidate["status"] == "rejected":
            assert candidate["reason"]  # a failed conversion is a reason, not a crash
    measured = {c["recipe"]: c["metrics"] for c in outcome["candidates"] if c.get("metrics")}
    assert measured["fp32"]["max_abs_logit_diff"] < 1e-4
    assert any(c["precision"] == "int8" and c["status"] in {"kept", "accepted"} for c in outcome["candidates"])
    bundle = Path(outcome["bundle"])
    check = check_bundle(bundle)
    assert check["passed"] and check["accuracy"] >= 0.8
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["runtime"] == runtime


def test_bundles_pad_with_mpnets_own_pad_token(mpnet_export):
    from edgedistill.text.encode import TextEncoder

    report, _ = mpnet_export
    bundle = Path(report["runtimes"]["onnxruntime"]["bundle"])
    ids, mask = TextEncoder(bundle / "tokenizer.json", 64).encode(["great film", "a dull and tedious plot"])
    assert ids[0, 0] == 0 and ids[0, -1] == 1 and mask[0, -1] == 0  # <s> first, <pad> (id 1) after the text
    settings = json.loads((bundle / "manifest.json").read_text())["tokenizer"]  # and the manifest tells the app so
    assert settings["padding"]["pad_id"] == 1 and settings["added_tokens"] == {"before": [0], "after": [2]}
    special = settings["special_tokens"]
    assert special["cls"] == {"token": "<s>", "id": 0} and special["mask"]["token"] == "<mask>"
