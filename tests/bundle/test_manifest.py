import copy

import pytest

from edgedistill.bundle.manifest import FileEntry, parse_manifest, task_record, tensor_specs, toolchain_versions
from edgedistill.errors import UserError
from tests.bundle.fakes import complete_manifest


def test_complete_manifest_parses_and_round_trips():
    manifest = parse_manifest(complete_manifest(), "m")
    assert manifest.runtime == "onnxruntime" and manifest.model in manifest.files
    assert parse_manifest(manifest.to_dict(), "again") == manifest
    assert list(manifest.to_dict())[0] == "schema_version"


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("metrics"), "missing field 'metrics'"),
    (lambda m: m.pop("schema_version"), "missing schema_version"),
    (lambda m: m.update(schema_version=99), "upgrade edgedistill"),
    (lambda m: m.update(surprise=1), "unknown key 'surprise'"),
    (lambda m: m["files"].update({"../evil": {"sha256": "0" * 64, "size": 1}}), "invalid name"),
    (lambda m: m["files"].update({"manifest.sig": {"sha256": "0" * 64, "size": 1}}), "invalid name"),
    (lambda m: m["files"]["tokenizer.json"].update(sha256="not-a-digest"), "not a sha256"),
    (lambda m: m["files"].update({"tokenizer.json": "0" * 64}), r"files\['tokenizer.json'\]: expected a table"),
    (lambda m: m["files"]["tokenizer.json"].pop("size"), "missing 1 required positional argument: 'size'"),
    (lambda m: m["files"]["tokenizer.json"].update(size=None), r"size must be a whole number of bytes \(got None\)"),
    (lambda m: m["files"]["tokenizer.json"].update(size=-1), r"size must be a whole number of bytes \(got -1\)"),
    (lambda m: m["files"]["tokenizer.json"].update(size=True), "expected int"),
    (lambda m: m["files"].pop("golden.json"), "does not list 'golden.json'"),
    (lambda m: m["metrics"].pop("agreement"), "metrics lacks 'agreement'"),
    (lambda m: m["metrics"]["latency_ms"].pop("p99"), "latency_ms needs"),
    (lambda m: m.update(threads="two"), "expected int"),
])
def test_invalid_manifests_are_one_line_errors(change, message):
    manifest = copy.deepcopy(complete_manifest())
    change(manifest)
    with pytest.raises(UserError, match=message) as excinfo:
        parse_manifest(manifest, "bundle/manifest.json")
    assert "\n" not in str(excinfo.value)


def test_a_schema_1_manifest_is_read_with_sizes_unknown():
    old = {**complete_manifest(), "schema_version": 1}
    old["files"] = {name: entry["sha256"] for name, entry in old["files"].items()}
    manifest = parse_manifest(old, "old/manifest.json")
    assert manifest.files["labels.json"] == FileEntry(sha256="0" * 64, size=None)


def schema_2(manifest: dict) -> dict:
    """What a schema 2 manifest held: no tokenizer settings, no model card."""
    return {**{k: v for k, v in manifest.items() if k not in ("tokenizer", "model_card", "task")}, "schema_version": 2}


def schema_3(manifest: dict) -> dict:
    """What a schema 3 manifest held: no task (every bundle was a text classifier)."""
    return {**{k: v for k, v in manifest.items() if k != "task"}, "schema_version": 3}


def test_a_schema_2_manifest_is_read_without_tokenizer_settings_or_model_card():
    manifest = parse_manifest(schema_2(complete_manifest()), "v2/manifest.json")
    assert manifest.schema_version == 2 and manifest.tokenizer is None and manifest.model_card is None
    assert "tokenizer" not in manifest.to_dict() and parse_manifest(manifest.to_dict(), "again") == manifest


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("tokenizer"), r"at \$: 'tokenizer' is a required property"),
    (lambda m: m.pop("model_card"), r"at \$: 'model_card' is a required property"),
    (lambda m: m.pop("requirements"), r"'requirements' is a required property"),
    (lambda m: m["tokenizer"].update(lowercase="yes"), r"at \$.tokenizer.lowercase"),
    (lambda m: m["tokenizer"]["special_tokens"].update(pad={"token": "[PAD]", "id": -1}), r"special_tokens.pad.id"),
    (lambda m: m["tokenizer"]["padding"].update(side="middle"), r"padding.side"),
    (lambda m: m["model_card"].update(limits=[]), r"model_card.limits"),
    (lambda m: m["model_card"]["metrics"].update(accuracy=2), r"model_card.metrics.accuracy"),
    (lambda m: m.update(schema_version=2),
     r"at \$: Additional properties are not allowed \('model_card', 'task', 'tokenizer'"),
    (lambda m: m.pop("task"), r"at \$: 'task' is a required property"),
    (lambda m: m["task"].update(metric="entity_f1"), r"at \$.task.metric"),
    (lambda m: m["task"].update(kind="token-classification"), r"metrics lacks 'entity_f1'"),
])
def test_schema_4_requires_the_task_tokenizer_settings_and_model_card(change, message):
    manifest = copy.deepcopy(complete_manifest())
    change(manifest)
    with pytest.raises(UserError, match=message):
        parse_manifest(manifest, "m")


def test_a_schema_3_manifest_is_read_as_a_text_classifier_judged_by_accuracy():
    manifest = parse_manifest(schema_3(complete_manifest()), "v3/manifest.json")
    assert manifest.task is None and manifest.task_kind == "sequence-classification" and manifest.metric == "accuracy"
    assert "task" not in manifest.to_dict() and parse_manifest(manifest.to_dict(), "again") == manifest


def test_a_token_classifier_manifest_names_its_metric_and_needs_entity_figures():
    manifest = copy.deepcopy(complete_manifest())
    manifest["task"] = task_record("token-classification", ["O", "B-PER", "I-PER"])
    manifest["outputs"][0]["shape"] = ["batch", "sequence", 3]
    with pytest.raises(UserError, match=r"metrics lacks 'entity_f1'"):
        parse_manifest(manifest, "m")
    figures = {"entity_f1": 0.8, "reference_entity_f1": 0.82, "teacher_entity_f1": None}
    manifest["metrics"] = {**{k: v for k, v in manifest["metrics"].items() if "accuracy" not in k}, **figures}
    manifest["model_card"]["metrics"] = {"split": "test", "texts": 3, "entity_f1": 0.8, "fp32_student_entity_f1": 0.82,
                                         "teacher_entity_f1": None, "agreement_with_fp32": 1.0}
    parsed = parse_manifest(manifest, "m")
    assert parsed.metric == "entity_f1" and parsed.task["alignment"] == "first-subtoken"
    manifest["outputs"][0]["shape"] = ["batch", 3]
    with pytest.raises(UserError, match=r"\$.outputs\[0\].shape"):
        parse_manifest(manifest, "m")


def test_tensor_specs_name_dynamic_axes_or_pin_static_ones():
    inputs, outputs = tensor_specs(["input_ids", "attention_mask"], None, 3)
    assert inputs[1] == {"name": "attention_mask", "dtype": "int64", "shape": ["batch", "sequence"]}
    assert outputs == [{"name": "logits", "dtype": "float32", "shape": ["batch", 3]}]
    inputs, outputs = tensor_specs(["input_ids"], 64, 2)
    assert inputs[0]["shape"] == [1, 64] and outputs[0]["shape"] == [1, 2]
    assert tensor_specs(["input_ids"], None, 9, per_token=True)[1][0]["shape"] == ["batch", "sequence", 9]


def test_toolchain_records_runtime_packages():
    versions = toolchain_versions(("onnxruntime", "onnx"))
    assert {"python", "platform", "numpy", "onnxruntime", "onnx"} <= set(versions)
