"""Layer maps and DistilBERT-style student initialisation on tiny config-built encoders."""

from __future__ import annotations

import pytest
import torch

from edgedistill.distill.layer_map import resolve_layer_map, uniform_layer_map
from edgedistill.distill.student import build_student, count_parameters, describe_layer_map, encoder_layers_name
from edgedistill.errors import UserError

LABELS = {0: "neg", 1: "neutral", 2: "pos"}


def tiny_bert(layers: int = 4):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40, hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, id2label=LABELS, label2id={name: i for i, name in LABELS.items()},
        initializer_range=0.2,
    )
    return BertForSequenceClassification(config).eval()


def layer_state(model, index: int) -> dict[str, torch.Tensor]:
    return model.base_model.get_submodule(encoder_layers_name(model).split(".", 1)[1])[index].state_dict()


def assert_same_state(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]):
    assert left.keys() == right.keys()
    for key in left:
        assert torch.equal(left[key], right[key]), key


@pytest.fixture(scope="module")
def teacher():
    return tiny_bert()


# --- layer maps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "teacher_layers, student_layers, expected",
    [(6, 3, [0, 2, 4]), (6, 2, [0, 3]), (12, 4, [0, 3, 6, 9]), (6, 6, [0, 1, 2, 3, 4, 5]), (6, 1, [0]), (6, 4, [0, 1, 3, 4])],
)
def test_uniform_layer_map(teacher_layers, student_layers, expected):
    assert uniform_layer_map(teacher_layers, student_layers) == expected


def test_resolve_prefers_the_explicit_map_and_defaults_to_half_the_teacher():
    assert resolve_layer_map(6, None, [1, 3, 5]) == [1, 3, 5]
    assert resolve_layer_map(6, 3, [1, 3, 5]) == [1, 3, 5]
    assert resolve_layer_map(6, 2, None) == [0, 3]
    assert resolve_layer_map(6, None, None) == [0, 2, 4]
    assert resolve_layer_map(1, None, None) == [0]


@pytest.mark.parametrize(
    "layers, layer_map, message",
    [
        (None, [], "empty"),
        (None, [0, 7], r"layer map index 7 is out of range: the teacher has 6 layers \(0\.\.5\)"),
        (None, [-1, 2], "index -1 is out of range"),
        (None, [0, 2, 2], "repeats"),
        (None, [3, 1], "not strictly increasing"),
        (None, [0, 1.5], "not an integer"),
        (2, [0, 2, 4], "disagrees"),
        (0, None, "between 1 and 6"),
        (7, None, "between 1 and 6"),
    ],
)
def test_resolve_layer_map_errors(layers, layer_map, message):
    with pytest.raises(UserError, match=message) as error:
        resolve_layer_map(6, layers, layer_map)
    assert "\n" not in str(error.value)


def test_describe_layer_map():
    assert describe_layer_map([0, 2, 4]) == "student layer 0 <- teacher layer 0, 1 <- 2, 2 <- 4"
    assert describe_layer_map([3]) == "student layer 0 <- teacher layer 3"


# --- student initialisation --------------------------------------------------------------------


def test_teacher_init_copies_mapped_layers_exactly(teacher):
    student = build_student(teacher, [1, 3])
    assert type(student) is type(teacher)
    assert student.config.num_hidden_layers == 2 and teacher.config.num_hidden_layers == 4
    for index, teacher_index in enumerate([1, 3]):
        assert_same_state(layer_state(student, index), layer_state(teacher, teacher_index))
    assert not torch.equal(layer_state(student, 0)["output.dense.weight"], layer_state(teacher, 0)["output.dense.weight"])


def test_teacher_init_copies_embeddings_pooler_and_classifier(teacher):
    student = build_student(teacher, [0, 2])
    for part in ("bert.embeddings", "bert.pooler", "classifier"):
        assert_same_state(student.get_submodule(part).state_dict(), teacher.get_submodule(part).state_dict())


def test_student_keeps_labels_and_leaves_teacher_untouched(teacher):
    before = {key: value.clone() for key, value in teacher.state_dict().items()}
    student = build_student(teacher, [0, 2])
    assert student.config.id2label == LABELS and student.config.label2id == {"neg": 0, "neutral": 1, "pos": 2}
    assert student.config is not teacher.config
    assert_same_state(teacher.state_dict(), before)


def test_identity_map_reproduces_the_teachers_logits(teacher):
    student = build_student(teacher, [0, 1, 2, 3]).eval()
    ids = torch.randint(5, 40, (2, 7))
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
    with torch.no_grad():
        assert torch.equal(student(input_ids=ids, attention_mask=mask).logits, teacher(input_ids=ids, attention_mask=mask).logits)


def test_random_init_is_seeded_and_differs_from_the_teacher(teacher):
    first = build_student(teacher, [0, 2], init="random", seed=3)
    again = build_student(teacher, [0, 2], init="random", seed=3)
    other = build_student(teacher, [0, 2], init="random", seed=4)
    assert_same_state(first.state_dict(), again.state_dict())
    weight = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(first.state_dict()[weight], other.state_dict()[weight])
    assert not torch.equal(first.state_dict()[weight], teacher.state_dict()[weight])
    assert not torch.equal(first.classifier.weight, teacher.classifier.weight)
    assert first.config.num_hidden_layers == 2 and first.config.id2label == LABELS


def test_random_init_does_not_disturb_the_global_rng(teacher):
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    build_student(teacher, [0, 2], init="random", seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_build_student_rejects_bad_maps_and_init(teacher):
    with pytest.raises(UserError, match="out of range"):
        build_student(teacher, [0, 4])
    with pytest.raises(UserError, match="teacher, random"):
        build_student(teacher, [0, 2], init="zeros")


@pytest.mark.parametrize("family", ["distilbert", "roberta", "electra"])
def test_other_bert_family_members(family):
    import transformers

    torch.manual_seed(0)
    if family == "distilbert":
        config = transformers.DistilBertConfig(vocab_size=40, dim=32, n_layers=4, n_heads=2, hidden_dim=64, id2label=LABELS)
        model = transformers.DistilBertForSequenceClassification(config)
        head = ["pre_classifier", "classifier"]
    else:
        config_class, model_class = {
            "roberta": (transformers.RobertaConfig, transformers.RobertaForSequenceClassification),
            "electra": (transformers.ElectraConfig, transformers.ElectraForSequenceClassification),
        }[family]
        config = config_class(vocab_size=40, hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                              max_position_embeddings=64, id2label=LABELS)
        model = model_class(config)
        head = ["classifier"]
    student = build_student(model.eval(), [1, 3])
    assert student.config.num_hidden_layers == 2 and student.config.id2label == LABELS
    for index, teacher_index in enumerate([1, 3]):
        assert_same_state(layer_state(student, index), layer_state(model, teacher_index))
    for part in [f"{model.base_model_prefix}.embeddings", *head]:
        assert_same_state(student.get_submodule(part).state_dict(), model.get_submodule(part).state_dict())


def test_unsupported_architecture_names_the_supported_ones():
    from transformers import AlbertConfig, AlbertForSequenceClassification

    albert = AlbertForSequenceClassification(
        AlbertConfig(vocab_size=40, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    )
    with pytest.raises(UserError, match="BERT.*DistilBERT"):
        build_student(albert, [0])


def test_count_parameters(teacher):
    total, non_embedding = count_parameters(teacher)
    assert total == sum(p.numel() for p in teacher.parameters())
    embedding_tables = (40 + 64 + 2) * 32  # word, position and token-type tables
    assert non_embedding == total - embedding_tables
    student_total, student_non_embedding = count_parameters(build_student(teacher, [0, 2]))
    per_layer = sum(p.numel() for p in teacher.bert.encoder.layer[0].parameters())
    assert (total - student_total, non_embedding - student_non_embedding) == (2 * per_layer, 2 * per_layer)
