"""The short model card every manifest carries: the model, its data, its intended use, its metrics and its limits.

The facts come from the student directory and the artifact's own measurement; what only the person exporting
knows (the use it is meant for, limits found elsewhere) comes from `export --model-card FILE`, a TOML or YAML file:

    intended_use = "Flag negative app-store reviews for a human to read first."
    limits = ["Trained on film reviews only."]

Without one, the intended use is stated from the data and labels, and the measured limits are listed alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgedistill.data.dataset import Splits
from edgedistill.errors import UserError
from edgedistill.jsonio import read_json
from edgedistill.modeldir import read_data_spec, read_distill_record, read_metrics
from edgedistill.tasks.kinds import METRIC_NAMES, TASK_METRICS, TOKEN_TASK
from edgedistill.typed_config import from_mapping, load_mapping


@dataclass(frozen=True)
class CardText:
    """The model card's words from the person exporting; their limits come before the measured ones."""

    intended_use: str | None = None
    limits: list[str] = field(default_factory=list)


def load_card_text(path: Path | None) -> CardText:
    """`--model-card FILE`, read and checked before any export work starts."""
    if path is None:
        return CardText()
    text = from_mapping(CardText, load_mapping(path), str(path))
    if text.intended_use is not None and not text.intended_use.strip():
        raise UserError(f"{path}: intended_use is empty; say what the model is for, or leave the key out")
    if any(not limit.strip() for limit in text.limits):
        raise UserError(f"{path}: limits holds an empty entry")
    return text


def model_card(student_dir: Path, splits: Splits, metrics: dict[str, Any], precision: str, max_tokens: int,
               pruning: dict[str, Any] | None, text: CardText) -> dict[str, Any]:
    """The manifest's `model_card` for one artifact of the student in `student_dir`."""
    data = read_data_spec(student_dir)
    record = read_distill_record(student_dir)
    labels = splits.label_names if isinstance(splits, Splits) else splits.tag_names
    metric = metrics.get("metric", "accuracy")
    words = metric == TASK_METRICS[TOKEN_TASK]
    return {
        "model": _model(student_dir, record),
        "data": {"source": data.source, "test_source": data.test_source, "transfer": record.get("transfer"),
                 "labels": list(labels),
                 "texts": {"train": len(splits.train), "validation": len(splits.validation), "test": len(splits.test)}},
        "intended_use": text.intended_use or (
            (f"Tag the words of a sentence with {', '.join(labels)} (entity spans, IOB2)" if words else
             f"Sort a text into one of {', '.join(labels)}") + f", for text like that of {data.source}. "
            "Check it on your own data before relying on it."),
        "metrics": {"split": "test", "texts": len(splits.test), metric: metrics[metric],
                    f"fp32_student_{metric}": metrics[f"reference_{metric}"],
                    f"teacher_{metric}": metrics[f"teacher_{metric}"], "agreement_with_fp32": metrics["agreement"]},
        "limits": [*text.limits, *_measured_limits(data.test_source or data.source, len(splits.test), metrics,
                                                   precision, max_tokens, pruning)],
    }


def _model(student_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    config = read_json(student_dir / "config.json", "model config")
    config = config if isinstance(config, dict) else {}
    student = read_metrics(student_dir).get("student") if (student_dir / "metrics.json").is_file() else None
    teacher = record.get("teacher")
    return {"architecture": config.get("model_type"), "layers": config.get("num_hidden_layers"),
            "hidden_size": config.get("hidden_size"),
            "parameters": student.get("params") if isinstance(student, dict) else None,
            "distilled_from": Path(str(teacher)).name if teacher else None}


def _measured_limits(source: str, texts: int, metrics: dict[str, Any], precision: str, max_tokens: int,
                     pruning: dict[str, Any] | None) -> list[str]:
    limits = [f"Reads at most {max_tokens} tokens, special tokens included; the rest of a longer text is ignored.",
              f"Measured on {texts} held-out texts of {source} only; accuracy on other kinds of text is not known."]
    if precision != "fp32":
        metric = metrics.get("metric", "accuracy")
        unit = "words" if metric == TASK_METRICS[TOKEN_TASK] else "texts"
        limits.append(f"{precision}: {metrics[metric]:.2%} test {METRIC_NAMES[metric]} against {metrics[f'reference_{metric}']:.2%} "
                      f"for the fp32 student; the two agree on {metrics['agreement']:.2%} of {unit}.")
    if pruning:
        metric = pruning["metric"]
        limits.append(f"Vocabulary cut to {pruning['tokens_after']:,} of {pruning['tokens_before']:,} tokens: other "
                      f"words split into kept pieces or become [UNK] ({pruning['held_out_unknown_share_after']:.2%} "
                      f"of held-out tokens did); validation {METRIC_NAMES[metric]} "
                      f"{pruning[f'validation_{metric}_before']:.2%} before pruning, "
                      f"{pruning[f'validation_{metric}_after']:.2%} after.")
    return limits
