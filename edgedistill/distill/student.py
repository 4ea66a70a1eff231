"""Build a shallower student from a teacher classifier, DistilBERT style."""

from __future__ import annotations

import copy
import re

import torch
from torch import nn

from edgedistill.distill.layer_map import check_layer_map
from edgedistill.errors import UserError

INIT_CHOICES = ("teacher", "random")
# Where each supported family keeps its encoder layers, relative to `model.base_model`.
LAYER_LISTS = {
    "encoder.layer": "BERT, RoBERTa, XLM-R, ELECTRA, MiniLM and other BERT-style encoders",
    "transformer.layer": "DistilBERT",
}


def build_student(teacher, layer_map: list[int], init: str = "teacher", seed: int = 0):
    """A new model of the teacher's class with `len(layer_map)` layers.

    `init="teacher"` copies the embeddings, teacher layer `layer_map[i]` into student layer i, and
    everything after the encoder (pooler, classifier head) exactly. `init="random"` gives a freshly
    initialised model of the same shape, seeded, for ablations. Labels and all other settings stay.
    """
    if init not in INIT_CHOICES:
        raise UserError(f"unknown student init {init!r}: choose from {', '.join(INIT_CHOICES)}")
    layers_name = encoder_layers_name(teacher)
    check_layer_map(teacher.config.num_hidden_layers, layer_map)
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(layer_map)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        student = type(teacher)(config)
    student.to(dtype=teacher.dtype, device=teacher.device)
    if init == "teacher":
        student.load_state_dict(_mapped_teacher_state(teacher, student, layers_name, layer_map))
    return student


def encoder_layers_name(model) -> str:
    """The state-dict prefix of the encoder's layer list, e.g. "bert.encoder.layer"."""
    for relative in LAYER_LISTS:
        try:
            layers = model.base_model.get_submodule(relative)
        except AttributeError:
            continue
        if isinstance(layers, nn.ModuleList):
            return next(name for name, module in model.named_modules() if module is layers)
    supported = "; ".join(LAYER_LISTS.values())
    raise UserError(f"cannot shrink a {type(model).__name__}: supported teachers are {supported}")


def _mapped_teacher_state(teacher, student, layers_name: str, layer_map: list[int]) -> dict[str, torch.Tensor]:
    """The student's state dict filled from the teacher: layer i from teacher layer layer_map[i]."""
    teacher_state = teacher.state_dict()
    layer_key = re.compile(rf"^{re.escape(layers_name)}\.(\d+)\.(.+)$")
    state = {}
    for key in student.state_dict():
        match = layer_key.match(key)
        source = f"{layers_name}.{layer_map[int(match[1])]}.{match[2]}" if match else key
        state[key] = teacher_state[source]
    return state


def count_parameters(model) -> tuple[int, int]:
    """(total, non-embedding) parameter counts; non-embedding leaves out every nn.Embedding table."""
    total = sum(parameter.numel() for parameter in model.parameters())
    tables = {id(module.weight): module.weight.numel() for module in model.modules() if isinstance(module, nn.Embedding)}
    return total, total - sum(tables.values())


def describe_layer_map(layer_map: list[int], source: str = "teacher") -> str:
    """E.g. "student layer 0 <- teacher layer 0, 1 <- 2, 2 <- 4"."""
    rest = [f"{index} <- {source_index}" for index, source_index in enumerate(layer_map) if index > 0]
    return ", ".join([f"student layer 0 <- {source} layer {layer_map[0]}", *rest])
