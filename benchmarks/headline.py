"""The headline: the teacher, every runtime x precision of our student, and what users would build instead,
timed side by side in one interleaved run.

Builtin MR, batch 1, 64 tokens, 1 and 2 threads. Rows: the teacher fp32 in PyTorch and ONNX Runtime; the
student in PyTorch and every runtime x precision `edgedistill export` keeps; on the same student, the by-hand
ONNX Runtime path, Hugging Face Optimum (ORTQuantizer, avx512_vnni and arm64 dynamic configs), optimum-executorch's
XNNPACK recipe and litert-torch's plain convert; and a 1024^3 int8 and fp32 GEMM in ONNX Runtime as the ceiling.
Each thread count has one timing process holding every artifact; every repetition visits each process and, in
it, each artifact in turn, so noise spreads over all rows alike. Peer tools that cannot install beside our pins
run in their own tool environments (`make toolenv-peers`); a peer that cannot be built is recorded with why.

    .venv/bin/python benchmarks/headline.py                 # -> results/headline.json, headline.md, benchmarks/README.md table
    .venv/bin/python benchmarks/headline.py --quick         # smoke: 3 repetitions -> headline-smoke.json/.md
    .venv/bin/python benchmarks/headline.py --rebuild       # export again first (recipes chosen on this machine now)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import headline_artifacts as build
import headline_figures as figures
from environment import describe_environment

from edgedistill.check.latency import summarize
from edgedistill.data.splits import load_splits
from edgedistill.errors import first_line
from edgedistill.jsonio import read_json, write_json
from edgedistill.modeldir import read_data_spec, read_labels

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LENGTH = 64
THREAD_COUNTS = ("1", "2")
QUICK_SCORED_TEXTS = 40
README_START, README_END = "<!-- headline:start -->", "<!-- headline:end -->"
WORKER = Path(__file__).resolve().parent / "headline_worker.py"
OUR_ARTIFACTS = (("onnxruntime", "fp32"), ("onnxruntime", "int8"), ("executorch", "fp32"), ("executorch", "int8"),
                 ("tflite", "fp32"), ("tflite", "fp16"), ("tflite", "int8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, default=ROOT / "runs" / "large" / "teacher",
                        help="a teacher directory named `teacher`; its ONNX export goes to ../bundles/teacher")
    parser.add_argument("--student", type=Path, default=ROOT / "runs" / "large" / "minilm-l3-kd@transfer8000-seed13")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "headline", help="artifacts, built once and reused")
    parser.add_argument("--repetitions", type=int, default=40)
    parser.add_argument("--calls", type=int, default=10, help="timed calls per artifact, thread count and repetition")
    parser.add_argument("--pipeline-run", type=Path,
                        help="an `edgedistill run` folder: the pipeline wall time is its stages' recorded elapsed "
                             "time (default: teach + distill + export figures of --teacher and --student)")
    parser.add_argument("--rebuild", action="store_true",
                        help="export every student artifact again (export keeps the recipe that measured fastest "
                             "when it ran, so a record taken on an idle machine should rebuild what a busy one chose)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 repetitions of 3 calls, accuracy on the first 40 test texts, *-smoke results")
    args = parser.parse_args()
    if args.quick:
        args.repetitions, args.calls = 3, 3
    stem = "headline-smoke" if args.quick else "headline"
    started = time.perf_counter()
    pipeline = run_wall_time(args.pipeline_run) if args.pipeline_run else None  # a wrong folder fails before timing
    artifacts, failures = collect(args)
    splits = load_splits(read_data_spec(args.student), label_names=read_labels(args.student))
    timing_text = max(splits.test.texts, key=len)
    scored = len(splits.test) if not args.quick else QUICK_SCORED_TEXTS
    texts, labels = splits.test.texts[:scored], splits.test.labels[:scored]
    argmax, samples, load_errors = measure(artifacts, texts, timing_text, args.repetitions, args.calls)
    configs = {"teacher": args.teacher / "config.json", "student": args.student / "config.json"}
    rows = describe_rows(artifacts, failures, argmax, samples, load_errors, labels, configs)
    teacher_accuracy = rows.get("teacher-pytorch-fp32", {}).get("accuracy") or read_json(
        args.teacher / "metrics.json")["teacher"]["accuracy"]
    results = {
        "description": __doc__.splitlines()[0],
        "command": [Path(sys.executable).name, *sys.argv],
        "environment": describe_environment(),
        "settings": {"length": LENGTH, "batch": 1, "threads": list(THREAD_COUNTS), "repetitions": args.repetitions,
                     "calls": args.calls, "test_texts": len(texts), "timing_text": timing_text,
                     "teacher": str(args.teacher), "student": str(args.student), "quick": args.quick,
                     "notes": [("latency: every artifact padded to 64 tokens; peer .onnx files run with our bundles' "
                                "ONNX Runtime session options (threads, sequential, denormals flushed)"),
                               "accuracy and agreement: the test texts at batch 1, 64 tokens, in the 1-thread process",
                               "gflops: FLOPs counted from the model config (headline_figures.encoder_flops) / p50"]},
        "ceiling": ceiling(rows),
        "rows": rows,
        "pipeline": pipeline or pipeline_wall_time(args.teacher, args.student, artifacts),
    }
    results["goals"] = figures.goals(rows, teacher_accuracy)
    results["total_s"] = round(time.perf_counter() - started, 1)
    write_json(RESULTS / f"{stem}.json", results)
    table = figures.markdown(results)
    (RESULTS / f"{stem}.md").write_text(table)
    if not args.quick:
        update_readme(table)
    print(table)


def update_readme(table: str) -> None:
    """Put the table between benchmarks/README.md's headline markers (left alone when they are missing)."""
    readme = ROOT / "benchmarks" / "README.md"
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        say(f"benchmarks/README.md has no {README_START} ... {README_END} markers; the table is only in {RESULTS}")
        return
    readme.write_text(text[:start + len(README_START)] + "\n" + table + text[end:])


def collect(args: argparse.Namespace) -> tuple[list[build.Artifact], dict[str, tuple[str, str]]]:
    """Build (or reuse) every row's artifact; a row that fails is kept with its reason."""
    work, student, teacher = args.work.resolve(), args.student.resolve(), args.teacher.resolve()
    makers = {
        "teacher-pytorch-fp32": lambda: build.pytorch("teacher", teacher),
        "teacher-onnxruntime-fp32": lambda: build.teacher_onnx(teacher),
        "student-pytorch-fp32": lambda: build.pytorch("student", student),
        **{f"student-{runtime}-{precision}": (lambda r=runtime, p=precision: build.ours(student, work, r, p))
           for runtime, precision in OUR_ARTIFACTS},
        "peer-by-hand-onnxruntime-int8": lambda: build.by_hand_onnx(student, work),
        "peer-optimum-avx512-vnni-onnxruntime-int8": lambda: build.optimum_onnx(student, work, "avx512_vnni"),
        "peer-optimum-arm64-onnxruntime-int8": lambda: build.optimum_onnx(student, work, "arm64"),
        "peer-optimum-executorch-xnnpack": lambda: build.optimum_executorch(student, work),
        "peer-litert-torch-tflite-int8": lambda: build.litert_torch_plain(student, work),
    }
    artifacts, failures = [], {}
    for name, make in makers.items():
        if args.rebuild and name.startswith(("student-", "peer-")) and name != "student-pytorch-fp32":
            shutil.rmtree(work / name, ignore_errors=True)  # each such row builds into work/<its name>
        say(f"{name}: building or reusing")
        try:
            artifacts.append(make())
        except Exception as exc:  # one tool that cannot build must not cost the other rows
            failures[name] = (one_line(exc), origin_of(name))
            say(f"{name}: FAILED {failures[name][0]}")
    ceiling_dir = work / "ceiling"
    for kind, integer in (("int8", True), ("fp32", False)):
        path = figures.write_gemm(ceiling_dir / f"gemm-{kind}.onnx", integer)
        artifacts.append(build.Artifact(f"ceiling-gemm-{kind}", "gemm", "onnxruntime", kind, "gemm", path, Path(),
                                        path, "onnx"))
    return artifacts, failures


def measure(artifacts: list[build.Artifact], test_texts: list[str], timing_text: str, repetitions: int,
            calls: int) -> tuple[dict[str, list[int]], dict[str, dict[str, list[float]]], dict[str, str]]:
    """Argmax on every test text, then `repetitions` rounds over both timing processes and every artifact."""
    rows = [{**artifact.worker_row(), "tokenizer": "" if artifact.kind == "gemm" else str(artifact.tokenizer)}
            for artifact in artifacts]
    workers = {threads: Worker(threads) for threads in THREAD_COUNTS}
    errors: dict[str, str] = {}
    try:
        loaded: dict[str, list[str]] = {}
        for threads, worker in workers.items():
            say(f"loading {len(rows)} artifacts at {threads} thread(s)")
            answer = worker.ask({"op": "load", "rows": rows, "text": timing_text, "length": LENGTH})
            loaded[threads] = answer["loaded"]
            errors.update(answer["errors"])
        say(f"scoring {len(test_texts)} test texts per artifact")
        # One thread: PyTorch's OpenMP pool stalls at barriers when the machine is busy, and argmax does not
        # depend on the thread count.
        argmax = workers[THREAD_COUNTS[0]].ask({"op": "score", "texts": test_texts})["argmax"]
        samples: dict[str, dict[str, list[float]]] = {artifact.name: {t: [] for t in THREAD_COUNTS} for artifact in artifacts}
        for repetition in range(repetitions):
            order = THREAD_COUNTS if repetition % 2 == 0 else tuple(reversed(THREAD_COUNTS))
            for threads in order:
                for name in loaded[threads]:
                    samples[name][threads] += workers[threads].ask({"op": "time", "name": name, "calls": calls})["ms"]
            say(f"repetition {repetition + 1}/{repetitions} done")
    finally:
        for worker in workers.values():
            worker.close()
    return argmax, samples, errors


class Worker:
    """One timing process (headline_worker.py) at a fixed thread count."""

    def __init__(self, threads: str):
        self.process = subprocess.Popen([sys.executable, str(WORKER), threads], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"timing process exited with {self.process.wait()}; see its output above")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def describe_rows(artifacts: list[build.Artifact], failures: dict[str, tuple[str, str]], argmax: dict[str, list[int]],
                  samples: dict[str, dict[str, list[float]]], load_errors: dict[str, str], labels: list[int],
                  configs: dict[str, Path]) -> dict[str, Any]:
    teacher = argmax.get("teacher-pytorch-fp32")
    rows: dict[str, Any] = {}
    for artifact in artifacts:
        row: dict[str, Any] = {"model": artifact.model, "runtime": artifact.runtime, "precision": artifact.precision,
                               "origin": artifact.origin, "file": str(artifact.file),
                               "size_bytes": artifact.file.stat().st_size if artifact.kind != "gemm" else None,
                               **artifact.details}
        if artifact.name in load_errors:
            row["error"] = load_errors[artifact.name]
        predictions = argmax.get(artifact.name)
        if predictions is not None:
            row["accuracy"] = sum(p == y for p, y in zip(predictions, labels)) / len(labels)
            row["teacher_agreement"] = (sum(p == t for p, t in zip(predictions, teacher)) / len(teacher)) if teacher else None
        row["latency"] = {threads: {k: v for k, v in summarize(values).items() if k in ("p50", "p90", "mean", "runs")}
                          for threads, values in samples.get(artifact.name, {}).items() if values}
        if artifact.kind != "gemm":
            row["flops"] = figures.encoder_flops(configs[artifact.model], LENGTH)
        rows[artifact.name] = row
    for name, (error, origin) in failures.items():
        rows[name] = {"model": "teacher" if name.startswith("teacher") else "student", "runtime": runtime_of(name),
                      "precision": "fp32" if name.endswith("fp32") else "int8", "origin": origin, "error": error}
    add_throughput(rows)
    return rows


def add_throughput(rows: dict[str, Any]) -> None:
    """GFLOP/s per thread count, and that as a share of the same-precision GEMM ceiling in the same run."""
    for row in rows.values():
        if "flops" not in row:
            continue
        row["gflops"] = {t: row["flops"] / (figures_ms * 1e6) for t, figures_ms in _p50s(row).items()}
        ceiling_row = rows.get(f"ceiling-gemm-{'int8' if row['precision'] == 'int8' else 'fp32'}", {})
        row["ceiling_fraction"] = {t: value / (figures.gemm_ops() / (_p50s(ceiling_row)[t] * 1e6))
                                   for t, value in row["gflops"].items() if t in _p50s(ceiling_row)}


def ceiling(rows: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {kind: {t: figures.gemm_ops() / (ms * 1e6) for t, ms in _p50s(rows.get(f"ceiling-gemm-{kind}", {})).items()}
            for kind in ("int8", "fp32")}


def _p50s(row: dict[str, Any]) -> dict[str, float]:
    return {t: figures_["p50"] for t, figures_ in row.get("latency", {}).items()}


def pipeline_wall_time(teacher: Path, student: Path, artifacts: list[build.Artifact]) -> dict[str, Any]:
    """teach + distill + one export per runtime, from the metrics those commands recorded."""
    teach_s = read_json(teacher / "metrics.json").get("wall_seconds", 0.0)
    distill_s = read_json(student / "metrics.json").get("wall_seconds", 0.0)
    exports = {a.name: a.details["export_s"] for a in artifacts
               if a.model == "student" and a.origin == "edgedistill" and "export_s" in a.details}
    return {"teach_s": teach_s, "distill_s": distill_s, "export_s": exports,
            "total_s": teach_s + distill_s + sum(exports.values()),
            "how": "teach + distill wall_seconds from their metrics.json, plus each student export's total_s from "
                   "export_report.json (one export per runtime x precision here; `edgedistill export` runs one per "
                   "runtime)"}


def run_wall_time(run_dir: Path) -> dict[str, Any]:
    """The stages of an `edgedistill run`, as its ledger (RUN/stages/STAGE.json) recorded their last run."""
    stages = {path.stem: read_json(path).get("elapsed_s", 0.0) for path in sorted((run_dir / "stages").glob("*.json"))}
    if not stages:
        raise SystemExit(f"error: {run_dir} has no stages/*.json; is it an `edgedistill run` folder?")
    return {"stages_s": stages, "total_s": sum(stages.values()),
            "how": f"the stages of `edgedistill run` in {run_dir}, each as last run (a skipped stage keeps its time)"}


def runtime_of(name: str) -> str:
    return next((r for r in ("onnxruntime", "executorch", "tflite", "pytorch") if r in name), "unknown")


def origin_of(name: str) -> str:
    if name.startswith("peer-optimum-executorch"):
        return "optimum-executorch"
    if name.startswith("peer-optimum"):
        return "optimum-onnx"
    if name.startswith("peer-litert"):
        return "litert-torch"
    return "by hand" if name.startswith("peer-by-hand") else "edgedistill"


def one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {first_line(exc)}"


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
