"""`edgedistill check`: re-measure a bundle in its runtime and hold it to its budgets (no torch).

One check, run here or on another ISA: `arch="arm64"` on an x86 host runs this same code in the emulated arm64
Python (check/emulated.py), so accuracy and parity come from Arm kernels.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.bundle.reader import Bundle, open_bundle
from edgedistill.check.latency import summarize
from edgedistill.check.parity import golden_parity, tokenizer_matches
from edgedistill.check.runner import encode_examples, load_session, run_timed
from edgedistill.data.dataset import DataSpec, LabelledTexts
from edgedistill.data.sources import BUILTIN_PREFIX, read_labelled
from edgedistill.data.splits import load_splits
from edgedistill.errors import UserError
from edgedistill.metrics import accuracy, macro_f1
from edgedistill.profiles import host_isa
from edgedistill.targets.registry import get_target
from edgedistill.typed_config import from_mapping


@dataclass
class BundleRun:
    """A check's report with the per-example logits and texts behind it (for comparing two ISAs)."""

    report: dict[str, Any]
    logits: np.ndarray
    test: LabelledTexts


def check_bundle(bundle: Path, data: str | None = None, text_column: str = "text", label_column: str = "label",
                 arch: str | None = None, cpu: str | None = None) -> dict[str, Any]:
    """Verify, load and measure a bundle; `passed` is False when any gate fails.

    `arch` other than this host's runs the check on that ISA (arm64: under qemu as `cpu`, else the CPU model
    of the bundle's profile) and compares its logits with this host's."""
    if arch is None or arch == host_isa():
        return run_check(bundle, data, text_column, label_column).report
    if arch != "arm64":
        raise UserError(f"--arch {arch}: this host ({host_isa()}) can check arm64 bundles under emulation only")
    from edgedistill.check.emulated import check_on_arm64

    return check_on_arm64(bundle, data, text_column, label_column, cpu)


def run_check(bundle: Path, data: str | None = None, text_column: str = "text", label_column: str = "label") -> BundleRun:
    """The check on this machine, with its logits."""
    opened = open_bundle(bundle)
    manifest = opened.manifest
    sequence, budgets = manifest.sequence_policy(), manifest.budget_limits()
    test, source = _test_set(opened, data, text_column, label_column)

    target = get_target(manifest.runtime)
    session, load_ms = load_session(target, opened.model_path, manifest.threads)
    run = run_timed(session, encode_examples(opened.tokenizer_json, test.texts, sequence, session.fixed_length))
    parity = golden_parity(session, opened.golden, target.tolerance(manifest.precision))

    measured = accuracy(run.logits, test.labels)
    reference = float(manifest.metrics["reference_accuracy"])
    drop_points = (reference - measured) * 100.0
    # Export chose this recipe on the validation split (the test split is only reported), so the gate here is
    # that this runtime, on this machine, reproduces the accuracy export recorded for this very bundle, within the
    # budget; the drop below the fp32 student on the test split is reported beside it.
    drift_points = (float(manifest.metrics["accuracy"]) - measured) * 100.0
    gates = {
        "accuracy": drift_points <= budgets.max_accuracy_drop + 1e-9,
        "parity": parity["passed"],
        "tokenizer": tokenizer_matches(opened.tokenizer_json, opened.golden),
    }
    report = {
        "bundle": str(bundle), "runtime": manifest.runtime, "recipe": opened.recipe, "precision": manifest.precision,
        "data": source, "examples": len(test),
        "accuracy": measured, "macro_f1": macro_f1(run.logits, test.labels, len(opened.labels)),
        "reference_accuracy": reference, "manifest_accuracy": manifest.metrics["accuracy"],
        "accuracy_drop_points": drop_points, "drift_from_export_points": drift_points,
        "max_accuracy_drop": budgets.max_accuracy_drop,
        "parity": parity,
        "latency_ms": {"load": load_ms, "first": run.first_ms, **summarize(run.samples_ms)},
        "gates": gates,
        "passed": all(value for value in gates.values() if value is not None),
        "isa": host_isa(), "machine": platform.machine(),
    }
    return BundleRun(report, run.logits, test)


def _test_set(bundle: Bundle, data: str | None, text_column: str, label_column: str) -> tuple[LabelledTexts, str]:
    """`--data` in full, else the bundle's own test split re-derived from its data spec."""
    if data is not None:
        texts, raw = read_labelled(data, text_column, label_column)
        index = {name: i for i, name in enumerate(bundle.labels)}
        unknown = sorted(set(raw) - set(index))
        if unknown:
            raise UserError(f"{data}: label {unknown[0]!r} is not one of the bundle's labels ({', '.join(bundle.labels)})")
        return LabelledTexts(texts, [index[label] for label in raw]), data
    spec = from_mapping(DataSpec, bundle.manifest.data, f"{bundle.path} manifest data")
    for source in (spec.source, spec.test_source):
        if source and not source.startswith(BUILTIN_PREFIX) and not Path(source).is_file():
            raise UserError(f"the bundle's test data {source} is not on this machine; pass --data FILE")
    return load_splits(spec, label_names=bundle.labels).test, f"{spec.source} (test split)"
