import dataclasses

import pytest

from edgedistill.check.drop_estimate import DropEstimate
from edgedistill.errors import UserError
from edgedistill.export.selection import (
    Candidate,
    NoRecipePassed,
    near_fastest,
    ranked_below_reason,
    ranking_for,
    judge,
    select_recipe,
)
from edgedistill.profiles import Budgets, read_profile
from edgedistill.targets.base import Recipe


def candidate(name, accuracy, p50, p90=None, reference=0.90, error=None, test_accuracy=None, agreement=None):
    """Validation `accuracy` (which decides, with the unlabelled `agreement`); the test accuracy is only reported."""
    unlabelled = None if agreement is None else {"agreement": agreement, "examples": 200}
    metrics = {} if error else {"accuracy": accuracy if test_accuracy is None else test_accuracy, "reference_accuracy": reference,
                                "validation": {"accuracy": accuracy, "reference_accuracy": reference},
                                "unlabelled": unlabelled,
                                "latency_ms": {"p50": p50, "p90": p90 if p90 is not None else p50 * 1.2}}
    return Candidate(Recipe(name, "int8" if "int8" in name else "fp32", name), metrics, error)


def select(candidates, budgets, ranking=None):
    """Judge each candidate once, as export does, then select."""
    return select_recipe([judge(c, budgets) for c in candidates], ranking)


def test_fastest_accepted_wins_over_faster_rejected():
    candidates = [candidate("fp32", 0.90, 3.0), candidate("int8-dynamic", 0.895, 2.0), candidate("int8-naive", 0.60, 1.0)]
    assert select(candidates, Budgets(max_accuracy_drop=1.0)).recipe.name == "int8-dynamic"


def test_latency_budget_rejects_slow_candidates():
    candidates = [candidate("fp32", 0.90, 3.0, p90=4.0), candidate("int8", 0.85, 1.0, p90=1.5)]
    budgets = Budgets(max_accuracy_drop=1.0, p90_latency_ms=5.0)
    assert select(candidates, budgets).recipe.name == "fp32"
    assert "p90" in judge(candidates[0], Budgets(max_accuracy_drop=1.0, p90_latency_ms=3.5)).rejection


def test_drop_exactly_at_budget_is_accepted_despite_float_error():
    # 0.91 - 0.90 is 1.0000000000000009 points in binary floating point.
    assert judge(candidate("int8", 0.90, 1.0, reference=0.91), Budgets(max_accuracy_drop=1.0)).rejection is None
    assert judge(candidate("int8", 0.8999, 1.0, reference=0.91), Budgets(max_accuracy_drop=1.0)).rejection is not None


def test_tie_on_p50_keeps_the_earlier_recipe():
    candidates = [candidate("a", 0.90, 2.0), candidate("b", 0.90, 2.0)]
    assert select(candidates, Budgets()).recipe.name == "a"


def test_p50s_within_the_tie_band_go_to_the_smaller_validation_drop():
    budgets = Budgets(max_accuracy_drop=1.0)
    ptq, dynamic = candidate("int8-ptq", 0.8910, 9.86), candidate("int8-dynamic", 0.8995, 9.91)  # 0.5% slower
    assert select([ptq, dynamic], budgets).recipe.name == "int8-dynamic"
    outside = candidate("int8-dynamic", 0.8995, 9.86 * 1.031)  # just over 3% slower: speed decides again
    assert select([ptq, outside], budgets).recipe.name == "int8-ptq"
    assert [c.recipe.name for c in near_fastest([ptq, dynamic, outside])] == ["int8-ptq", "int8-dynamic"]


def test_device_p50s_within_the_tie_band_go_to_the_smaller_validation_drop():
    pi = read_profile("raspberry-pi-5")[0]
    qdq, dynamic = _sized(candidate("int8-qdq", 0.891, 1.0), 10), _sized(candidate("int8-dynamic", 0.8995, 1.0), 12)
    budgets = Budgets(max_accuracy_drop=1.0)
    tied = ranking_for(pi, host="x86-64", device_p50_ms={"int8-qdq": 9.0, "int8-dynamic": 9.2}, devices=("pi",))
    assert select([qdq, dynamic], budgets, tied).recipe.name == "int8-dynamic"
    apart = ranking_for(pi, host="x86-64", device_p50_ms={"int8-qdq": 9.0, "int8-dynamic": 9.3}, devices=("pi",))
    assert select([qdq, dynamic], budgets, apart).recipe.name == "int8-qdq"
    assert ranked_below_reason(dynamic, qdq, apart) == "slower on the device than int8-qdq (p50 on the device 9.30 against 9.00 ms)"


def test_each_losers_reason_names_the_rule_that_beat_it():
    host = ranking_for(read_profile("raspberry-pi-5")[0], host="arm64")
    kept = candidate("int8-dynamic", 0.8995, 9.91)
    faster_but_worse, slower = candidate("int8-ptq", 0.8910, 9.86), candidate("fp32", 0.90, 20.0)
    twin = candidate("int8-twin", 0.8995, 9.91)
    assert select([kept, faster_but_worse, slower, twin], Budgets(max_accuracy_drop=1.0), host) is kept
    assert ranked_below_reason(faster_but_worse, kept, host) == (
        "as fast as int8-dynamic within 3% (p50 9.86 against 9.91 ms), which drops less "
        "(0.90 validation points against 0.05)")
    assert ranked_below_reason(slower, kept, host) == "slower than int8-dynamic (p50 20.00 against 9.91 ms)"
    assert ranked_below_reason(twin, kept, host) == (
        "ties int8-dynamic on speed and drop (p50 9.91 against 9.91 ms; 0.05 validation points against 0.05), "
        "which is listed first")


def test_what_vocabulary_pruning_cost_first_counts_against_the_same_budget():
    budgets = Budgets(max_accuracy_drop=1.0)
    alone = candidate("int8-dynamic", 0.895, 1.0)  # 0.5 points below the pruned student
    assert judge(alone, budgets).rejection is None
    after_pruning = Candidate(alone.recipe, alone.metrics, prior_drop_points=0.75)
    assert after_pruning.drop_points == pytest.approx(1.25)
    assert judge(after_pruning, budgets).rejection == (
        "validation accuracy drop 1.25 points (0.75 of them from vocabulary pruning) exceeds the budget of 1")


def test_all_rejected_names_the_best_candidates_figures():
    candidates = [candidate("int8-naive", 0.55, 1.0), candidate("int8-qdq", 0.85, 2.0), candidate("broken", 0, 0, error="boom")]
    with pytest.raises(NoRecipePassed) as excinfo:
        select(candidates, Budgets(max_accuracy_drop=1.0))
    message = str(excinfo.value)
    assert "int8-qdq" in message and "85.00%" in message and "5.00 points" in message
    assert "\n" not in message


def test_all_failed_lists_every_error():
    with pytest.raises(NoRecipePassed, match="every recipe failed.*a: boom; b: bang"):
        select([candidate("a", 0, 0, error="boom"), candidate("b", 0, 0, error="bang")], Budgets())


def test_the_validation_split_decides_and_the_test_split_does_not():
    within_on_validation = candidate("int8", 0.895, 1.0, test_accuracy=0.70)
    assert judge(within_on_validation, Budgets(max_accuracy_drop=1.0)).rejection is None
    beyond_on_validation = candidate("int8", 0.85, 1.0, test_accuracy=0.90)
    assert judge(beyond_on_validation, Budgets(max_accuracy_drop=1.0)).rejection.startswith("validation accuracy drop 5.00")


def estimate(expected: float, per_text_sd: float, labelled: int = 60, unlabelled: int = 412) -> DropEstimate:
    """An expected drop over 60 labelled + 412 unlabelled texts whose 95% interval follows from its per-text spread."""
    return DropEstimate(labelled, unlabelled, disagreements=11, temperature=1.2, ece_before=0.06, ece_after=0.03,
                        expected_drop_points=expected, per_text_sd_points=per_text_sd, labelled_drop_points=3.33,
                        labelled_ci95_points=(0.0, 8.33))


def test_where_there_is_an_expected_drop_its_interval_decides_once():
    """Issue 22: two texts flipped against int8 on 60 (3.33 validation points), 0.25 expected points on 472 texts."""
    budgets = Budgets(max_accuracy_drop=1.0)
    flipped_two = candidate("int8-dynamic", 0.90 - 2 / 60, 1.0)
    assert judge(flipped_two, budgets).rejection.startswith("validation accuracy drop 3.33 points")
    verdict = judge(dataclasses.replace(flipped_two, drop_estimate=estimate(0.25, 1.6)), budgets)
    assert verdict.accepted and (verdict.gate.decision, verdict.gate.rule) == ("accept", "expected-drop")
    assert verdict.gate.record()["expected_drop_points"] == 0.25 and verdict.gate.record()["temperature"] == 1.2
    undecided = judge(dataclasses.replace(flipped_two, drop_estimate=estimate(0.8, 6.0)), budgets)
    assert not undecided.accepted and undecided.gate.decision == "undecided"
    assert undecided.rejection.startswith("undecided on 60 labelled + 412 unlabelled texts (expected drop 0.80 ± 0.54 "
                                          "points, budget 1): give --calibration with >= ")


def test_agreement_on_unlabelled_texts_gates_where_it_was_measured():
    budgets = Budgets(max_accuracy_drop=1.0, min_agreement=0.9)
    collapsed_but_lucky = candidate("int8-qdq", 0.90, 1.0, agreement=0.53)
    assert judge(collapsed_but_lucky, budgets).rejection == (
        "agrees with the fp32 student on 53.0% of 200 unlabelled texts, under the budget of 90%")
    faithful = candidate("int8-dynamic", 0.895, 2.0, agreement=0.945)
    assert select([collapsed_but_lucky, faithful], budgets).recipe.name == "int8-dynamic"
    assert judge(candidate("int8", 0.90, 1.0, agreement=0.9), budgets).rejection is None  # at the budget
    assert judge(candidate("int8", 0.90, 1.0), budgets).rejection is None  # nothing unlabelled to measure on
    assert judge(collapsed_but_lucky, Budgets(max_accuracy_drop=1.0)).rejection is None  # no agreement budget


@pytest.mark.parametrize("value", [-0.1, 1.5, True, "high"])
def test_agreement_budget_is_a_share(value):
    from edgedistill.errors import UserError

    with pytest.raises(UserError, match="min_agreement must be a share between 0 and 1"):
        Budgets(min_agreement=value).validate("p.toml")


def _sized(c, size_bytes):
    c.metrics["size_bytes"] = size_bytes
    return c


def test_arm64_profile_on_x86_host_keeps_int8_even_when_slower_on_the_host():
    # The case: S8S8 int8 is a slow path on x86 (12.8 ms) but the fast one on a Cortex-A76.
    candidates = [_sized(candidate("fp32", 0.90, 2.4), 69_600_000), _sized(candidate("int8-qdq", 0.895, 12.8), 18_000_000)]
    pi5 = read_profile("raspberry-pi-5")[0]
    ranking = ranking_for(pi5, host="x86-64")
    assert ranking.basis == "isa-preference" and "x86-64 host is not the profile's arm64 device" in ranking.note
    assert select(candidates, Budgets(max_accuracy_drop=1.0), ranking).recipe.name == "int8-qdq"
    # On an Arm host the same profile is timed on its own ISA, so the fastest wins.
    native = ranking_for(pi5, host="arm64")
    assert native.basis == "host-latency"
    assert select(candidates, Budgets(max_accuracy_drop=1.0), native).recipe.name == "fp32"


def test_isa_preference_still_respects_the_gate_and_prefers_the_smaller_int8():
    rejected_int8 = _sized(candidate("int8-dynamic", 0.80, 1.0), 10)
    small, large = _sized(candidate("int8-qdq", 0.90, 9.0), 20), _sized(candidate("int8-plain", 0.90, 1.0), 30)
    fp32 = _sized(candidate("fp32", 0.90, 0.5), 100)
    ranking = ranking_for(read_profile("raspberry-pi-5")[0], host="x86-64")
    assert select([fp32, rejected_int8, large, small], Budgets(max_accuracy_drop=1.0), ranking) is small
    assert select([fp32, rejected_int8], Budgets(max_accuracy_drop=1.0), ranking) is fp32


def _sized(c, size):
    c.metrics["size_bytes"] = size
    return c


def test_device_results_rank_what_they_measured_first_then_the_isa_preference():
    """A Pi profile exported on x86: the device's own p50 decides between the recipes benched there; a recipe
    never benched on it follows them, however fast it was on the host."""
    pi = read_profile("raspberry-pi-5")[0]
    candidates = [_sized(candidate("fp32", 0.90, 2.4), 40), _sized(candidate("int8-qdq", 0.90, 12.8), 10),
                  _sized(candidate("int8-dynamic", 0.90, 1.0), 12)]
    ranking = ranking_for(pi, host="x86-64", device_p50_ms={"fp32": 30.0, "int8-qdq": 9.0}, devices=("Raspberry Pi 5",))
    assert ranking.basis == "device-latency" and "Raspberry Pi 5" in ranking.note and "int8-qdq 9.00 ms" in ranking.note
    assert select(candidates, Budgets(max_accuracy_drop=1.0), ranking).recipe.name == "int8-qdq"
    assert ranking.latency(candidates[2]) is None  # int8-dynamic was not benched on the device
    assert ranked_below_reason(candidates[2], candidates[1], ranking).startswith("ranked below int8-qdq")
    same_isa = ranking_for(pi, host="arm64", device_p50_ms={"fp32": 30.0})
    assert same_isa.basis == "host-latency"  # on the device itself, its own timing of every candidate decides


def test_size_budget_keeps_the_fastest_artifact_that_fits():
    int8 = _sized(candidate("int8-dynamic", 0.90, 1.0), 11_700_000)
    int4 = _sized(Candidate(Recipe("int4-weights", "int4", "4-bit"), dict(candidate("x", 0.895, 1.4).metrics)), 7_100_000)
    budgets = Budgets(max_accuracy_drop=1.0, max_size_mb=8.0)
    assert select([int8, int4], budgets).recipe.name == "int4-weights"
    assert judge(int8, budgets).rejection == "11.70 MB exceeds the size budget of 8 MB"
    assert select([int8, int4], Budgets(max_accuracy_drop=1.0)).recipe.name == "int8-dynamic"


@pytest.mark.parametrize("size", [-1, float("inf"), "big"])
def test_size_budget_must_be_a_finite_number(size):
    with pytest.raises(UserError, match="budgets.max_size_mb"):
        Budgets(max_size_mb=size).validate("profile")
