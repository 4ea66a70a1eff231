"""The accuracy gate (numpy only, so `check` can read it too): how far below the fp32 student a candidate's accuracy
is expected to fall, on how many texts, with what 95% interval, and whether that is within budget.

A validation split is small: on 60 texts one flipped text is 1.67 points, so two flips rejected an int8 recipe
that dropped 0.15 points on 2,000 held-out texts. A flip costs accuracy only when the fp32 student was right, and
the fp32 student's own probabilities say how likely that is. So the gate also reads unlabelled in-domain texts:
each text costs p(fp32 class) - p(candidate's class), 0 where the two argmaxes agree, which is the expected drop
when those probabilities are calibrated. One temperature fitted on the labelled validation split calibrates them,
and the labels then check the estimate: where their own drop interval lies above it, the labels decide alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from edgedistill.metrics import accuracy, accuracy_drop_interval, drop_points
from edgedistill.profiles import Budgets, exceeds_drop_budget
from edgedistill.tasks.kinds import METRIC_NAMES

# The two-sided 95% quantile of the normal distribution.
Z95 = 1.959963984540054
# Unlabelled texts the gate scores besides the validation split, a seeded sample when there are more: each is one
# batch-1 call per candidate. At 4,000 even the widest case, 2.5% of texts flipping where the fp32 student was sure
# (a per-text sd of 15.6 points), resolves to +/-0.48 points, inside a 1-point budget.
UNLABELLED_LIMIT = 4000
# Temperatures searched: a student trained to near one-hot outputs needs T > 1, one trained with label smoothing
# T < 1. A validation split the student gets entirely right pushes T to the lower end, and every flip then costs
# almost a whole text, so the estimate errs towards the cautious side.
TEMPERATURE_RANGE = (0.05, 20.0)
# Golden-section steps: the bracket shrinks by 0.618 per step, to 1e-12 of its log-width after 60.
SEARCH_STEPS = 60
ECE_BINS = 15
_EPSILON = 1e-9

Decision = Literal["accept", "reject", "undecided"]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise probabilities of `logits / temperature`, in float64."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    exp = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean NLL of `labels` under `softmax(logits / temperature)`."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    top = scaled.max(axis=-1)
    log_partition = top + np.log(np.exp(scaled - top[:, None]).sum(axis=-1))
    return float(np.mean(log_partition - scaled[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: list[int] | np.ndarray) -> float:
    """The temperature in TEMPERATURE_RANGE that minimises the NLL of `labels` (Guo et al. 2017).

    The NLL is convex in 1/T, so it has a single minimum over log T, which a golden-section search finds."""
    labels = np.asarray(labels)
    low, high = np.log(TEMPERATURE_RANGE)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0

    def loss(log_t: float) -> float:
        return negative_log_likelihood(logits, labels, math.exp(log_t))

    left, right = high - ratio * (high - low), low + ratio * (high - low)
    at_left, at_right = loss(left), loss(right)
    for _ in range(SEARCH_STEPS):
        if at_left <= at_right:
            high, right, at_right = right, left, at_left
            left = high - ratio * (high - low)
            at_left = loss(left)
        else:
            low, left, at_left = left, right, at_right
            right = low + ratio * (high - low)
            at_right = loss(right)
    return math.exp((low + high) / 2.0)


def expected_calibration_error(probabilities: np.ndarray, labels: list[int] | np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """|accuracy - confidence| over equal-width confidence bins, weighted by their share of rows."""
    confidence = probabilities.max(axis=-1)
    correct = probabilities.argmax(axis=-1) == np.asarray(labels)
    bin_of = np.minimum((confidence * bins).astype(int), bins - 1)
    gaps = [abs(correct[bin_of == b].mean() - confidence[bin_of == b].mean()) * np.mean(bin_of == b)
            for b in range(bins) if np.any(bin_of == b)]
    return float(sum(gaps))


def expected_costs(reference_logits: np.ndarray, candidate_logits: np.ndarray, temperature: float) -> np.ndarray:
    """Each text's expected accuracy cost of the candidate's answer, in [0, 1]: p(fp32 class) - p(candidate's class)
    under the fp32 student's probabilities at `temperature`; 0 where the argmaxes agree."""
    probabilities = softmax(reference_logits, temperature)
    rows = np.arange(len(probabilities))
    return (probabilities[rows, probabilities.argmax(axis=-1)]
            - probabilities[rows, np.asarray(candidate_logits).argmax(axis=-1)])


@dataclass(frozen=True)
class DropEstimate:
    """A candidate's expected accuracy drop below the fp32 student, in points, and what it rests on."""

    labelled_texts: int
    unlabelled_texts: int
    disagreements: int  # texts where the candidate's argmax differs from the fp32 student's
    temperature: float
    ece_before: float  # the fp32 student's expected calibration error on validation, before and after scaling
    ece_after: float
    expected_drop_points: float
    per_text_sd_points: float
    # The labelled rule's own figures on the validation split: the drop and its paired-bootstrap 95% interval.
    labelled_drop_points: float
    labelled_ci95_points: tuple[float, float]

    @property
    def texts(self) -> int:
        return self.labelled_texts + self.unlabelled_texts

    @property
    def half_width_points(self) -> float:
        """The normal approximation's 95% half-width: the per-text spread over the square root of the texts."""
        return Z95 * self.per_text_sd_points / math.sqrt(self.texts)

    @property
    def ci95_points(self) -> tuple[float, float]:
        """The 95% interval of the expected drop; no text costs less than 0, so neither does its lower bound."""
        return (max(0.0, self.expected_drop_points - self.half_width_points),
                self.expected_drop_points + self.half_width_points)

    @property
    def labels_contradict(self) -> bool:
        """Whether the labelled drop's interval lies above the estimate. Only that side counts: the unlabelled texts
        lean towards the training data, where the student is surest and flips least, so an estimate that errs errs
        low; and a paired bootstrap over a few flipped texts puts its upper bound at 0 when one of them went the
        candidate's way, which says nothing against the estimate."""
        return self.labelled_ci95_points[0] > self.expected_drop_points + _EPSILON

    def summary(self) -> str:
        """The estimate in a phrase for the console."""
        low, high = self.ci95_points
        return (f"expected drop {self.expected_drop_points:.2f} [{low:.2f}, {high:.2f}] pt on {self.texts} texts "
                f"(T {self.temperature:.2f}, ECE {self.ece_before:.3f} -> {self.ece_after:.3f})")

    def texts_for(self, half_width_points: float) -> int:
        """How many texts of this per-text spread put the 95% half-width at `half_width_points`."""
        return math.ceil((Z95 * self.per_text_sd_points / half_width_points) ** 2)


def estimate_drop(reference_logits: np.ndarray, candidate_logits: np.ndarray,
                  labels: list[int] | np.ndarray) -> DropEstimate:
    """The expected drop over every row of the (texts, classes) logits: the first len(labels) rows are the labelled
    validation texts (which also fit the temperature), the rest unlabelled in-domain texts."""
    reference, candidate = np.asarray(reference_logits), np.asarray(candidate_logits)
    labels = np.asarray(labels)
    labelled = len(labels)
    temperature = fit_temperature(reference[:labelled], labels)
    costs = expected_costs(reference, candidate, temperature) * 100.0
    return DropEstimate(
        labelled_texts=labelled, unlabelled_texts=len(costs) - labelled,
        disagreements=int(np.sum(reference.argmax(-1) != candidate.argmax(-1))), temperature=temperature,
        ece_before=expected_calibration_error(softmax(reference[:labelled]), labels),
        ece_after=expected_calibration_error(softmax(reference[:labelled], temperature), labels),
        expected_drop_points=float(costs.mean()),
        per_text_sd_points=float(costs.std(ddof=1)) if len(costs) > 1 else 0.0,
        labelled_drop_points=drop_points(accuracy(candidate[:labelled], labels), accuracy(reference[:labelled], labels)),
        labelled_ci95_points=accuracy_drop_interval(candidate[:labelled], reference[:labelled], labels))


@dataclass(frozen=True)
class GateDecision:
    """The accuracy gate's answer for one candidate, and the figures behind it."""

    decision: Decision
    # "expected-drop": the estimate's interval decided; "labelled": the validation drop did (no estimate for this
    # task, or the labels contradict it).
    rule: Literal["expected-drop", "labelled"]
    reason: str | None  # why the candidate is out; None when accepted
    estimate: DropEstimate | None = None
    texts_needed: int | None = None  # for an undecided one: texts that would make the interval clear the budget

    def record(self) -> dict[str, Any]:
        """The figures export_report.json lists per candidate."""
        estimate = self.estimate
        figures = ({**asdict(estimate), "ci95_points": estimate.ci95_points,
                    "labels_contradict": estimate.labels_contradict} if estimate else {})
        return {"decision": self.decision, "rule": self.rule, "texts_needed": self.texts_needed, **figures}


def decide(estimate: DropEstimate | None, labelled_points: float, budgets: Budgets, prior_points: float = 0.0,
           metric: str = "accuracy") -> GateDecision:
    """Accept when the estimate's 95% upper bound is within budget, reject when its lower bound is over it, and
    otherwise call it undecided, which rejects (the safer recipe stays) and says how many texts would settle it.

    `labelled_points` is the validation drop the labelled rule reads, `prior_points` what vocabulary pruning cost
    before any recipe ran (in both figures' budget). Without an estimate, or where the labels contradict it, the
    labelled rule decides."""
    if estimate is None or estimate.labels_contradict:
        return _labelled_decision(estimate, labelled_points, budgets, prior_points, metric)
    budget = budgets.max_accuracy_drop
    expected = estimate.expected_drop_points + prior_points
    low, high = (bound + prior_points for bound in estimate.ci95_points)
    texts = f"{estimate.labelled_texts} labelled + {estimate.unlabelled_texts} unlabelled texts"
    pruned = f", {prior_points:.2f} of them from vocabulary pruning" if prior_points > 0 else ""
    figures = f"expected drop {expected:.2f} ± {estimate.half_width_points:.2f} points{pruned}"
    if not exceeds_drop_budget(high, budgets):
        return GateDecision("accept", "expected-drop", None, estimate)
    if exceeds_drop_budget(low, budgets):
        return GateDecision("reject", "expected-drop",
                            f"expected {METRIC_NAMES[metric]} drop {expected:.2f} points (95% CI [{low:.2f}, "
                            f"{high:.2f}]{pruned}) on {texts} exceeds the budget of {budget:g}", estimate)
    gap = abs(budget - expected)
    if gap < _EPSILON:
        return GateDecision("undecided", "expected-drop",
                            f"undecided on {texts} ({figures}): the expected drop sits on the budget of {budget:g}, "
                            f"so more texts would not settle it", estimate)
    needed = estimate.texts_for(gap)
    most = estimate.labelled_texts + UNLABELLED_LIMIT
    advice = (f"give --calibration with >= {needed:,} in-domain texts" if needed <= most else
              f"settling it takes >= {needed:,} texts, more than the {most:,} the gate reads")
    return GateDecision("undecided", "expected-drop",
                        f"undecided on {texts} ({figures}, budget {budget:g}): {advice}", estimate, needed)


def _labelled_decision(estimate: DropEstimate | None, points: float, budgets: Budgets, prior_points: float,
                       metric: str) -> GateDecision:
    """The validation drop against the budget, saying why the estimate did not decide when there was one."""
    if not exceeds_drop_budget(points, budgets):
        return GateDecision("accept", "labelled", None, estimate)
    pruned = f" ({prior_points:.2f} of them from vocabulary pruning)" if prior_points > 0 else ""
    why = ""
    if estimate is not None:
        low, high = estimate.labelled_ci95_points
        why = (f"the labels contradict the expected drop of {estimate.expected_drop_points:.2f} points on "
               f"{estimate.texts} texts (their 95% interval is [{low:.2f}, {high:.2f}]), so they decide: ")
    return GateDecision("reject", "labelled",
                        f"{why}validation {METRIC_NAMES[metric]} drop {points:.2f} points{pruned} exceeds the budget "
                        f"of {budgets.max_accuracy_drop:g}", estimate)
