"""The MR student's int8 bundles on Arm kernels (emulated) against x86 kernels: accuracy, argmax agreement, |Δlogit|.

The MiniLM 3-layer KD student (runs/large/minilm-l3-kd@transfer8000-seed13) is exported as three int8
bundles, all at a fixed 64-token bucket with budgets wide enough that nothing is gated away:
- ONNX Runtime S8S8: static int8 QDQ with int8 activations (what the Raspberry Pi and linux-arm64 profiles ask);
- ONNX Runtime U8S8: the same recipe with uint8 activations (the x86 profile's choice);
- TFLite dynamic-range int8 (litert-torch).
Each is then checked with `check --arch arm64` under qemu as a cortex-a76 (the Raspberry Pi 5's core, int8 on
dot-product kernels) and a cortex-a72 (the Pi 4's, Armv8.0 without them); the check runs on this host too and
compares the two. qemu is 180-550x slower than a device, so `--sample` takes
the first N texts of the test split; the sample size is recorded. No timing here is a device figure.

    .venv/bin/python benchmarks/arm64_mr.py                 # full test split
    .venv/bin/python benchmarks/arm64_mr.py --sample 100
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from environment import describe_environment  # noqa: E402

from edgedistill.check.dispatch import check_bundle  # noqa: E402
from edgedistill.data.splits import load_splits  # noqa: E402
from edgedistill.export.pipeline import ExportRequest, run_export  # noqa: E402
from edgedistill.jsonio import read_json, write_json  # noqa: E402
from edgedistill.modeldir import read_data_spec, read_labels  # noqa: E402
from edgedistill.targets.registry import get_target, load_profile  # noqa: E402
from edgedistill.toolenvs.known import ARM64  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "arm64_mr.json"
STUDENT = "minilm-l3-kd@transfer8000-seed13"
CPUS = ("cortex-a76", "cortex-a72")
# name: (runtime, recipe, runtime options table)
BUNDLES = {
    "onnxruntime-s8s8": ("onnxruntime", "int8-qdq", '[onnxruntime]\nactivation_type = "int8"\nweight_type = "int8"\n'),
    "onnxruntime-u8s8": ("onnxruntime", "int8-qdq", '[onnxruntime]\nactivation_type = "uint8"\nweight_type = "int8"\n'),
    "tflite-int8-dynamic": ("tflite", "int8-dynamic", ""),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "large")
    parser.add_argument("--sample", type=int, default=None, help="first N texts of the test split (default: all)")
    parser.add_argument("--cpus", default=",".join(CPUS), help="qemu CPU models to check under")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    ARM64.require()
    student = args.work / STUDENT
    rows = {}
    with tempfile.TemporaryDirectory(prefix="arm64-mr-") as scratch:
        data, examples = sample_csv(student, args.sample, Path(scratch) / "test-sample.csv")
        bundles = {name: export_bundle(args.work, student, name, runtime, recipe, options, Path(scratch))
                   for name, (runtime, recipe, options) in BUNDLES.items()}
        for cpu in args.cpus.split(","):
            for name, bundle in bundles.items():
                runtime, recipe, _ = BUNDLES[name]
                rows[f"{name}@{cpu}"] = check_row(bundle, data, cpu, runtime, recipe)
                write_results(args, examples, rows)


def write_results(args: argparse.Namespace, examples: int, rows: dict) -> None:
    """Rewritten after every row, so a long run leaves what it has measured."""
    write_json(args.results, {
        "student": STUDENT, "examples": examples, "sample": args.sample,
        "x86_machine": platform.machine(), "arm_wheels": ARM64.versions(), "environment": describe_environment(),
        "note": "Arm figures from the aarch64 wheels under qemu user-mode emulation; no latency is reported",
        "bundles": rows,
    })


def check_row(bundle: Path, data: Path, cpu: str, runtime: str, recipe: str) -> dict:
    """One bundle checked on Arm kernels as `cpu` and on this host, compared."""
    started = time.perf_counter()
    report = check_bundle(bundle, data=str(data), arch="arm64", cpu=cpu)
    cross = report["cross_isa"]
    row = {"bundle": str(bundle.relative_to(ROOT)), "runtime": runtime, "recipe": recipe, "cpu_model": cpu,
           "x86_accuracy": cross["host_accuracy"], "arm_accuracy": report["accuracy"],
           "argmax_agreement": cross["argmax_agreement"], "flips": cross["flips"],
           "max_abs_logit_diff": cross["max_abs_logit_diff"], "tolerance": cross["tolerance"],
           "agrees": cross["agrees"], "worst": cross["worst"], "golden_parity_arm": report["parity"]["lengths"],
           "arm_machine": report["machine"], "emulated_wall_s": round(time.perf_counter() - started, 1)}
    print(f"{bundle.name} @ {cpu}: x86 {cross['host_accuracy']:.4f} arm {report['accuracy']:.4f} "
          f"agreement {cross['argmax_agreement']:.4f} max|Δ| {cross['max_abs_logit_diff']:.4g}", flush=True)
    return row


def sample_csv(student: Path, sample: int | None, path: Path) -> tuple[Path, int]:
    """The student's test split (its first `sample` texts) as a CSV that `check --data` reads."""
    test = load_splits(read_data_spec(student), label_names=read_labels(student)).test
    labels = read_labels(student)
    count = len(test) if sample is None else min(sample, len(test))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows((text, labels[label]) for text, label in zip(test.texts[:count], test.labels[:count]))
    return path, count


def export_bundle(work: Path, student: Path, name: str, runtime: str, recipe: str, options: str, scratch: Path) -> Path:
    """One int8 bundle under a host profile with wide budgets (reused when already exported)."""
    out = work / "bundles" / f"arm64-mr-{name}"
    if not (out / "export_report.json").is_file():
        profile = scratch / f"arm64-mr-{name}.toml"
        profile.write_text(f'name = "arm64-mr-{name}"\ndescription = "benchmarks/arm64_mr.py"\nisa = "x86-64"\n'
                           f'runtimes = ["{runtime}"]\nthreads = 1\nprecisions = ["int8"]\n'
                           '[sequence]\npolicy = "fixed"\nmax_length = 64\nbuckets = [64]\n'
                           f"[budgets]\nmax_accuracy_drop = 100.0\n{options}")
        explicit = [get_target(runtime).recipe(recipe, load_profile(str(profile)))]
        run_export(ExportRequest(student_dir=student, profile=str(profile), out_dir=out, runtime=runtime,
                                 recipes=explicit))
    return Path(read_json(out / "export_report.json")["runtimes"][runtime]["bundle"])


if __name__ == "__main__":
    main()
