from edgedistill.report.pareto import pareto_front


def test_the_front_keeps_what_nothing_beats_on_both_latency_and_accuracy():
    points = [(10.0, 0.80), (5.0, 0.79), (12.0, 0.78), (5.0, 0.70), (20.0, 0.81), (7.0, 0.79)]
    assert pareto_front(points) == [1, 0, 4]  # fastest first; (7, .79) loses to (5, .79), (12, .78) to (10, .80)


def test_ties_stay_on_the_front_and_one_point_is_its_own_front():
    assert pareto_front([(3.0, 0.9), (3.0, 0.9)]) == [0, 1]
    assert pareto_front([(1.0, 0.5)]) == [0]
    assert pareto_front([]) == []
