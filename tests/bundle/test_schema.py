"""The published manifest schema: what edgedistill writes matches it, and an app team's own validator, fed the
same file, refuses what edgedistill refuses."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from edgedistill.bundle.manifest import parse_manifest
from edgedistill.bundle.schema import SCHEMA_FILE, manifest_schema
from edgedistill.cli import main
from edgedistill.errors import UserError
from tests.bundle.fakes import complete_manifest, fake_bundle

VALIDATOR = Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


def test_the_schema_is_valid_json_schema_and_a_written_manifest_matches_it(tmp_path):
    Draft202012Validator.check_schema(manifest_schema())
    bundle = fake_bundle(tmp_path)
    assert list(VALIDATOR.iter_errors(json.loads((bundle / "manifest.json").read_text()))) == []


@pytest.mark.parametrize("change", [
    lambda m: m.update(precision="int2"),
    lambda m: m.update(threads=0),
    lambda m: m.update(model="../model.onnx"),
    lambda m: m["files"].update({"manifest.json": {"sha256": "0" * 64, "size": 1}}),
    lambda m: m["files"]["tokenizer.json"].update(size=-1),
    lambda m: m["sequence"].update(policy="wavy"),
    lambda m: m["budgets"].update(min_agreement=1.5),
    lambda m: m["metrics"].update(accuracy=1.2),
    lambda m: m["metrics"]["latency_ms"].pop("p90"),
    lambda m: m.update(colour="blue"),
])
def test_what_the_schema_refuses_parse_manifest_refuses_too(change):
    manifest = complete_manifest()
    change(manifest)
    assert list(VALIDATOR.iter_errors(manifest))
    with pytest.raises(UserError):
        parse_manifest(manifest, "m")


def test_a_manifest_only_the_schema_catches_is_a_one_line_error():
    manifest = complete_manifest()
    manifest["inputs"][0]["dtype"] = "int8"  # typed as a string in the dataclass; the schema names the dtypes
    with pytest.raises(UserError, match=r"^m: does not match the manifest schema at \$\.inputs\[0\]\.dtype: 'int8' is not one of"):
        parse_manifest(manifest, "m")


def test_manifest_schema_command_prints_the_file(capsys):
    assert main(["manifest-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(SCHEMA_FILE.read_text())
