"""Regenerate calibration/mr-polarity.jsonl: 200 MR sentences from the TRAIN split only.

The split is the one `teach`/`distill --data builtin:mr-polarity` use by default
(DataSpec defaults: seed 13, 10% validation, 10% test), so no calibration text is
ever a validation or test text. The sample is stratified by label with seed 0.

    python calibration/make_mr_calibration.py
"""

from __future__ import annotations

import json
from pathlib import Path

from edgedistill.data import DataSpec, load_splits
from edgedistill.export.calibration import DEFAULT_LIMIT, stratified_sample
from edgedistill.fsutil import atomic_write_text

OUTPUT = Path(__file__).resolve().parent / "mr-polarity.jsonl"


def main() -> None:
    splits = load_splits(DataSpec(source="builtin:mr-polarity"))
    texts = stratified_sample(splits.train.texts, splits.train.labels, DEFAULT_LIMIT)
    atomic_write_text(OUTPUT, "".join(json.dumps({"text": text}, ensure_ascii=False) + "\n" for text in texts))
    print(f"wrote {len(texts)} texts to {OUTPUT}")


if __name__ == "__main__":
    main()
