"""Writing a trained reader as a folder the answerer loads: int8 ONNX, its tokenizer, and reader.json."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from qa.answerers.pairs import PairText, batch
from qa.answerers.reader import CONFIG_FILE, FORMAT, MODEL_FILE, TOKENIZER_FILE

log = logging.getLogger(__name__)
NAMES = ("input_ids", "attention_mask", "token_type_ids")


def export(network: Any, pair_encoder: Any, tokenizer_file: Path, out: Path, config: dict[str, Any]) -> Path:
    """Export the network to ONNX, quantise its weights to int8 (dynamic, per channel), and write the folder."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.mkdir(parents=True, exist_ok=True)
    sample = batch(pair_encoder.encode([PairText("what was stolen?", "A gold coin was stolen.", "Coin stolen"),
                                        PairText("who?", "Police said two men were seen.", "", "Before.", "After.", "q?", "a.")]))
    inputs = tuple(torch.from_numpy(sample[n]) for n in NAMES)
    axes = {n: {0: "batch", 1: "tokens"} for n in NAMES}
    axes.update({"score": {0: "batch"}, "start": {0: "batch", 1: "tokens"}, "end": {0: "batch", 1: "tokens"}})
    network.eval()
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "model-fp32.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(network, inputs, str(full), input_names=list(NAMES), output_names=["score", "start", "end"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        logging.disable(logging.WARNING)  # its advice to pre-process applies to static quantisation
        try:
            quantize_dynamic(str(full), str(out / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            logging.disable(logging.NOTSET)
    shutil.copyfile(tokenizer_file, out / TOKENIZER_FILE)
    (out / CONFIG_FILE).write_text(json.dumps({"format": FORMAT, **config}, indent=1) + "\n", encoding="utf-8")
    log.info("wrote the reader to %s (%.1f MB)", out, (out / MODEL_FILE).stat().st_size / 1e6)
    return out
