import time

import pytest

from edgedistill.check.latency import LatencyDistribution, summarize, time_steady_state


def test_percentiles_of_known_samples():
    summary = summarize([float(v) for v in range(1, 101)])
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p90"] == pytest.approx(90.1)
    assert summary["p99"] == pytest.approx(99.01)
    assert (summary["min"], summary["max"], summary["runs"]) == (1.0, 100.0, 100)


def test_summarize_rejects_no_samples():
    with pytest.raises(ValueError):
        summarize([])


def test_distribution_keeps_every_fifth_percentile():
    distribution = LatencyDistribution.of([float(v) for v in range(1, 101)])
    assert distribution.percentiles[:3] == [0, 5, 10] and len(distribution.ms) == 21
    assert distribution.at(0) == 1.0 and distribution.at(100) == 100.0
    assert distribution.at(50) == pytest.approx(summarize([float(v) for v in range(1, 101)])["p50"])
    assert distribution.ms == sorted(distribution.ms)


def test_steady_state_meets_both_minimums():
    assert len(time_steady_state(lambda: None, min_runs=25, min_seconds=0.0)) == 25
    started = time.perf_counter()
    samples = time_steady_state(lambda: time.sleep(0.001), min_runs=1, min_seconds=0.05)
    assert time.perf_counter() - started >= 0.05 and len(samples) > 1
    assert all(ms >= 1.0 for ms in samples)
