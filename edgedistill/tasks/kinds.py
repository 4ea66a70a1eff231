"""The tasks a model can do, and the metric each is judged by (torch-free: bundles carry these names)."""

from __future__ import annotations

SEQUENCE_TASK, TOKEN_TASK = "sequence-classification", "token-classification"
# The metric every gate, report and manifest of a task is about: the fp32 student's and the teacher's are
# recorded under `reference_<metric>` and `teacher_<metric>`.
TASK_METRICS = {SEQUENCE_TASK: "accuracy", TOKEN_TASK: "entity_f1"}
# Each metric in words, for messages and tables.
METRIC_NAMES = {"accuracy": "accuracy", "entity_f1": "entity F1"}
# How per-token outputs map back to words in a token-classification bundle (edgedistill.tasks.words).
WORD_ALIGNMENT = "first-subtoken"
