import pytest

from edgedistill.export.selection import Candidate, NoRecipePassed, rejection_reason, select_recipe
from edgedistill.targets.base import Recipe
from edgedistill.profiles import Budgets


def candidate(name, accuracy, p50, p90=None, reference=0.90, error=None, test_accuracy=None, agreement=None):
    """Validation `accuracy` (which decides, with the unlabelled `agreement`); the test accuracy is only reported."""
    unlabelled = None if agreement is None else {"agreement": agreement, "examples": 200}
    metrics = {} if error else {"accuracy": accuracy if test_accuracy is None else test_accuracy, "reference_accuracy": reference,
                                "validation": {"accuracy": accuracy, "reference_accuracy": reference},
                                "unlabelled": unlabelled,
                                "latency_ms": {"p50": p50, "p90": p90 if p90 is not None else p50 * 1.2}}
    return Candidate(Recipe(name, "int8" if "int8" in name else "fp32", name), metrics, error)


def test_fastest_accepted_wins_over_faster_rejected():
    candidates = [candidate("fp32", 0.90, 3.0), candidate("int8-dynamic", 0.895, 2.0), candidate("int8-naive", 0.60, 1.0)]
    assert select_recipe(candidates, Budgets(max_accuracy_drop=1.0)).recipe.name == "int8-dynamic"


def test_latency_budget_rejects_slow_candidates():
    candidates = [candidate("fp32", 0.90, 3.0, p90=4.0), candidate("int8", 0.85, 1.0, p90=1.5)]
    budgets = Budgets(max_accuracy_drop=1.0, p90_latency_ms=5.0)
    assert select_recipe(candidates, budgets).recipe.name == "fp32"
    assert "p90" in rejection_reason(candidates[0], Budgets(max_accuracy_drop=1.0, p90_latency_ms=3.5))


def test_drop_exactly_at_budget_is_accepted_despite_float_error():
    # 0.91 - 0.90 is 1.0000000000000009 points in binary floating point.
    assert rejection_reason(candidate("int8", 0.90, 1.0, reference=0.91), Budgets(max_accuracy_drop=1.0)) is None
    assert rejection_reason(candidate("int8", 0.8999, 1.0, reference=0.91), Budgets(max_accuracy_drop=1.0)) is not None


def test_tie_on_p50_keeps_the_earlier_recipe():
    candidates = [candidate("a", 0.90, 2.0), candidate("b", 0.90, 2.0)]
    assert select_recipe(candidates, Budgets()).recipe.name == "a"


def test_all_rejected_names_the_best_candidates_figures():
    candidates = [candidate("int8-naive", 0.55, 1.0), candidate("int8-qdq", 0.85, 2.0), candidate("broken", 0, 0, error="boom")]
    with pytest.raises(NoRecipePassed) as excinfo:
        select_recipe(candidates, Budgets(max_accuracy_drop=1.0))
    message = str(excinfo.value)
    assert "int8-qdq" in message and "85.00%" in message and "5.00 points" in message
    assert "\n" not in message


def test_all_failed_lists_every_error():
    with pytest.raises(NoRecipePassed, match="every recipe failed.*a: boom; b: bang"):
        select_recipe([candidate("a", 0, 0, error="boom"), candidate("b", 0, 0, error="bang")], Budgets())


def test_the_validation_split_decides_and_the_test_split_does_not():
    within_on_validation = candidate("int8", 0.895, 1.0, test_accuracy=0.70)
    assert rejection_reason(within_on_validation, Budgets(max_accuracy_drop=1.0)) is None
    beyond_on_validation = candidate("int8", 0.85, 1.0, test_accuracy=0.90)
    assert rejection_reason(beyond_on_validation, Budgets(max_accuracy_drop=1.0)).startswith("validation accuracy drop 5.00")


def test_agreement_on_unlabelled_texts_gates_where_it_was_measured():
    budgets = Budgets(max_accuracy_drop=1.0, min_agreement=0.9)
    collapsed_but_lucky = candidate("int8-qdq", 0.90, 1.0, agreement=0.53)
    assert rejection_reason(collapsed_but_lucky, budgets) == (
        "agrees with the fp32 student on 53.0% of 200 unlabelled texts, under the budget of 90%")
    faithful = candidate("int8-dynamic", 0.895, 2.0, agreement=0.945)
    assert select_recipe([collapsed_but_lucky, faithful], budgets).recipe.name == "int8-dynamic"
    assert rejection_reason(candidate("int8", 0.90, 1.0, agreement=0.9), budgets) is None  # at the budget
    assert rejection_reason(candidate("int8", 0.90, 1.0), budgets) is None  # nothing unlabelled to measure on
    assert rejection_reason(collapsed_but_lucky, Budgets(max_accuracy_drop=1.0)) is None  # no agreement budget


@pytest.mark.parametrize("value", [-0.1, 1.5, True, "high"])
def test_agreement_budget_is_a_share(value):
    from edgedistill.errors import UserError

    with pytest.raises(UserError, match="min_agreement must be a share between 0 and 1"):
        Budgets(min_agreement=value).validate("p.toml")
