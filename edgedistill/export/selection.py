"""Which recipe to keep: the fastest one (by p50) that stays within the profile's budgets (pure logic).

The accuracy budget is judged on the validation split, the agreement budget on unlabelled in-domain texts;
the test split is only reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgedistill.errors import UserError
from edgedistill.targets.base import Recipe
from edgedistill.profiles import Budgets

_EPSILON = 1e-9


class NoRecipePassed(UserError):
    """Every candidate failed or broke a budget; the message names the best one's figures."""


@dataclass
class Candidate:
    """One recipe's outcome: its measured metrics, or the error that stopped it."""

    recipe: Recipe
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def accuracy_drop_points(self) -> float:
        """The drop below the fp32 student on the validation split, which decides."""
        on_validation = self.metrics["validation"]
        return (on_validation["reference_accuracy"] - on_validation["accuracy"]) * 100.0

    @property
    def unlabelled_agreement(self) -> float | None:
        """The share of unlabelled texts on which the artifact's argmax matches the fp32 student's, if measured."""
        on_unlabelled = self.metrics.get("unlabelled")
        return on_unlabelled["agreement"] if on_unlabelled else None

    @property
    def p50_ms(self) -> float:
        return self.metrics["latency_ms"]["p50"]

    @property
    def p90_ms(self) -> float:
        return self.metrics["latency_ms"]["p90"]


def rejection_reason(candidate: Candidate, budgets: Budgets) -> str | None:
    """Why `candidate` is out, or None when it is within budget."""
    if candidate.error is not None:
        return f"failed: {candidate.error}"
    if candidate.accuracy_drop_points > budgets.max_accuracy_drop + _EPSILON:
        return (f"validation accuracy drop {candidate.accuracy_drop_points:.2f} points exceeds the budget of "
                f"{budgets.max_accuracy_drop:g}")
    agreed = candidate.unlabelled_agreement
    if budgets.min_agreement is not None and agreed is not None and agreed < budgets.min_agreement - _EPSILON:
        return (f"agrees with the fp32 student on {agreed:.1%} of {candidate.metrics['unlabelled']['examples']} "
                f"unlabelled texts, under the budget of {budgets.min_agreement:.0%}")
    if budgets.p90_latency_ms is not None and candidate.p90_ms > budgets.p90_latency_ms:
        return f"p90 {candidate.p90_ms:.2f} ms exceeds the budget of {budgets.p90_latency_ms:g} ms"
    return None


def select_recipe(candidates: list[Candidate], budgets: Budgets) -> Candidate:
    """The accepted candidate with the lowest p50 (earlier wins a tie); NoRecipePassed when none is accepted."""
    accepted = [c for c in candidates if rejection_reason(c, budgets) is None]
    if accepted:
        return min(accepted, key=lambda c: c.p50_ms)
    measured = [c for c in candidates if c.error is None]
    if not measured:
        failures = "; ".join(f"{c.recipe.name}: {c.error}" for c in candidates) or "no recipes to try"
        raise NoRecipePassed(f"every recipe failed ({failures})")
    best = min(measured, key=lambda c: (c.accuracy_drop_points, c.p50_ms))
    raise NoRecipePassed(f"no recipe met the budgets; the best, {describe(best)}, was rejected: "
                         f"{rejection_reason(best, budgets)}")


def describe(candidate: Candidate) -> str:
    """The candidate's headline figures in one phrase."""
    m = candidate.metrics
    on_validation = m["validation"]
    return (f"{candidate.recipe.name} (validation accuracy {on_validation['accuracy']:.2%} vs fp32 "
            f"{on_validation['reference_accuracy']:.2%}, "
            f"p50 {candidate.p50_ms:.2f} ms, p90 {candidate.p90_ms:.2f} ms)")
