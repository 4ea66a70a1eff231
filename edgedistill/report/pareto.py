"""The Pareto front of (latency, accuracy) points: those no other point beats on both (pure logic)."""

from __future__ import annotations


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points (latency, accuracy) that no other point dominates, fastest first.

    A point is dominated by another that is at least as fast and at least as accurate, and better in one.
    Exact duplicates do not dominate each other, so both stay on the front.
    """
    def dominated(i: int) -> bool:
        latency, accuracy = points[i]
        return any(other_latency <= latency and other_accuracy >= accuracy
                   and (other_latency < latency or other_accuracy > accuracy)
                   for other_latency, other_accuracy in points)

    return sorted((i for i in range(len(points)) if not dominated(i)), key=lambda i: points[i])
