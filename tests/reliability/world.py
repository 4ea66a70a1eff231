"""A small, valid workspace that every bad-input case starts from, then damages in one place.

Every input each command reads is here and is good: data files, a teach/distill config, a device profile,
a base encoder, a teacher and a student directory, a bundle that passes `check`, a registry holding it
and a pulled copy, and a recipe with its run folder as a finished `run` leaves it. Paths inside it are
relative, so a copy of the folder works wherever it lands. The bundle's model is a hand-built ONNX graph (an
embedding averaged over the mask), so no conversion runs; the run folder is assembled from the same parts.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.bundle.fakes import manifest_fields
from tests.tiny import save_tiny_encoder, synthetic_rows, write_csv

BUNDLE = "bundle"
REGISTRY = "registry"
PULLED = "pulled"
RECIPE = "recipe.toml"
RUN = "runs/tiny"  # the recipe's run folder: runs/NAME
RESULT = "board-result.json"  # `bench --out` of the bundle, as a board would have written it
PROFILE_NAME = "tiny-host"
NAME = "m-onnxruntime-fp32"
MODEL_FILE = "m_onnxruntime_fp32.onnx"
PROFILE_TOML = """name = "tiny-host"
description = "onnxruntime fp32, dynamic lengths"
isa = "x86-64"
runtimes = ["onnxruntime"]
threads = 1
precisions = ["fp32"]

[sequence]
policy = "dynamic"
max_length = 32

[budgets]
max_accuracy_drop = 100.0
"""
TEACH_TOML = """out = "teacher-out"
base = "base"
epochs = 1
min_steps = 0
max_length = 32

[data]
source = "data/train.csv"
"""
DISTILL_TOML = """out = "student-out"
teacher = "teacher"
layers = 1
epochs = 1
min_steps = 0
max_length = 32

[data]
source = "data/train.csv"
"""
RECIPE_TOML = """name = "tiny"
teacher = "teacher"

[data]
source = "data/train.csv"

[distill]
layers = 1
epochs = 1
min_steps = 0
max_length = 32

[export]
targets = ["profile.toml"]
"""


def build_world(root: Path) -> Path:
    """Write the pristine workspace into `root` (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    previous = Path.cwd()
    os.chdir(root)  # data specs and the registry hold relative paths
    try:
        _data(Path("data"))
        Path("profile.toml").write_text(PROFILE_TOML)
        Path("teach.toml").write_text(TEACH_TOML)
        Path("distill.toml").write_text(DISTILL_TOML)
        save_tiny_encoder(Path("base"), layers=2)
        _model_dir(Path("teacher"), layers=2)
        _model_dir(Path("student"), layers=1)
        _bundle(Path(BUNDLE), Path("student"))
        _bench_result(Path(RESULT))
        _registry_and_pull()
        Path(RECIPE).write_text(RECIPE_TOML)
        _finished_run()
    finally:
        os.chdir(previous)
    return root


def _data(folder: Path) -> None:
    folder.mkdir()
    rows = synthetic_rows(80)
    write_csv(folder / "train.csv", rows)
    with open(folder / "train.tsv", "w", encoding="utf-8") as handle:
        handle.write("text\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in rows))
    with open(folder / "train.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps({"text": text, "label": label}) + "\n" for text, label in rows)
    (folder / "transfer.txt").write_text("".join(text + "\n" for text, _ in synthetic_rows(20, seed=1)))


def _model_dir(path: Path, layers: int) -> None:
    """A directory as teach/distill write it: weights, tokenizer, labels, data spec, metrics."""
    from edgedistill.data.dataset import DataSpec
    from edgedistill.jsonio import write_json
    from edgedistill.modeldir import write_data_spec, write_labels

    save_tiny_encoder(path, layers=layers)
    config = json.loads((path / "config.json").read_text())
    config.update(id2label={"0": "neg", "1": "pos"}, label2id={"neg": 0, "pos": 1})
    (path / "config.json").write_text(json.dumps(config))
    write_labels(path, ["neg", "pos"])
    write_data_spec(path, DataSpec(source="data/train.csv"))
    write_json(path / "metrics.json", {"teacher": {"accuracy": 0.5}, "student": {"accuracy": 0.5}})


def _onnx_model(path: Path, vocab_size: int) -> None:
    """logits = mean over unmasked tokens of a per-token 2-vector: any length, batch 1 or more."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    table = np.random.default_rng(0).normal(size=(vocab_size, 2)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["per_token"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["per_token", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask_f", "axis1"], ["count"], keepdims=1),
        helper.make_node("Div", ["summed", "count"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes, "mean-embedding",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
         for name in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        initializer=[numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([2], np.int64), "axis2"),
                     numpy_helper.from_array(np.array([1], np.int64), "axis1")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


def _bundle(path: Path, student: Path) -> None:
    """A bundle written by the real writer, with golden vectors computed by the model in ONNX Runtime."""
    import tempfile

    from edgedistill.bundle.golden import build_golden, pick_golden_texts
    from edgedistill.bundle.writer import write_bundle
    from edgedistill.data.splits import load_splits
    from edgedistill.modeldir import read_data_spec
    from edgedistill.profiles import SequencePolicy
    from edgedistill.targets.onnxruntime.runtime import OnnxRuntimeSession

    vocab_size = len(json.loads((student / "tokenizer.json").read_text())["model"]["vocab"])
    with tempfile.TemporaryDirectory() as scratch:
        model = Path(scratch) / MODEL_FILE
        _onnx_model(model, vocab_size)
        session = OnnxRuntimeSession(model, threads=1)
        sequence = SequencePolicy(policy="dynamic", max_length=32)
        texts = pick_golden_texts(load_splits(read_data_spec(student)).test.texts)
        golden = build_golden(texts, student / "tokenizer.json", sequence, session.run)
        fields = manifest_fields(MODEL_FILE)
        fields.update(sequence={"policy": "dynamic", "max_length": 32, "buckets": []},
                      data={"source": "data/train.csv"}, budgets={"max_accuracy_drop": 100.0, "p90_latency_ms": None})
        fields["metrics"].update(accuracy=0.5, reference_accuracy=0.5, size_bytes=model.stat().st_size)
        write_bundle(path, model, MODEL_FILE, student, golden, fields)


def _bench_result(path: Path) -> None:
    from edgedistill.check.bench import BenchSettings, bench_with_identity
    from edgedistill.jsonio import write_json

    write_json(path, bench_with_identity(Path(BUNDLE), BenchSettings(runs=1, seconds=0.0, warmup=0, length=8)))


def _registry_and_pull() -> None:
    from edgedistill.bundle.registry import publish, pull

    publish(Path(BUNDLE), REGISTRY)
    pull(NAME, REGISTRY, Path(PULLED))


def _finished_run() -> None:
    """RUN as `run recipe.toml` leaves it when every stage is done, without training or converting: the world's
    student and bundle stand for what distill and export wrote, check and report run for real, and the ledger
    records each stage's real key, so the run skips every stage until a case changes something."""
    from edgedistill.check.dispatch import check_bundle
    from edgedistill.jsonio import write_json
    from edgedistill.report.writer import write_report
    from edgedistill.run.ledger import Ledger, stage_key
    from edgedistill.run.recipe import load_recipe
    from edgedistill.run.stages import BUNDLES_DIR, REPORT_DIR, plan
    from tests.report.conftest import candidate

    recipe = load_recipe(RECIPE)
    shutil.copytree("student", recipe.distill.out)
    folder = Path(RUN, BUNDLES_DIR, PROFILE_NAME)
    shutil.copytree(BUNDLE, folder / NAME)
    write_json(folder / "export_report.json", {
        "student": str(recipe.distill.out), "profile": PROFILE_NAME, "metric": "accuracy", "reference_accuracy": 0.5,
        "budgets": {"max_accuracy_drop": 100.0}, "runtimes": {"onnxruntime": {
            "kept": "fp32", "bundle": str(folder / NAME), "error": None, "check": {"passed": True, "gates": {}},
            "candidates": [candidate("fp32", "kept", 0.5, 1.0, 0.01)]}}})
    write_json(folder / "checks.json", {NAME: check_bundle(folder / NAME)})
    write_report(Path(RUN), Path(RUN, REPORT_DIR))
    ledger, run_ids = Ledger(Path(RUN)), {}
    for stage in plan(recipe):
        key = stage_key({**stage.settings, "after": {name: run_ids[name] for name in stage.after}})
        run_ids[stage.name] = ledger.finish(stage.name, key, 0.0).run_id
        assert stage.output.is_file(), stage.output


# What each command reads, so a case copies only that much of the world (copying is most of a case's time).
# The rest is absent, not hidden: a command that reached for it would fail, and a write there would show.
READS = {
    "teach": ("base", "teach.toml"), "distill": ("teacher", "distill.toml"), "export": ("student", "profile.toml"),
    "check": (BUNDLE,), "bench": (BUNDLE, RESULT), "publish": (BUNDLE, REGISTRY), "pull": (REGISTRY, PULLED),
    "bundles": (REGISTRY,), "targets": ("profile.toml",), "predict": (BUNDLE,), "prune-vocab": ("student",),
    "run": ("teacher", "profile.toml", RECIPE, "runs"), "report": ("runs",), "keygen": (), "results": (RESULT,),
    "manifest-schema": (),
}


def copy_world(pristine: Path, destination: Path, command: str) -> Path:
    """A private copy of the data and of what `command` reads, for one case (symbolic links kept as links)."""
    destination.mkdir(parents=True)
    for name in ("data", *READS[command]):
        source = pristine / name
        if source.is_dir():
            shutil.copytree(source, destination / name, symlinks=True)
        else:
            shutil.copy2(source, destination / name)
    return destination
