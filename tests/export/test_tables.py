import pytest

from edgedistill.tables import print_export, print_profiles
from edgedistill.targets.registry import load_profile

pytestmark = pytest.mark.slow  # real ONNX Runtime exports


def test_export_table_lists_every_candidate(host_export, capsys):
    report, _ = host_export
    print_export(report)
    out = capsys.readouterr().out
    assert "int8-dynamic" in out and "int8-qdq" in out and "kept" in out
    assert report["runtimes"]["onnxruntime"]["bundle"] in out


def test_profiles_table(host_profile, capsys):
    print_profiles([load_profile(str(host_profile))])
    out = capsys.readouterr().out
    assert "host-ort" in out and "fixed [64]" in out and "6 pt" in out
