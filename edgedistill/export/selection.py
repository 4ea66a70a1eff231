"""Which recipe to keep among those within the profile's budgets (pure logic).

The accuracy budget is judged by check/drop_estimate.py on the validation split and unlabelled in-domain texts, the
agreement budget on the unlabelled texts; the test split is only reported. Among accepted candidates the ranking
depends on where they were timed: on a host of the profile's own ISA, the fastest by p50 wins; on a host of another
ISA the host's latency says nothing about the device (ORT's S8S8 is a slow path on x86 and the fast one on Arm
dot-product cores), so a per-ISA precision preference decides instead (ISA_PRECISION_PREFERENCE).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edgedistill.check.drop_estimate import DropEstimate, GateDecision, decide
from edgedistill.errors import UserError
from edgedistill.metrics import drop_points
from edgedistill.profiles import Budgets, DeviceProfile, exceeds_drop_budget, host_isa
from edgedistill.targets.base import Recipe
from edgedistill.tasks.kinds import METRIC_NAMES

_EPSILON = 1e-9
# Ranked by latency (the host's, or the device's from `bench --out`), accepted recipes whose p50 is within this
# fraction of the fastest's are a tie, and the tie goes to the smaller validation drop: 3% of speed is not worth a
# point of the task metric, and is inside one machine's run-to-run noise. (On CoNLL the ExecuTorch int8-ptq recipe
# was 0.5% faster than int8-dynamic and 0.9 entity-F1 points worse on validation.)
LATENCY_TIE_FRACTION = 0.03


class NoRecipePassed(UserError):
    """Every candidate failed or broke a budget; the message names the best one's figures."""


@dataclass
class Candidate:
    """One recipe's outcome: its measured metrics, or the error that stopped it."""

    recipe: Recipe
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # Validation points the student lost before any recipe ran (vocabulary pruning), against the same budget.
    prior_drop_points: float = 0.0
    # The expected accuracy drop on labelled and unlabelled texts; None where the task metric is not accuracy.
    drop_estimate: DropEstimate | None = None

    @property
    def metric(self) -> str:
        """The task metric the budget is about: accuracy, or entity F1 for a token classifier."""
        return self.metrics.get("metric", "accuracy")

    @property
    def drop_points(self) -> float:
        """The drop of the task metric on the validation split below the fp32 student as the user gave it: the
        recipe's own drop, plus what pruning its vocabulary cost first. It breaks latency ties, and it decides the
        accuracy budget where the gate has no expected drop or the labels contradict it (check/drop_estimate.py)."""
        on_validation = self.metrics["validation"]
        return self.prior_drop_points + drop_points(on_validation[self.metric], on_validation[f"reference_{self.metric}"])

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


@dataclass(frozen=True)
class Verdict:
    """A candidate judged against the budgets, once: selection ranks the accepted ones, the report gives the reasons."""

    candidate: Candidate
    # Why the candidate is out; None when it is within budget.
    rejection: str | None
    # The accuracy gate's decision and figures; None for a candidate that failed before it was measured.
    gate: GateDecision | None = None

    @property
    def accepted(self) -> bool:
        return self.rejection is None


def judge(candidate: Candidate, budgets: Budgets) -> Verdict:
    """`candidate`'s verdict under `budgets`: the accuracy gate first, then agreement, latency and size."""
    if candidate.error is not None:
        return Verdict(candidate, f"failed: {candidate.error}")
    gate = decide(candidate.drop_estimate, candidate.drop_points, budgets, candidate.prior_drop_points,
                  candidate.metric)
    return Verdict(candidate, gate.reason or _other_budgets_reason(candidate, budgets), gate)


def _other_budgets_reason(candidate: Candidate, budgets: Budgets) -> str | None:
    """Why a measured candidate within the accuracy budget is out on agreement, latency or size, or None."""
    agreed = candidate.unlabelled_agreement
    if budgets.min_agreement is not None and agreed is not None and agreed < budgets.min_agreement - _EPSILON:
        return (f"agrees with the fp32 student on {agreed:.1%} of {candidate.metrics['unlabelled']['examples']} "
                f"unlabelled texts, under the budget of {budgets.min_agreement:.0%}")
    if budgets.p90_latency_ms is not None and candidate.p90_ms > budgets.p90_latency_ms:
        return f"p90 {candidate.p90_ms:.2f} ms exceeds the budget of {budgets.p90_latency_ms:g} ms"
    if budgets.max_size_mb is not None and candidate.metrics["size_bytes"] / 1e6 > budgets.max_size_mb:
        return f"{candidate.metrics['size_bytes'] / 1e6:.2f} MB exceeds the size budget of {budgets.max_size_mb:g} MB"
    return None


# Precisions in the order a device of each ISA runs them best, used when the host cannot time that device.
# arm64: int8 first. Armv8.2+ cores (Cortex-A76 in a Raspberry Pi 5, phone big cores, Neoverse) run int8 GEMMs
# on dot-product instructions, four int8 MACs per 32-bit lane; Armv8.0 cores (Cortex-A72 in a Pi 4) still
# widen int8 in NEON at twice fp32's lanes; and int8 moves a quarter of fp32's weight bytes on boards whose
# memory bandwidth bounds these models. fp16 weights halve the bytes but compute in fp32 on CPUs.
# x86-64: int8 first too (VNNI/AVX2 int8 GEMMs); an x86 profile exported on an Arm host lands here.
# int4 weights follow int8: they halve the bytes again, but compute no faster than int8 does.
ISA_PRECISION_PREFERENCE = {"arm64": ("int8", "int4", "fp16", "fp32"), "x86-64": ("int8", "int4", "fp16", "fp32")}


@dataclass(frozen=True)
class Ranking:
    """How accepted candidates are ordered: `host-latency` (lowest p50 here), `device-latency` (lowest p50 that
    `bench --out` measured on the profile's device; recipes it did not measure follow, by `isa-preference`), or
    `isa-preference` (precision order, then the smaller artifact, then the backend's recipe order)."""

    basis: str
    note: str
    precision_order: tuple[str, ...] = ()
    device_p50_ms: dict[str, float] = field(default_factory=dict)  # recipe name -> p50 on the device

    def latency(self, candidate: Candidate) -> float | None:
        """The p50 that ranks `candidate`: the host's, or the device's where bench measured it there; else None."""
        if self.basis == "host-latency":
            return candidate.p50_ms
        return self.device_p50_ms.get(candidate.recipe.name)

    def preference_key(self, candidate: Candidate) -> tuple[int, int]:
        """Precision order, then the smaller artifact: for candidates no latency ranks."""
        order = self.precision_order
        precision = candidate.recipe.precision
        return (order.index(precision) if precision in order else len(order), candidate.metrics["size_bytes"])

    @property
    def where(self) -> str:
        return "" if self.basis == "host-latency" else " on the device"


def ranking_for(profile: DeviceProfile, host: str | None = None, device_p50_ms: dict[str, float] | None = None,
                devices: tuple[str, ...] = ()) -> Ranking:
    """Rank by host latency when the host has the profile's ISA; else by the device's own p50 where `bench --out`
    measured these recipes on it (`devices` names where), else by that ISA's precision preference."""
    host = host or host_isa()
    if profile.isa == host:
        return Ranking("host-latency", f"p50 measured on this {host} host, the profile's own ISA")
    order = ISA_PRECISION_PREFERENCE[profile.isa]
    preference = f"{profile.isa} preference {' > '.join(order)}, then the smaller artifact"
    if device_p50_ms:
        measured = ", ".join(f"{name} {p50:.2f} ms" for name, p50 in sorted(device_p50_ms.items()))
        return Ranking("device-latency",
                       f"p50 measured on the {profile.name} device ({', '.join(devices)}) by bench --out: {measured}; "
                       f"recipes not measured there follow, by {preference}", order, dict(device_p50_ms))
    return Ranking("isa-preference",
                   f"this {host} host is not the profile's {profile.isa} device, so host latency does not rank candidates; "
                   f"{preference}", order)


def select_recipe(verdicts: list[Verdict], ranking: Ranking | None = None) -> Candidate:
    """The first accepted candidate by `ranking` (default: host p50). Candidates with a latency come first; among
    them p50s within LATENCY_TIE_FRACTION of the fastest tie and the smaller validation drop wins, then the faster,
    then the earlier. Without any latency, the ranking's precision preference decides. NoRecipePassed when none
    is accepted."""
    ranking = ranking or Ranking("host-latency", "p50 on this host")
    accepted = [verdict.candidate for verdict in verdicts if verdict.accepted]
    timed = [c for c in accepted if ranking.latency(c) is not None]
    if timed:
        return min(near_fastest(timed, ranking.latency), key=lambda c: (c.drop_points, ranking.latency(c)))
    if accepted:
        return min(accepted, key=ranking.preference_key)
    measured = [verdict for verdict in verdicts if verdict.candidate.error is None]
    if not measured:
        failures = "; ".join(f"{v.candidate.recipe.name}: {v.candidate.error}" for v in verdicts) or "no recipes to try"
        raise NoRecipePassed(f"every recipe failed ({failures})")
    best = min(measured, key=lambda v: (v.candidate.drop_points, v.candidate.p50_ms))
    raise NoRecipePassed(f"no recipe met the budgets; the best, {describe(best.candidate)}, was rejected: "
                         f"{best.rejection}")


def near_fastest(candidates: list[Candidate], latency: Callable[[Candidate], float] = lambda c: c.p50_ms) -> list[Candidate]:
    """Those whose `latency` is within LATENCY_TIE_FRACTION of the fastest's: a tie on latency."""
    fastest = min(latency(c) for c in candidates)
    return [c for c in candidates if latency(c) <= fastest * (1 + LATENCY_TIE_FRACTION) + _EPSILON]


def ranked_below_reason(candidate: Candidate, kept: Candidate, ranking: Ranking) -> str:
    """Why an accepted `candidate` lost to `kept`, by the rule that decided (see select_recipe)."""
    mine, theirs = ranking.latency(candidate), ranking.latency(kept)
    if mine is None or theirs is None:
        return (f"ranked below {kept.recipe.name} by the {ranking.basis} ({kept.recipe.precision}, smaller or "
                f"listed first)")
    figures = f"p50{ranking.where} {mine:.2f} against {theirs:.2f} ms"
    if mine > theirs:
        return f"slower{ranking.where} than {kept.recipe.name} ({figures})"
    drops = f"{candidate.drop_points:.2f} validation points against {kept.drop_points:.2f}"
    if candidate.drop_points > kept.drop_points:
        return (f"as fast{ranking.where} as {kept.recipe.name} within {LATENCY_TIE_FRACTION:.0%} ({figures}), "
                f"which drops less ({drops})")
    return f"ties {kept.recipe.name} on speed and drop ({figures}; {drops}), which is listed first"


def describe(candidate: Candidate) -> str:
    """The candidate's headline figures in one phrase."""
    m = candidate.metrics
    on_validation = m["validation"]
    metric = candidate.metric
    return (f"{candidate.recipe.name} (validation {METRIC_NAMES[metric]} {on_validation[metric]:.2%} vs fp32 "
            f"{on_validation[f'reference_{metric}']:.2%}, "
            f"p50 {candidate.p50_ms:.2f} ms, p90 {candidate.p90_ms:.2f} ms)")

