"""`edgedistill predict`: classify texts with a bundle in its own runtime (no torch): the reference client an app
team mirrors, and the first check on a new board ("does it say positive for a positive sentence?")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgedistill.bundle.reader import open_bundle
from edgedistill.check.runner import encode_examples, load_session
from edgedistill.errors import UserError
from edgedistill.targets.registry import get_target


def predict_texts(bundle: Path, texts: list[str]) -> list[dict[str, Any]]:
    """Label and class probabilities of each text, tokenized and padded as the bundle's manifest says."""
    if not texts:
        raise UserError("no texts to classify: pass them as arguments or as JSON lines on stdin")
    opened = open_bundle(bundle)
    manifest = opened.manifest
    sequence = manifest.sequence_policy()
    session, _ = load_session(get_target(manifest.runtime), opened.model_path, manifest.threads)
    results = []
    for text, (ids, mask) in zip(texts, encode_examples(opened.tokenizer_json, texts, sequence, session.fixed_length)):
        logits = np.asarray(session.run(ids, mask), dtype=np.float64)[0]
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        results.append({"text": text, "label": opened.labels[int(probabilities.argmax())],
                        "probabilities": {label: float(p) for label, p in zip(opened.labels, probabilities)}})
    return results
