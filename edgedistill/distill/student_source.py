"""Where a student's layers come from: the teacher itself, or another pretrained encoder; and loading both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgedistill.distill.backbones import resolve_backbone
from edgedistill.distill.batches import load_tokenizer
from edgedistill.distill.config import DistillConfig
from edgedistill.distill.losses import IntermediateLosses
from edgedistill.distill.student import build_student
from edgedistill.model.classifiers import (
    classifier_task,
    load_base_classifier,
    load_trained_classifier,
    read_model_config,
)


@dataclass(frozen=True)
class StudentSource:
    """The model whose layers the student copies: the teacher itself, or another pretrained encoder."""

    path: Path
    config: object  # its Hugging Face config
    name: str  # "teacher" or the --student-base value
    shares_tokenizer: bool

    @classmethod
    def of(cls, config: DistillConfig) -> StudentSource:
        if config.student_base is None:
            return cls(Path(config.teacher), read_model_config(config.teacher), "teacher", True)
        path = resolve_backbone(config.student_base)
        return cls(path, read_model_config(path), str(config.student_base), same_tokenizer(config.teacher, path))

    @property
    def is_teacher(self) -> bool:
        return self.name == "teacher"


def same_tokenizer(first: Path, second: Path) -> bool:
    """Whether two model directories tokenise identically (same tokenizer class and vocabulary)."""
    first_tokenizer, second_tokenizer = load_tokenizer(first), load_tokenizer(second)
    return (type(first_tokenizer) is type(second_tokenizer)
            and first_tokenizer.get_vocab() == second_tokenizer.get_vocab())


def teacher_and_student(config: DistillConfig, source: StudentSource, label_names: list[str], layer_map: list[int],
                         intermediate: IntermediateLosses | None):
    """The teacher, and the student initialised from the source's layers; eager attention when a loss reads attention maps."""
    teacher = load_trained_classifier(config.teacher)
    source_model = teacher if source.is_teacher else load_base_classifier(source.path, label_names, config.seed,
                                                                          classifier_task(config.teacher))
    student = build_student(source_model, layer_map, config.init, config.seed)
    if intermediate is not None and intermediate.needs_attentions:
        teacher.set_attn_implementation("eager")
        student.set_attn_implementation("eager")
    return teacher, student
