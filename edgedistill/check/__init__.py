"""Measuring artifacts in their real runtime: accuracy, parity, latency, memory (no torch)."""
