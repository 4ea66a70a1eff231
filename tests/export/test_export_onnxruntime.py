"""The export pipeline through the real ONNX Runtime: selection, bundle contents, the accuracy gate, atomicity."""

import json
from pathlib import Path

import onnx
import pytest
from onnx import helper

import edgedistill.targets.onnxruntime as ort_backend
from edgedistill.bundle import writer
from edgedistill.bundle.reader import open_bundle
from edgedistill.check.dispatch import check_bundle
from edgedistill.check.drop_estimate import TEMPERATURE_RANGE
from edgedistill.cli import main
from edgedistill.errors import UserError
from edgedistill.export.pipeline import REPORT_FILE, ExportRequest, run_export
from edgedistill.export.selection import LATENCY_TIE_FRACTION
from edgedistill.fsutil import sha256_file
from edgedistill.modeldir import read_metrics
from edgedistill.targets.base import Recipe
from edgedistill.targets.onnxruntime import OnnxRuntimeTarget
from edgedistill.targets.registry import load_profile
from edgedistill.third_party import LOG_FILE
from tests.export.conftest import write_profile

pytestmark = pytest.mark.slow  # real ONNX Runtime exports


def test_keeps_the_fastest_accepted_int8_recipe_or_a_more_accurate_tie(host_export):
    report, out = host_export
    outcome = report["runtimes"]["onnxruntime"]
    candidates = {entry["recipe"]: entry for entry in outcome["candidates"]}
    # the profile's precisions leave fp32 out; the graph choices are candidates, measured on this machine
    assert set(candidates) == {"int8-dynamic", "int8-dynamic-plain", "int8-qdq", "int8-qdq-per-tensor"}
    accepted = [e for e in candidates.values() if e["status"] in ("kept", "accepted")]
    fastest = min(e["metrics"]["latency_ms"]["p50"] for e in accepted)
    kept = candidates[outcome["kept"]]
    assert kept["status"] == "kept" and kept["metrics"]["latency_ms"]["p50"] <= fastest * (1 + LATENCY_TIE_FRACTION)
    for entry in accepted:  # every other accepted recipe was slower, or as fast but less accurate on validation
        if entry is not kept:
            assert entry["reason"].startswith(("slower than", "as fast as", "ties")), entry["reason"]
    assert [p.name for p in out.iterdir() if p.is_dir()] == [f"tiny-student-onnxruntime-{outcome['kept']}"]
    assert json.loads((out / REPORT_FILE).read_text())["runtimes"]["onnxruntime"]["kept"] == outcome["kept"]


def test_bundle_holds_model_tokenizer_labels_golden_and_manifest(host_bundle, tiny_student_dir):
    bundle = open_bundle(host_bundle)
    manifest = bundle.manifest
    recipe = manifest.quantization["recipe"]
    assert manifest.model == f"tiny-student_onnxruntime_{recipe}.onnx"
    tokenizer_files = {"tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}
    shipped = tokenizer_files & {p.name for p in tiny_student_dir.iterdir()}
    assert set(manifest.files) == {manifest.model, "labels.json", "golden.json", "vocab.txt"} | shipped
    assert "tokenizer.json" in shipped and "vocab.txt" not in shipped  # written from tokenizer.json's WordPiece vocab
    assert (manifest.target, manifest.runtime, manifest.precision) == ("host-ort", "onnxruntime", "int8")
    assert manifest.sequence == {"policy": "fixed", "max_length": 64, "buckets": [64]}
    assert [spec["name"] for spec in manifest.inputs] == ["input_ids", "attention_mask"]
    assert manifest.outputs[0]["shape"][-1] == 2
    assert manifest.data["source"].endswith("tiny.csv")
    assert {"onnxruntime", "onnx", "torch", "transformers", "edgedistill", "python"} <= set(manifest.toolchain)
    assert manifest.export_report["opset"] and manifest.export_report["export_s"] > 0


def test_vocab_txt_lines_are_the_token_ids(host_bundle):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(host_bundle / "tokenizer.json"))
    lines = (host_bundle / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == tokenizer.get_vocab_size() > 10
    assert all(tokenizer.token_to_id(token) == index for index, token in enumerate(lines))


def test_manifest_metrics_are_measured_and_sane(host_bundle, tiny_student_dir):
    metrics = open_bundle(host_bundle).manifest.metrics
    student_metrics = read_metrics(tiny_student_dir)
    # The fp32 reference is the student in PyTorch on the same 40 test texts.
    assert metrics["reference_accuracy"] == pytest.approx(student_metrics["student"]["accuracy"], abs=0.026)
    assert metrics["teacher_accuracy"] == student_metrics["teacher"]["accuracy"]
    on_validation = metrics["validation"]
    assert (on_validation["reference_accuracy"] - on_validation["accuracy"]) * 100 <= 6.0  # the gate, on validation
    assert on_validation["examples"] == 40 and metrics["test_examples"] == 40
    assert 0.8 <= metrics["agreement"] <= 1.0
    # No transfer set: the agreement gate measured the calibration texts (train split), none of them held out.
    assert metrics["unlabelled"]["examples"] > 0 and 0.8 <= metrics["unlabelled"]["agreement"] <= 1.0
    assert 0 < metrics["max_abs_logit_diff"] < 1.0  # int8: not bit-exact, but close
    assert metrics["size_bytes"] == (host_bundle / open_bundle(host_bundle).manifest.model).stat().st_size
    latency = metrics["latency_ms"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] and latency["load"] > 0 and latency["first"] > 0
    assert metrics["peak_rss_mb"] > 0


def test_fp32_bundle_matches_the_student(fp32_bundle):
    manifest = open_bundle(fp32_bundle).manifest
    # Offline- and online-optimised fp32 are both candidates; which is faster depends on the machine.
    assert manifest.precision == "fp32" and manifest.quantization["recipe"] in ("fp32", "fp32-online")
    assert manifest.metrics["agreement"] == 1.0
    assert manifest.metrics["max_abs_logit_diff"] <= OnnxRuntimeTarget.fp32_tolerance
    assert manifest.inputs[0]["shape"] == ["batch", "sequence"]


class _InvertingTarget(OnnxRuntimeTarget):
    """Real ONNX Runtime artifacts; the `int8-inverted` recipe negates the logits, breaking accuracy."""

    def export(self, inputs, recipe):
        if recipe.name != "int8-inverted":
            return super().export(inputs, recipe)
        result = super().export(inputs, self.recipe("int8-dynamic", inputs.profile))
        model = onnx.load(result.artifact)
        output = model.graph.output[0].name
        for node in model.graph.node:
            node.output[:] = [f"{name}_raw" if name == output else name for name in node.output]
        model.graph.node.append(helper.make_node("Neg", [f"{output}_raw"], [output]))
        onnx.save(model, result.artifact)
        return result


def test_accuracy_gate_rejects_a_recipe_that_breaks_accuracy(tiny_student_dir, host_profile, tmp_path, monkeypatch):
    monkeypatch.setattr(ort_backend, "TARGET", _InvertingTarget())
    profile = load_profile(str(host_profile))
    recipes = [Recipe("int8-inverted", "int8", "int8-dynamic with negated logits"),
               ort_backend.TARGET.recipe("int8-qdq-all-ops", profile)]
    strict = write_profile(tmp_path / "strict.toml", 'policy = "fixed"\nmax_length = 64\nbuckets = [64]', ["int8"],
                           max_accuracy_drop=1.0, p90_latency_ms=1e-6)
    out = tmp_path / "out"
    with pytest.raises(UserError, match="no bundle written for onnxruntime.*best.*accuracy") as excinfo:
        run_export(ExportRequest(tiny_student_dir, str(strict), out, recipes=recipes))
    assert "\n" not in str(excinfo.value)
    candidates = {e["recipe"]: e for e in json.loads((out / REPORT_FILE).read_text())["runtimes"]["onnxruntime"]["candidates"]}
    inverted = candidates["int8-inverted"]
    assert inverted["status"] == "rejected" and "accuracy drop" in inverted["reason"]
    assert inverted["metrics"]["accuracy"] < 0.2 and inverted["metrics"]["agreement"] < 0.2
    assert candidates["int8-qdq-all-ops"]["status"] == "rejected"  # by accuracy or by the impossible p90 budget
    assert {p.name for p in out.iterdir()} - {LOG_FILE} == {REPORT_FILE}  # and the libraries' warnings, if any


def test_the_expected_drop_keeps_a_harmless_int8_recipe_on_a_tiny_validation_split(tiny_student_dir, tmp_path):
    """40 validation texts put one flip at 2.5 points, over a 1-point budget; the gate also reads the unlabelled
    calibration texts and decides on its interval, recorded per candidate."""
    strict = write_profile(tmp_path / "strict.toml", 'policy = "fixed"\nmax_length = 64\nbuckets = [64]', ["int8"],
                           max_accuracy_drop=1.0)
    recipe = ort_backend.TARGET.recipe("int8-dynamic", load_profile(str(strict)))
    run_export(ExportRequest(tiny_student_dir, str(strict), tmp_path / "out", recipes=[recipe]))
    report = json.loads((tmp_path / "out" / REPORT_FILE).read_text())
    unlabelled = report["agreement_texts"]
    assert unlabelled["offered"] == {"calibration texts": unlabelled["texts"]} and unlabelled["notes"] == []
    outcome = report["runtimes"]["onnxruntime"]
    entry, = outcome["candidates"]
    gate, on_validation = entry["accuracy_gate"], entry["metrics"]["validation"]
    assert outcome["kept"] == "int8-dynamic" and entry["status"] == "kept"
    assert (gate["decision"], gate["rule"], gate["texts_needed"]) == ("accept", "expected-drop", None)
    assert gate["labelled_texts"] == on_validation["examples"] == 40 and gate["unlabelled_texts"] == unlabelled["texts"]
    flipped_unlabelled = round((1 - entry["metrics"]["unlabelled"]["agreement"]) * gate["unlabelled_texts"])
    assert gate["disagreements"] == round((1 - on_validation["agreement"]) * 40) + flipped_unlabelled
    low, high = gate["ci95_points"]
    assert 0.0 <= low <= gate["expected_drop_points"] <= high <= 1.0
    assert TEMPERATURE_RANGE[0] <= gate["temperature"] <= TEMPERATURE_RANGE[1] and 0 <= gate["ece_after"] <= 1
    assert gate["labelled_ci95_points"] == on_validation["accuracy_drop_ci95_points"]


def test_failure_while_writing_leaves_no_half_written_bundle(tiny_student_dir, host_profile, tmp_path, monkeypatch):
    real_write_json = writer.write_json

    def fail_on_manifest(path, payload):
        if Path(path).name == "manifest.json":
            raise OSError("disk full")
        real_write_json(path, payload)

    monkeypatch.setattr(writer, "write_json", fail_on_manifest)
    profile = load_profile(str(host_profile))
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        run_export(ExportRequest(tiny_student_dir, str(host_profile), out,
                                 recipes=[ort_backend.TARGET.recipe("int8-dynamic", profile)]))
    assert not out.exists() or {p.name for p in out.iterdir()} <= {LOG_FILE}


@pytest.mark.parametrize("argv, message", [
    (["--target", "no-such-device"], "unknown device profile 'no-such-device'"),
    (["--target", "{host}", "--runtime", "tflite"], "does not list runtime 'tflite'"),
    (["--target", "{host}", "--converter", "onnx2tf"], "--converter applies to runtimes with a converter"),
    (["--target", "{host}", "--calibration", "no-such-set"], "unknown calibration set 'no-such-set'"),
])
def test_bad_export_arguments_are_one_line_errors(argv, message, tiny_student_dir, host_profile, tmp_path, capsys):
    argv = [a.replace("{host}", str(host_profile)) for a in argv]
    assert main(["export", str(tiny_student_dir), "--out", str(tmp_path / "out"), *argv]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and message in error


def test_a_directory_that_is_not_a_student_is_refused(tiny_base, host_profile, tmp_path, capsys):
    for not_a_student in (tmp_path, tiny_base):
        assert main(["export", str(not_a_student), "--target", str(host_profile), "--out", str(tmp_path / "o")]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("error: ") and "is not a student" in error and "\n" not in error
    assert not (tmp_path / "o").exists()


def test_calibration_file_is_used(tiny_student_dir, host_profile, tmp_path):
    calibration = tmp_path / "calibration.jsonl"
    calibration.write_text("".join(json.dumps({"text": f"the film was great {i}"}) + "\n" for i in range(7)))
    profile = load_profile(str(host_profile))
    report = run_export(ExportRequest(tiny_student_dir, str(host_profile), tmp_path / "out", calibration=str(calibration),
                                      recipes=[ort_backend.TARGET.recipe("int8-qdq", profile)]))
    assert report["calibration"] == {"source": str(calibration), "texts": 7}
    bundle = open_bundle(Path(report["runtimes"]["onnxruntime"]["bundle"]))
    assert bundle.manifest.export_report["calibration_samples"] == 7
    assert bundle.manifest.files[bundle.manifest.model].sha256 == sha256_file(bundle.model_path)


def test_a_recipe_that_crashes_is_reported_not_fatal_to_the_report(tiny_student_dir, host_profile, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(UserError, match="every recipe failed.*bogus: AttributeError"):
        run_export(ExportRequest(tiny_student_dir, str(host_profile), out,
                                 recipes=[Recipe("bogus", "int8", "a recipe the backend cannot build")]))
    entry = json.loads((out / REPORT_FILE).read_text())["runtimes"]["onnxruntime"]["candidates"][0]
    assert entry["status"] == "rejected" and entry["reason"].startswith("failed: AttributeError")


def test_manifest_says_what_the_app_must_link(host_bundle):
    import onnx

    manifest = open_bundle(host_bundle).manifest
    graph = onnx.load(str(host_bundle / manifest.model)).graph
    requirements = manifest.requirements
    assert requirements["libraries"] == ["onnxruntime"]
    assert set(requirements["operators"]) == {node.op_type for node in graph.node}
    assert requirements["contrib_operators"] == sorted({n.op_type for n in graph.node if n.domain == "com.microsoft"})
    assert ("note" in requirements) == bool(requirements["contrib_operators"])


def test_int4_weights_export_halves_the_weights_and_passes_its_check(tiny_student_dir, profiles_dir, host_bundle,
                                                                      tmp_path):
    profile = write_profile(profiles_dir / "host-int4.toml", 'policy = "fixed"\nmax_length = 64\nbuckets = [64]',
                            ["int4"], max_accuracy_drop=6.0)
    profile.write_text(profile.read_text() + "[onnxruntime]\nweight_block_size = 16\n")
    report = run_export(ExportRequest(student_dir=tiny_student_dir, profile=str(profile), out_dir=tmp_path / "out"))
    (entry,) = report["runtimes"]["onnxruntime"]["candidates"]
    assert entry["recipe"] == "int4-weights" and entry["status"] == "kept", entry["reason"]
    bundle = Path(report["runtimes"]["onnxruntime"]["bundle"])
    manifest = open_bundle(bundle).manifest
    assert manifest.precision == "int4" and manifest.quantization["options"] == {"block_size": 16, "accuracy_level": 4}
    ops = manifest.export_report["nodes_after"]
    layers = json.loads((tiny_student_dir / "config.json").read_text())["num_hidden_layers"]
    # Q, K, V, output and both feed-forward weights per layer, the pooler and the classifier (Gemms rewritten as
    # MatMul + Add); attention's two activation products stay MatMul.
    assert ops["MatMulNBits"] == 6 * layers + 2 and ops["MatMul"] == 2 * layers and "Gemm" not in ops
    assert ops["GatherBlockQuantized"] > 0
    assert "LayerNormalization" in ops and "Softmax" in ops  # normalisation and attention stay float
    assert manifest.metrics["size_bytes"] < open_bundle(host_bundle).manifest.metrics["size_bytes"]
    assert check_bundle(bundle)["passed"]
