"""Which teacher layer each student layer copies and imitates (torch-free)."""

from __future__ import annotations

from edgedistill.errors import UserError


def uniform_layer_map(teacher_layers: int, student_layers: int) -> list[int]:
    """Evenly spaced teacher layers starting at 0, DistilBERT style: 6 -> 3 gives [0, 2, 4]."""
    _check_layer_count(teacher_layers, student_layers)
    return [index * teacher_layers // student_layers for index in range(student_layers)]


def top_aligned_layer_map(teacher_layers: int, student_layers: int) -> list[int]:
    """Evenly spaced teacher layers ending at the last, for imitation: 12 -> 3 gives [3, 7, 11]."""
    _check_layer_count(teacher_layers, student_layers)
    return [(index + 1) * teacher_layers // student_layers - 1 for index in range(student_layers)]


def resolve_layer_map(teacher_layers: int, layers: int | None, layer_map: list[int] | None) -> list[int]:
    """The map to use: an explicit map wins, else `layers` evenly spaced (default half the teacher's, at least 1).

    Giving both is allowed only when they agree, so a conflicting `layers` is never silently dropped.
    """
    if layer_map is not None:
        check_layer_map(teacher_layers, layer_map)
        if layers is not None and layers != len(layer_map):
            raise UserError(
                f"layers={layers} disagrees with the layer map {list(layer_map)} ({len(layer_map)} layers): give only one of them"
            )
        return list(layer_map)
    if layers is None:
        layers = max(1, teacher_layers // 2)
    return uniform_layer_map(teacher_layers, layers)


def check_layer_map(teacher_layers: int, layer_map: list[int]) -> None:
    """Raise UserError unless `layer_map` is a non-empty, strictly increasing list of valid teacher layers."""
    valid = f"the teacher has {teacher_layers} layers (0..{teacher_layers - 1})"
    if len(layer_map) == 0:
        raise UserError(f"the layer map is empty: list at least one teacher layer; {valid}")
    for index in layer_map:
        if isinstance(index, bool) or not isinstance(index, int):
            raise UserError(f"layer map entry {index!r} is not an integer: {valid}")
        if not 0 <= index < teacher_layers:
            raise UserError(f"layer map index {index} is out of range: {valid}")
    if len(set(layer_map)) != len(layer_map):
        raise UserError(f"layer map {list(layer_map)} repeats a teacher layer: list each teacher layer at most once")
    if any(later <= earlier for earlier, later in zip(layer_map, layer_map[1:])):
        raise UserError(f"layer map {list(layer_map)} is not strictly increasing: list teacher layers in order, e.g. [0, 2, 4]")


def _check_layer_count(teacher_layers: int, student_layers: int) -> None:
    if not 1 <= student_layers <= teacher_layers:
        raise UserError(
            f"the student must have between 1 and {teacher_layers} layers (the teacher has {teacher_layers}); got {student_layers}"
        )
