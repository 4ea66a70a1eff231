"""Plain containers for labelled text and its train/validation/test splits."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from edgedistill.errors import UserError


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

    def __post_init__(self) -> None:
        fractions = (self.validation_fraction, self.test_fraction)
        if not all(0 <= fraction < 1 for fraction in fractions) or sum(fractions) >= 1:
            raise UserError(f"validation_fraction and test_fraction must lie in [0, 1) and leave texts to train on "
                            f"(got {self.validation_fraction} and {self.test_fraction})")

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
