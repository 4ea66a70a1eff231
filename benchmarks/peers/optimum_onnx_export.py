"""Hugging Face Optimum's ONNX path for a student, run inside the optimum-onnx tool environment.

    python optimum_onnx_export.py STUDENT_DIR OUT_DIR avx512_vnni|arm64

Exports with `optimum.exporters.onnx.main_export` (task text-classification), then quantizes with
`ORTQuantizer` and `AutoQuantizationConfig.<config>(is_static=False)`, Optimum's documented dynamic int8.
Writes OUT_DIR/peer.json: the quantized file, the versions, and the fp32 logits this environment's
transformers gives on fixed probe ids, so the caller can check the student loaded the same here.
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

PROBE_IDS = [[101] + list(range(2000, 2030)) + [102]]


def main() -> None:
    student, out, config = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    import torch
    from optimum.exporters.onnx import main_export
    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(student).eval()
    with torch.inference_mode():
        ids = torch.tensor(PROBE_IDS)
        probe = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.tolist()
    exported = out / "onnx"
    main_export(str(student), output=exported, task="text-classification")
    quantization = getattr(AutoQuantizationConfig, config)(is_static=False)
    ORTQuantizer.from_pretrained(exported).quantize(save_dir=out / config, quantization_config=quantization)
    (file,) = sorted((out / config).glob("*.onnx"))
    record = {"file": str(file), "probe_ids": PROBE_IDS, "probe_logits": probe,
              "steps": ["optimum.exporters.onnx.main_export(task='text-classification')",
                        f"ORTQuantizer.quantize(AutoQuantizationConfig.{config}(is_static=False))"],
              "versions": {name: version(name) for name in ("optimum", "optimum-onnx", "transformers", "torch",
                                                            "onnx", "onnxruntime")}}
    (out / "peer.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
