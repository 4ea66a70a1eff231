import numpy as np

from edgedistill.check.memory import PeakMemory


def test_peak_memory_sees_an_allocation_made_inside_the_block():
    with PeakMemory() as memory:
        block = np.ones(64 * 1024 * 1024, dtype=np.uint8)  # 64 MB, touched
        del block
    figures = memory.as_dict()
    assert figures["peak_rss_mb"] >= figures["baseline_rss_mb"]
    if figures["peak_reset"]:
        assert figures["peak_rss_delta_mb"] >= 50
