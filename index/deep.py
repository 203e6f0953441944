"""The re-ranking model: the full all-MiniLM-L6-v2 transformer, its encoder layers run by onnxruntime.

The static model (index/semantic.py) embeds every sentence fast enough to index a million an hour
several times over, and finds candidates. This one reads each sentence in context, as the original
sentence-transformers model does, and is what decides the order of the candidates and whether any of
them answers: for the question (about 3 ms) and for every stored sentence once, headed by its article's
title (about 180 sentences a second on two cores, so `quotebot index` does it after the sentences are
searchable, committing as it goes, and `serve` does it in the background).

index/deep_model/ holds the original weights as 8-bit integers with one float16 scale per 32 values
(tools/build_static_model.py --deep; cosine to sentence-transformers' vectors ≥ 0.999), the encoder's
graph without its weights (`encoder.onnx`, tools/build_static_model.py --graph: the weights are handed
to onnxruntime at load), the tokenizer, and a manifest of sha256 digests checked at load. A missing or
damaged model gives one warning, and answers are ranked with the static model alone. Where onnxruntime
cannot run, the same layers run in numpy (`MiniLM.layers_numpy`), two to three times slower.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .semantic import ModelError, checked_manifest

logger = logging.getLogger(__name__)

DEEP_DIR = Path(__file__).resolve().parent / "deep_model"
GRAPH = "encoder.onnx"
DEEP_FILES = ("model.safetensors", "tokenizer.json", "config.json", GRAPH)
GROUP = 32  # values sharing one scale in the 8-bit weights
MAX_TOKENS = 256  # word pieces read of a sentence, as sentence-transformers does
BATCH = 32  # sentences through the model at a time, sorted by length so that little is padding
HEADS = 12
EPS = 1e-12
WORDS = "embeddings.word_embeddings.weight"
_LOADED: dict[tuple[str, str, str], tuple[Any, Any]] = {}  # (folder, version, runtime) -> (model, tokenizer), loaded once per process


def passage_text(title: str | None, text: str) -> str:
    """What the model reads of a stored sentence: its article's title, then the sentence. The title says what
    "it" and "the company" are, which the sentence alone often does not."""
    return f"{title}. {text}" if title else text


def quantize(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Matrices as int8 with a float16 scale per GROUP values of a row ("name" and "name.scale"); the rest float32."""
    out: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        if value.ndim == 2 and value.shape[1] % GROUP == 0:
            groups = value.astype(np.float32).reshape(value.shape[0], -1, GROUP)
            scale = np.abs(groups).max(2, keepdims=True) / 127
            scale[scale == 0] = 1
            out[name] = np.round(groups / scale).astype(np.int8).reshape(value.shape)
            out[name + ".scale"] = scale[..., 0].astype(np.float16)
        elif value.dtype != np.int64:
            out[name] = value.astype(np.float32)
    return out


def dequantize(stored: dict[str, np.ndarray], keep: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """float32 weights; the matrices named in `keep` stay 8-bit (`QuantizedRows`), read a row at a time."""
    weights: dict[str, Any] = {}
    for name, value in stored.items():
        if name.endswith(".scale"):
            continue
        if value.dtype == np.int8:
            scale = stored[name + ".scale"].astype(np.float32)
            if name in keep:
                weights[name] = QuantizedRows(value, scale)
                continue
            value = (value.reshape(value.shape[0], -1, GROUP) * scale[..., None]).reshape(value.shape)
        weights[name] = value.astype(np.float32)
    return weights


class QuantizedRows:
    """An 8-bit matrix of which only some rows are wanted at a time (the word-piece embeddings: 30,522 rows, a
    sentence uses a few dozen), turned into float32 as they are read."""

    def __init__(self, values: np.ndarray, scale: np.ndarray) -> None:
        self.values, self.scale = values, scale
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        values = self.values[rows]
        grouped = values.reshape(*values.shape[:-1], -1, GROUP) * self.scale[rows][..., None]
        return grouped.reshape(values.shape).astype(np.float32)

    def astype(self, dtype: Any) -> QuantizedRows:
        return self


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    centred = x - x.mean(-1, keepdims=True)
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + EPS) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz and Stegun 7.1.26 (absolute error under 1.5e-7), so that exact GELU needs no scipy."""
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-a * a))


class OnnxLayers:
    """The encoder layers run by onnxruntime: about 2.5 times faster than numpy for a question (its kernels
    suit a dozen tokens) and 1.7 times for a batch of sentences. The graph holds no weights: they are handed
    over at load, so the model's weights are shipped once."""

    def __init__(self, graph: bytes, weights: dict[str, np.ndarray], exact_gelu: bool = False) -> None:
        import onnxruntime as ort

        if exact_gelu:
            raise ValueError("encoder.onnx uses the tanh form of GELU")
        options = ort.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle between questions: no busy wait
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False  # an arena would keep the largest batch's memory for good
        names = list(weights)
        options.add_external_initializers(names, [ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(weights[n])) for n in names])
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def __call__(self, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"x": x, "bias": bias})[0]


class MiniLM:
    """The BERT encoder of all-MiniLM-L6-v2, float32. `exact_gelu` uses erf (as the original) rather than the
    tanh form, which is a third faster and moves sentence vectors by under 1e-5 in cosine."""

    def __init__(self, weights: dict[str, np.ndarray], exact_gelu: bool = False) -> None:
        w = {k: v.astype(np.float32) for k, v in weights.items() if v.dtype != np.int64}  # QuantizedRows stays as it is
        self.exact_gelu = exact_gelu
        self.runtime: OnnxLayers | None = None  # the encoder layers in onnxruntime, once `run_with` is given the graph
        self.words = w[WORDS]
        self.positions = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        count = 1 + max(int(k.split(".")[2]) for k in w if k.startswith("encoder.layer."))
        self.layers = []
        for i in range(count):
            p = f"encoder.layer.{i}."

            def dense(name: str, p: str = p) -> tuple[np.ndarray, np.ndarray]:
                return np.ascontiguousarray(w[p + name + ".weight"].T), w[p + name + ".bias"]

            qkv = [dense(f"attention.self.{n}") for n in ("query", "key", "value")]
            self.layers.append((
                (np.ascontiguousarray(np.concatenate([m for m, _ in qkv], axis=1)), np.concatenate([b for _, b in qkv])),
                dense("attention.output.dense"),
                (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                dense("intermediate.dense"),
                dense("output.dense"),
                (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            ))

    def run_with(self, graph: bytes) -> None:
        """Run the encoder layers in onnxruntime from now on (`encoder.onnx`, with this model's weights)."""
        self.runtime = OnnxLayers(graph, self.encoder_weights(), exact_gelu=self.exact_gelu)
        self.layers = []  # onnxruntime holds its own copy

    def _gelu(self, h: np.ndarray) -> np.ndarray:
        if self.exact_gelu:
            return 0.5 * h * (1.0 + _erf(h / np.sqrt(2.0)))
        return 0.5 * h * (1.0 + np.tanh(np.float32(0.7978845608) * (h + np.float32(0.044715) * h * h * h)))

    def hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states, (batch, length, 384), for padded ids and their attention mask."""
        length = ids.shape[1]
        x = _layer_norm(self.words[ids] + self.positions[:length] + self.token_type, *self.norm).astype(np.float32, copy=False)
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        if self.runtime is not None:
            return self.runtime(x, bias)
        return self.layers_numpy(x, bias)

    def layers_numpy(self, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """The encoder layers in numpy: embedded tokens (batch, length, 384) and the attention mask as a bias."""
        batch, length, dims = x.shape
        size = dims // HEADS
        x = x.reshape(batch * length, dims)
        scale = np.float32(1 / np.sqrt(size))
        for (qkv_w, qkv_b), (out_w, out_b), norm1, (in_w, in_b), (down_w, down_b), norm2 in self.layers:
            qkv = (x @ qkv_w + qkv_b).reshape(batch, length, 3, HEADS, size).transpose(2, 0, 3, 1, 4)
            scores = (qkv[0] * scale) @ qkv[1].transpose(0, 1, 3, 2) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(batch * length, dims)
            x = _layer_norm(x + context @ out_w + out_b, *norm1)
            x = _layer_norm(x + self._gelu(x @ in_w + in_b) @ down_w + down_b, *norm2)
        return x.reshape(batch, length, dims)

    def encoder_weights(self) -> dict[str, np.ndarray]:
        """The encoder layers' weights by the names `encoder.onnx` gives them (matrices as input x output)."""
        parts = ("qkv", "attention_out", "attention_norm", "intermediate", "output", "output_norm")
        weights = {}
        for i, layer in enumerate(self.layers):
            for part, (weight, bias) in zip(parts, layer, strict=True):
                weights[f"layer{i}.{part}.weight"] = weight
                weights[f"layer{i}.{part}.bias"] = bias
        return weights

    def mean_pooled(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        length = max(len(s) for s in sequences)
        ids = np.zeros((len(sequences), length), dtype=np.int64)
        mask = np.zeros((len(sequences), length), dtype=np.float32)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1
        hidden = self.hidden(ids, mask)
        return (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)


def encode(model: MiniLM, tokenizer: Any, texts: Sequence[str], batch: int = BATCH) -> np.ndarray:
    """Unit sentence vectors as sentence-transformers makes them (mean-pooled, up to MAX_TOKENS word pieces)."""
    out = np.zeros((len(texts), 384), dtype=np.float32)
    if not texts:
        return out
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    sequences = [e.ids for e in tokenizer.encode_batch(list(texts))]
    order = sorted(range(len(texts)), key=lambda i: len(sequences[i]))
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        out[rows] = model.mean_pooled([sequences[i] for i in rows])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


class DeepEmbedder:
    """The transformer from a folder, checked against the digests in its manifest; loaded on first use."""

    dims = 384

    def __init__(self, folder: Path = DEEP_DIR, runtime: str = "onnx") -> None:
        self.folder = folder
        self.runtime = runtime  # "onnx", or "numpy" for the encoder layers in numpy
        self.version = "deep-" + checked_manifest(folder, DEEP_FILES)["model.safetensors"][:16]

    @cached_property
    def _parts(self) -> tuple[MiniLM, Any]:
        key = (str(self.folder), self.version, self.runtime)
        if key not in _LOADED:
            _LOADED[key] = self._load()
        return _LOADED[key]

    def _load(self) -> tuple[MiniLM, Any]:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        try:
            model = MiniLM(dequantize(load_file(str(self.folder / "model.safetensors")), keep=(WORDS,)))
            tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            graph = (self.folder / GRAPH).read_bytes()
        except Exception as error:  # any failure to parse the files is the same problem to the user
            raise ModelError(f"{self.folder}: cannot load the model: {error}") from error
        if self.runtime == "onnx":
            try:
                model.run_with(graph)
            except Exception as error:  # no onnxruntime for this platform, or it cannot run the graph: numpy can
                logger.warning("the transformer runs in numpy, two to three times slower: onnxruntime: %s", error)
        return model, tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model, tokenizer = self._parts
        return encode(model, tokenizer, texts)

    def embed_meanwhile(self, texts: Sequence[str]) -> Future[np.ndarray]:
        """`embed` on a thread of its own, while the caller goes on (the question, while the engines search:
        onnxruntime runs without Python's lock, on the other core)."""
        return self._meanwhile.submit(self.embed, texts)

    @cached_property
    def _meanwhile(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(1, thread_name_prefix="transformer")


def load_deep(folder: Path = DEEP_DIR) -> tuple[DeepEmbedder | None, str | None]:
    """The re-ranking model; or None and why (logged once as a warning) when it cannot be used."""
    try:
        embedder = DeepEmbedder(folder)
        embedder.embed(["check"])
    except ModelError as error:
        problem = f"re-ranking with the transformer is off: {error}; ranking with the static model"
        logger.warning("%s", problem)
        return None, problem
    return embedder, None
