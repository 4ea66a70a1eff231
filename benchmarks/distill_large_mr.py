"""A large teacher distilled into small students on MR: does distillation beat fine-tuning the small model?

Rows (mean ± sd over seeds; the 400-sentence test split moves about 2 points between seeds):
  teacher            all-mpnet-base-v2 (MPNet, 12 x 768, 109.5M) fine-tuned once and reused
  minilm-finetuned   all-MiniLM-L6-v2 fine-tuned directly on the labels: what a team ships without distillation
  minilm-plain       the same fine-tune by a plain script (random batches, HF's linear schedule), on the same
                     split: `teach` must be at least as good
  mpnet-l6-kd        6-layer mpnet student from teacher layers 0,2,4,7,9,11 (DistilBERT style), KD
  mpnet-l3-kd        3-layer mpnet student from teacher layers 0,4,8, KD
  minilm-l3-kd       3-layer student from layers 0,2,4 of all-MiniLM-L6-v2 (another width, head count and
                     tokenizer), KD from the mpnet teacher plus the MR-review transfer set
  minilm-l3-hard     the same student on hard labels only
  best-intermediate  the best of the three KD rows, plus the intermediate losses that apply to it
  minilm-l3-aug8     minilm-l3-kd's student with 8 teacher-labelled variants of every labelled text (distill
                     --augment) instead of the transfer set, on a patient schedule counted in steps
  minilm-l3-aug24    the same with 24 variants (about 77k texts for the teacher to label)
  minilm-l6-aug24    all 6 MiniLM layers, augment 24: the drop-in replacement for MiniLM-L6 fine-tuned alone
  mpnet-l6-aug24     the 6-layer mpnet student, augment 24
  minilm-l3-aug8-{mask,ngram,replace}-only   one-seed ablations: one generator at a time

Every run also records its test predictions, so each row gets a paired bootstrap CI of its mean accuracy's
difference from minilm-finetuned's over the same test sentences and seeds, and the labelling and training
minutes come from the student's metrics.json.

Every finished run is written to benchmarks/results/distill_large_mr.json at once, so an interrupted
benchmark keeps what it measured and a rerun skips what is done. Each run records the device it ran on.
The seed-13 student of each row is kept under runs/large/ for `benchmarks/targets_large_mr.py`.

    .venv/bin/python benchmarks/distill_large_mr.py                          # everything
    .venv/bin/python benchmarks/distill_large_mr.py --rows teacher           # the teacher alone
    .venv/bin/python benchmarks/distill_large_mr.py --rows minilm-l3-kd --seeds 13
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from distill_mr import print_table, summarise  # noqa: E402
from environment import describe_environment  # noqa: E402

from edgedistill.data import DataSpec  # noqa: E402
from edgedistill.distill.config import DistillConfig, TeachConfig  # noqa: E402
from edgedistill.fsutil import user_cache_root  # noqa: E402
from edgedistill.jsonio import read_json, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "distill_large_mr.json"
# Outside the work tree, so the teacher (45 minutes on 2 cores) outlives a fresh checkout.
WORK = Path(os.environ.get("EDGEDISTILL_BENCH_WORK", user_cache_root() / "benchmarks" / "large"))
DATA = DataSpec(source="builtin:mr-polarity")
KEPT_SEED = 13
# MR sentences fit in 64 tokens (99th percentile: 45 words); the plain-script baseline used 64 too.
MAX_LENGTH = 64
TEACHER = dict(base="builtin:all-mpnet-base-v2", learning_rate=3e-5, epochs=3, max_length=MAX_LENGTH)
MINILM = "builtin:all-minilm-l6-v2"
KD = dict(temperature=4.0, alpha=0.5, max_length=MAX_LENGTH)
TRAINED_ROWS = {
    "minilm-finetuned": ("all-MiniLM-L6-v2 fine-tuned on the labels alone (no teacher)",
                         dict(base=MINILM, learning_rate=5e-5, epochs=3, max_length=MAX_LENGTH)),
}
DISTILLED_ROWS = {
    "mpnet-l6-kd": ("6-layer mpnet student from teacher layers 0,2,4,7,9,11 (DistilBERT style), KD",
                    dict(KD, layer_map=[0, 2, 4, 7, 9, 11], learning_rate=5e-5, epochs=4)),
    "mpnet-l3-kd": ("3-layer mpnet student from teacher layers 0,4,8, KD",
                    dict(KD, layer_map=[0, 4, 8], learning_rate=5e-5, epochs=4)),
    "minilm-l3-kd": ("3-layer student from all-MiniLM-L6-v2 layers 0,2,4, KD from the mpnet teacher + MR-review transfer set",
                     # 2 epochs: the 47k transfer sentences make each epoch 15x the labelled one.
                     dict(KD, student_base=MINILM, layer_map=[0, 2, 4], learning_rate=1e-4, epochs=2,
                          transfer="builtin:mr-reviews")),
    "minilm-l3-hard": ("the same MiniLM 3-layer student on hard labels only (alpha=1, no transfer set)",
                       dict(KD, student_base=MINILM, layer_map=[0, 2, 4], learning_rate=1e-4, epochs=4, alpha=1.0)),
}
# The patient schedule of the augmented rows: a fixed number of steps, validated every 200, stopped after 5
# evaluations without a better validation accuracy (ties to agreement with the teacher).
PATIENT = dict(steps=3000, eval_every=200, patience=5)
MINILM_L3 = dict(KD, student_base=MINILM, layer_map=[0, 2, 4], learning_rate=1e-4)
AUGMENTED_ROWS = {
    "minilm-l3-aug8": ("3-layer MiniLM student (layers 0,2,4) under the mpnet teacher, KD + 8 teacher-labelled "
                       "variants per labelled text", dict(MINILM_L3, augment=8, **PATIENT)),
    "minilm-l3-aug24": ("the same with 24 variants per text", dict(MINILM_L3, augment=24, **PATIENT)),
    "minilm-l6-aug24": ("all 6 MiniLM layers under the mpnet teacher, KD + 24 variants per text",
                        dict(MINILM_L3, layer_map=[0, 1, 2, 3, 4, 5], augment=24, **PATIENT)),
    "mpnet-l6-aug24": ("6-layer mpnet student (teacher layers 0,2,4,7,9,11), KD + 24 variants per text",
                       dict(KD, layer_map=[0, 2, 4, 7, 9, 11], learning_rate=5e-5, augment=24, **PATIENT)),
    "minilm-l3-aug8-mask-only": ("ablation: minilm-l3-aug8 with masking alone (p 0.3)",
                                 dict(MINILM_L3, augment=8, augment_mask=0.3, augment_replace=0.0, augment_ngram=0.0,
                                      **PATIENT)),
    "minilm-l3-aug8-ngram-only": ("ablation: minilm-l3-aug8 with n-gram sampling alone (p 1)",
                                  dict(MINILM_L3, augment=8, augment_mask=0.0, augment_replace=0.0, augment_ngram=1.0,
                                       **PATIENT)),
    "minilm-l3-aug8-replace-only": ("ablation: minilm-l3-aug8 with neighbour replacement alone (p 0.3)",
                                    dict(MINILM_L3, augment=8, augment_mask=0.0, augment_replace=0.3, augment_ngram=0.0,
                                         **PATIENT)),
}
DISTILLED_ROWS.update(AUGMENTED_ROWS)
KD_ROWS = ("mpnet-l6-kd", "mpnet-l3-kd", "minilm-l3-kd")
# The intermediate losses that apply: token-level ones only where the student shares the teacher's tokenizer.
INTERMEDIATE = {"mpnet-l6-kd": {"hidden": 1.0, "attention": 1.0}, "mpnet-l3-kd": {"hidden": 1.0, "attention": 1.0},
                "minilm-l3-kd": {"pkd": 100.0}}
ROW_ORDER = ("teacher", "minilm-finetuned", "minilm-plain", "minilm-l3-hard", "mpnet-l3-kd", "minilm-l3-kd", "mpnet-l6-kd",
             "best-intermediate", *AUGMENTED_ROWS)
BASELINE = "minilm-finetuned"
BOOTSTRAP_SAMPLES = 10_000
# The goals (MR, same split, 3 seeds): G1 (a >= 10x-faster student at >= 95% of the teacher) is computed
# by targets_large_mr.py, which times the bundles.
G2_MARGIN = 0.025  # the 3-layer MiniLM student above MiniLM-L6 fine-tuned alone
G3_FRACTION = 0.97  # the 6-layer mpnet student, of the teacher
G4_MINUTES = 25.0  # teacher labelling at augment 24 on 2 cores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROW_ORDER), help="comma-separated row names")
    parser.add_argument("--seeds", default="13,14,15", help="comma-separated training seeds")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--rerun", action="store_true",
                        help="run the given seeds again even when recorded (e.g. to record their test predictions)")
    parser.add_argument("--transfer-limit", type=int, default=None,
                        help="sample this many transfer texts (default: all 47k); recorded as a row of its own")
    args = parser.parse_args()
    results = read_json(args.results) if args.results.is_file() else {"rows": {}}
    teacher = ensure_teacher(results, args.results)
    for name in args.rows.split(","):
        if name == "teacher":
            continue
        description, settings = row_settings(name, results)
        if args.transfer_limit is not None and settings.get("transfer"):
            settings = dict(settings, transfer_limit=args.transfer_limit)
            name, description = f"{name}@transfer{args.transfer_limit}", f"{description} ({args.transfer_limit} sampled)"
        row = results["rows"].setdefault(name, {"description": description, "runs": {}})
        row.update(description=description, config=settings)
        for seed in [int(s) for s in args.seeds.split(",")]:
            if str(seed) in row["runs"] and not args.rerun:
                continue
            out = WORK / f"{name}-seed{seed}"
            if name == "minilm-plain":
                run = plain_finetune(seed, settings)
            elif name in TRAINED_ROWS:
                run = teach_once(out, seed, settings)
            else:
                run = distill_once(teacher, out, seed, settings)
            if seed != KEPT_SEED:
                shutil.rmtree(out, ignore_errors=True)
            row["runs"][str(seed)] = run
            row["summary"] = summarise(row["runs"].values(), results["teacher"]["accuracy"])
            save(results, args.results)
            print(f"{name} seed {seed}: {dict((k, v) for k, v in run.items() if k != 'test_correct')}", flush=True)
    print_table(results)


def paired_bootstrap(row: dict, baseline: dict, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict | None:
    """95% CI of (row's mean test accuracy - baseline's) over the seeds both ran with predictions, resampling the
    test sentences (the same resample for both, so the pairing removes the sentences' own difficulty)."""
    import numpy as np

    seeds = sorted(set(row["runs"]) & set(baseline["runs"]))
    seeds = [s for s in seeds if "test_correct" in row["runs"][s] and "test_correct" in baseline["runs"][s]]
    if not seeds:
        return None

    def correct(entry: dict) -> np.ndarray:
        return np.array([[c == "1" for c in entry["runs"][s]["test_correct"]] for s in seeds], dtype=np.float64)

    difference = correct(row).mean(0) - correct(baseline).mean(0)  # per test sentence, averaged over seeds
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(difference), size=(samples, len(difference)))
    means = difference[draws].mean(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"seeds": [int(s) for s in seeds], "difference": float(difference.mean()), "ci95": [float(low), float(high)],
            "samples": samples}


def compute_goals(results: dict) -> dict:
    """The goals this benchmark can decide, each met or missed by how much (None: not run yet)."""
    rows, teacher = results["rows"], results["teacher"]["accuracy"]
    baseline = rows.get(BASELINE, {}).get("summary")

    def mean(name: str) -> float | None:
        summary = rows.get(name, {}).get("summary")
        return summary["accuracy"]["mean"] if summary else None

    goals = {}
    three_layer = {name: mean(name) for name in rows if name.startswith("minilm-l3-aug") and "only" not in name}
    three_layer = {name: value for name, value in three_layer.items() if value is not None}
    if three_layer and baseline:
        best = max(three_layer, key=three_layer.get)
        margin = three_layer[best] - baseline["accuracy"]["mean"]
        ci = rows[best].get(f"vs_{BASELINE}")
        goals["G2_three_layer_beats_finetuned_by_2.5"] = {
            "row": best, "seeds": rows[best]["summary"]["seeds"], "margin_points": round(100 * margin, 2),
            "ci95_points": [round(100 * x, 2) for x in ci["ci95"]] if ci else None,
            "met": margin >= G2_MARGIN and bool(ci and ci["ci95"][0] > 0),
            "short_by_points": round(100 * max(0.0, G2_MARGIN - margin), 2)}
    six_layer = {name: mean(name) for name in ("mpnet-l6-kd", "mpnet-l6-aug24") if mean(name) is not None}
    if six_layer:
        best = max(six_layer, key=six_layer.get)
        fraction = six_layer[best] / teacher
        goals["G3_six_layer_mpnet_97_percent"] = {
            "row": best, "seeds": rows[best]["summary"]["seeds"], "fraction_of_teacher": round(fraction, 4),
            "met": fraction >= G3_FRACTION, "short_by_points": round(100 * max(0.0, G3_FRACTION * teacher - six_layer[best]), 2)}
    labelled = [run["teacher_labelling"] for name, row in rows.items() if name.endswith("aug24")
                for run in row["runs"].values() if run.get("teacher_labelling", {}).get("texts", 0) > 60_000]
    if labelled:
        minutes = labelled[0]["seconds"] / 60
        goals["G4_labelling_minutes_at_augment_24"] = {
            "texts": labelled[0]["texts"], "minutes": round(minutes, 1), "runtime": labelled[0]["runtime"],
            "texts_per_second": labelled[0]["texts_per_second"], "met": minutes <= G4_MINUTES,
            "over_by_minutes": round(max(0.0, minutes - G4_MINUTES), 1)}
    return goals


def row_settings(name: str, results: dict) -> tuple[str, dict]:
    if name == "minilm-plain":
        return ("all-MiniLM-L6-v2 fine-tuned by a plain script on the same split (the issue's baseline recipe)",
                TRAINED_ROWS["minilm-finetuned"][1])
    if name in TRAINED_ROWS:
        return TRAINED_ROWS[name]
    if name in DISTILLED_ROWS:
        return DISTILLED_ROWS[name]
    if name == "best-intermediate":
        return best_intermediate(results)
    raise SystemExit(f"unknown row {name!r}; rows: {', '.join(ROW_ORDER)}")


def best_intermediate(results: dict) -> tuple[str, dict]:
    """Row 7: the KD row (a sampled-transfer variant counts) with the best mean over at least three seeds, ties going
    to the smaller student, retrained with the intermediate losses that apply to it."""
    done = {row: summary for row, entry in results["rows"].items()
            if row.split("@")[0] in KD_ROWS and (summary := entry.get("summary")) and summary["seeds"] >= 3}
    if not done:
        raise SystemExit(f"best-intermediate needs a KD row ({', '.join(KD_ROWS)}) with 3 seeds first")
    best = max(done, key=lambda row: (round(done[row]["accuracy"]["mean"], 4), -done[row]["params"]))
    losses = INTERMEDIATE[best.split("@")[0]]
    return (f"{best} + {', '.join(losses)} losses (best KD row with 3 seeds when run)",
            dict(results["rows"][best]["config"], losses=losses))


def ensure_teacher(results: dict, path: Path) -> Path:
    """Fine-tune the mpnet teacher once; later runs reuse it."""
    out = WORK / "teacher"
    if not (out / "metrics.json").is_file():
        from edgedistill.distill.teach import run_teach

        run_teach(TeachConfig(data=DATA, out=out, seed=KEPT_SEED, **TEACHER))
    from edgedistill.distill.teacher_cache import model_key

    metrics = read_json(out / "metrics.json")
    teacher = {"config": TEACHER, "accuracy": metrics["teacher"]["accuracy"],
               "macro_f1": metrics["teacher"]["macro_f1"], "params": metrics["teacher"]["params"],
               "best_epoch": metrics["best_epoch"], "history": metrics["history"],
               "wall_seconds": round(metrics["wall_seconds"], 1),
               "device": metrics.get("timings", {}).get("device"), "model_key": model_key(out)}
    if results.get("teacher", {}).get("model_key") != teacher["model_key"] and "teacher" in results:
        # A retrained teacher (a fresh machine) differs in its last digits; rows name the teacher they ran under.
        results.setdefault("previous_teachers", []).append(results["teacher"])
    results["teacher"] = teacher
    save(results, path)
    return out


def teach_once(out: Path, seed: int, settings: dict) -> dict:
    from edgedistill.distill.teach import run_teach

    metrics = run_teach(TeachConfig(data=DATA, out=out, seed=seed, **settings))
    return {"accuracy": metrics["teacher"]["accuracy"], "macro_f1": metrics["teacher"]["macro_f1"],
            "params": metrics["teacher"]["params"], "best_epoch": metrics["best_epoch"],
            "test_correct": test_correct(out), "training_minutes": round(metrics["timings"]["train_seconds"] / 60, 2),
            "wall_seconds": round(metrics["wall_seconds"], 1), "device": metrics["timings"].get("device")}


def plain_finetune(seed: int, settings: dict) -> dict:
    """The issue's plain recipe: shuffled batches of 32 padded per batch, AdamW, 10% warmup then linear decay,
    gradient clipping at 1.0; the best epoch on validation. No edgedistill training code is used."""
    import time

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    from edgedistill.data import load_splits
    from edgedistill.distill.backbones import resolve_backbone

    started = time.perf_counter()
    torch.manual_seed(seed)
    splits = load_splits(DATA)
    path = resolve_backbone(settings["base"])
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"])
    batch, epochs = 32, settings["epochs"]
    steps = epochs * -(-len(splits.train) // batch)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)

    def encode(texts):
        return tokenizer(texts, padding=True, truncation=True, max_length=settings["max_length"], return_tensors="pt")

    def accuracy(split) -> float:
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(**encode(split.texts[i:i + 64])).logits.argmax(-1)
                               == torch.tensor(split.labels[i:i + 64])).sum()) for i in range(0, len(split), 64))
        model.train()
        return correct / len(split)

    history = []
    for _epoch in range(epochs):
        order = torch.randperm(len(splits.train)).tolist()
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            loss = model(**encode([splits.train.texts[r] for r in rows]),
                         labels=torch.tensor([splits.train.labels[r] for r in rows])).loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
        history.append({"validation_accuracy": accuracy(splits.validation), "test_accuracy": accuracy(splits.test)})
    best = max(range(epochs), key=lambda i: history[i]["validation_accuracy"])
    return {"accuracy": history[best]["test_accuracy"], "best_epoch": best + 1, "history": history,
            "params": sum(p.numel() for p in model.parameters()), "wall_seconds": round(time.perf_counter() - started, 1),
            "device": f"cpu, {torch.get_num_threads()} threads"}


def distill_once(teacher: Path, out: Path, seed: int, settings: dict) -> dict:
    from edgedistill.distill.teacher_cache import model_key
    from edgedistill.distill.trainer import run_distill

    # resume: a run killed mid-schedule goes on from its last evaluation's checkpoint (a fresh start without one).
    config = dataclasses.replace(DistillConfig(data=DATA, teacher=teacher, out=out, seed=seed, resume=True), **settings)
    metrics = run_distill(config)
    return {"accuracy": metrics["student"]["accuracy"], "macro_f1": metrics["student"]["macro_f1"],
            "agreement": metrics["agreement"], "params": metrics["student"]["params"],
            "non_embedding_params": metrics["student"]["non_embedding_params"], "best_epoch": metrics["best_epoch"],
            "best_step": metrics.get("best_step"), "schedule": metrics.get("schedule"),
            "rows_seen": metrics.get("rows_seen"), "train_texts": metrics["train_texts"],
            "transfer_texts": metrics["train_texts"]["transfer"], "teacher_labelling": metrics.get("teacher_labelling"),
            "labelling_minutes": round(metrics["timings"]["teacher_logits_seconds"] / 60, 2),
            "training_minutes": round(metrics["timings"]["train_seconds"] / 60, 2),
            "test_correct": test_correct(out), "wall_seconds": round(metrics["wall_seconds"], 1),
            "device": metrics["timings"].get("device"), "teacher_model_key": model_key(teacher)}


def test_correct(model_dir: Path) -> str:
    """One character per test sentence, in split order: 1 where the model's label is right."""
    from edgedistill.data import load_splits
    from edgedistill.distill.batches import encode_texts, load_tokenizer
    from edgedistill.distill.predict import predict_logits
    from edgedistill.model.classifiers import load_trained_classifier

    splits = load_splits(DATA)
    encoded = encode_texts(load_tokenizer(model_dir), splits.test.texts, MAX_LENGTH)
    predicted = predict_logits(load_trained_classifier(model_dir), encoded).argmax(-1)
    return "".join("1" if p == label else "0" for p, label in zip(predicted, splits.test.labels))


def save(results: dict, path: Path) -> None:
    for name, row in results["rows"].items():
        if name != BASELINE and BASELINE in results["rows"]:
            ci = paired_bootstrap(row, results["rows"][BASELINE])
            if ci:
                row[f"vs_{BASELINE}"] = ci
    results["goals"] = compute_goals(results)
    results["environment"] = describe_environment()
    write_json(path, results)


if __name__ == "__main__":
    main()
