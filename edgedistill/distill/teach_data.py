"""What `teach` needs from each task: its splits, the encoded train set, the objective, and how it is scored."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from edgedistill.data import DataSpec, load_splits
from edgedistill.data.tagged import load_tagged_splits
from edgedistill.distill.batches import EncodedTexts, encode_texts
from edgedistill.distill.evaluate import classification_metrics, text_validator
from edgedistill.distill.objectives import ClassifierObjective
from edgedistill.distill.predict import predict_logits
from edgedistill.distill.token_task import (
    TokenObjective,
    continuation_ids,
    encode_words,
    predict_word_logits,
    subtoken_labels,
    token_validator,
)
from edgedistill.distill.training import Validator
from edgedistill.errors import UserError
from edgedistill.model.classifiers import TOKEN_TASK
from edgedistill.tasks.words import word_metrics


@dataclass
class Prepared:
    train_set: EncodedTexts
    objective: nn.Module
    validator: Validator
    test_set: EncodedTexts = field(repr=False)


class TextTask:
    """One label per text: accuracy picks the epoch; test figures are accuracy and macro-F1."""

    def __init__(self, spec: DataSpec):
        self.splits = load_splits(spec)
        self.label_names = self.splits.label_names
        self.fingerprint_rows = (self.splits.train.texts, self.splits.train.labels)
        self.sizes = (len(self.splits.train), len(self.splits.validation))

    def prepare(self, model: nn.Module, tokenizer, max_length: int) -> Prepared:
        splits = self.splits
        return Prepared(encode_texts(tokenizer, splits.train.texts, max_length),
                        ClassifierObjective(model, splits.train.labels),
                        text_validator(encode_texts(tokenizer, splits.validation.texts, max_length), splits.validation.labels),
                        encode_texts(tokenizer, splits.test.texts, max_length))

    def test_metrics(self, model: nn.Module, test_set: EncodedTexts) -> dict:
        return classification_metrics(predict_logits(model, test_set), self.splits.test.labels)


class WordTask:
    """One tag per word (IOB2): entity F1 picks the epoch; test figures are entity P/R/F1 and per type."""

    def __init__(self, spec: DataSpec, label_subtokens: str = "first"):
        self.label_subtokens = label_subtokens
        self.splits = load_tagged_splits(spec.source, spec.test_source, spec.seed, spec.validation_fraction,
                                         spec.test_fraction)
        self.label_names = self.splits.tag_names
        ids = {tag: index for index, tag in enumerate(self.label_names)}
        self.train_labels = [[ids[tag] for tag in tags] for tags in self.splits.train.tags]
        self.fingerprint_rows = ([" ".join(words) for words in self.splits.train.tokens], self.train_labels)
        self.sizes = (len(self.splits.train), len(self.splits.validation))

    def prepare(self, model: nn.Module, tokenizer, max_length: int) -> Prepared:
        splits = self.splits
        train_set = encode_words(tokenizer, splits.train.tokens, max_length)
        validation_set = encode_words(tokenizer, splits.validation.tokens, max_length)
        every = (subtoken_labels(train_set.word_ids, self.train_labels, continuation_ids(self.label_names))
                 if self.label_subtokens == "all" else None)
        return Prepared(train_set, TokenObjective(model, train_set, self.train_labels, subtoken_labels=every),
                        token_validator(validation_set, splits.validation.tags, self.label_names),
                        encode_words(tokenizer, splits.test.tokens, max_length))

    def test_metrics(self, model: nn.Module, test_set) -> dict:
        return word_metrics(predict_word_logits(model, test_set), test_set.num_words, self.splits.test.tags,
                             self.label_names)


def teach_task(task: str, spec: DataSpec, label_subtokens: str = "first") -> TextTask | WordTask:
    if task == TOKEN_TASK:
        return WordTask(spec, label_subtokens)
    if label_subtokens != "first":
        raise UserError("--label-subtokens applies to --task token-classification only")
    return TextTask(spec)
