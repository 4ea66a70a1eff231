"""optimum-executorch's XNNPACK recipe for a student, run inside the optimum-executorch tool environment.

    python optimum_executorch_export.py STUDENT_DIR OUT_DIR

optimum-executorch 1.1.0 registers no text-classification task; its encoder task (`fill-mask`) loads the model,
applies `quantize_model_` and wraps it in `MaskedLMExportableModule`, whose forward is any Hugging Face
`model(input_ids, attention_mask)`. The same three steps run here on the sequence classifier, with
`--qlinear 8da8w` (int8 weights, int8 activations quantized per call: its dynamic int8), then the XNNPACK recipe
(`export_to_executorch_with_xnnpack`). Writes OUT_DIR/model.pte and OUT_DIR/peer.json.
"""

import json
import sys
from importlib.metadata import version
from pathlib import Path

PROBE_IDS = [[101] + list(range(2000, 2030)) + [102]]
QLINEAR = "8da8w"


def main() -> None:
    student, out = Path(sys.argv[1]), Path(sys.argv[2])
    import torch
    from optimum.exporters.executorch.integrations import MaskedLMExportableModule
    from optimum.exporters.executorch.quantization import quantize_model_
    from optimum.exporters.executorch.recipes.xnnpack import export_to_executorch_with_xnnpack
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(student).to("cpu").eval()
    with torch.inference_mode():
        ids = torch.tensor(PROBE_IDS)
        probe = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.tolist()
    quantize_model_(model, qlinear_config=QLINEAR)
    programs = export_to_executorch_with_xnnpack(MaskedLMExportableModule(model))
    (program,) = programs.values()
    file = out / "model.pte"
    with open(file, "wb") as handle:
        program.write_to_file(handle)
    record = {"file": str(file), "probe_ids": PROBE_IDS, "probe_logits": probe,
              "steps": [f"quantize_model_(model, qlinear_config={QLINEAR!r})", "MaskedLMExportableModule(model)",
                        "export_to_executorch_with_xnnpack"],
              "versions": {name: version(name) for name in ("optimum", "optimum-executorch", "transformers", "torch",
                                                            "executorch", "torchao")}}
    (out / "peer.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
