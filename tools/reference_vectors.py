"""Write tests/data/minilm_reference.json: sentence-transformers' own vectors for the test sentences, from the
weights quotebot's models are built from. The tests check quotebot's numpy/onnxruntime transformer and its
static model against them. Build time only (torch and sentence-transformers, as for tools/train_encoder.py):

    /tmp/train/bin/python tools/reference_vectors.py /tmp/encoder
"""

from __future__ import annotations

import argparse
import hashlib
import json
from importlib import metadata
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent.parent / "tests" / "data" / "minilm_reference.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a sentence-transformers folder (tools/train_encoder.py's output)")
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    sentences = json.loads(REFERENCE.read_text())["sentences"]
    model = SentenceTransformer(str(args.model), device="cpu")
    vectors = model.encode(sentences, normalize_embeddings=True)
    digest = hashlib.sha256((args.model / "model.safetensors").read_bytes()).hexdigest()
    made_with = (
        f"sentence-transformers {metadata.version('sentence-transformers')}, torch {metadata.version('torch')} (CPU), "
        "SentenceTransformer(<the trained folder>).encode(sentences, normalize_embeddings=True); "
        f"model.safetensors sha256 {digest}"
    )
    REFERENCE.write_text(json.dumps({"sentences": sentences, "vectors": vectors.round(6).tolist(), "made_with": made_with}))
    print(f"wrote {REFERENCE}")


if __name__ == "__main__":
    main()
