"""Plain containers for labelled text and its train/validation/test splits."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DataSpec:
    """Where the data comes from and how it is split; saved beside every model so later stages re-derive the same test split."""

    source: str
    text_column: str = "text"
    label_column: str = "label"
    test_source: str | None = None
    seed: int = 13
    validation_fraction: float = 0.1
    test_fraction: float = 0.1

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class LabelledTexts:
    """Texts with integer class ids that index `Splits.label_names`."""

    texts: list[str]
    labels: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Splits:
    """Train, validation and test sets sharing one label map."""

    train: LabelledTexts
    validation: LabelledTexts
    test: LabelledTexts
    label_names: list[str]
