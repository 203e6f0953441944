"""Sentence embeddings behind one small interface: texts in, unit vectors out.

The default embedder is a static model distilled from all-MiniLM-L6-v2 (index/static_model/, built by
tools/build_static_model.py) in model2vec's format: a sentence's vector is the weighted mean of its word
pieces' vectors, so embedding costs a tokenizer pass and a sum, with no network and no torch. The two files
are read with safetensors and tokenizers, as the transformer's are; the tests check the vectors against
model2vec's own `StaticModel.encode`.

A missing or damaged model never stops quotebot: `load_embedder` logs one warning and returns None,
and search falls back to BM25 alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .models import in_scope

logger = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "static_model"
MODEL_FILES = ("model.safetensors", "tokenizer.json", "config.json")
ANN_FROM = 200_000  # vectors: below this, `DenseIndex` searches exactly in memory; from here on, index/ann.py
VECTOR_DTYPE = np.float16  # as stored: half the bytes, and cosines agree with float32 to about 1e-3


class Embedder(Protocol):
    """Turns texts into unit vectors; `version` changes whenever the vectors would."""

    version: str
    dims: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 unit vector per text, shape (len(texts), dims)."""
        ...


class ModelError(RuntimeError):
    """The model files are missing, damaged or unreadable."""


@dataclass(frozen=True)
class StaticModel:
    """A static model's word-piece vectors (float32) and its tokenizer."""

    embedding: np.ndarray
    tokenizer: Any


_LOADED: dict[tuple[str, str], StaticModel] = {}  # (model folder, version) -> the model, loaded once per process
_PIECES: dict[tuple[str, str], WordPieces] = {}  # and its word pieces' cache


MAX_PIECES = 512  # model2vec's default truncation, in word pieces: a longer text's first 512
_PLAIN = re.compile(r"[\x20-\x7e\t\n\r‘’“”–—…£€¥¢]*\Z")  # printable ASCII, typographic punctuation, currency signs
# After lowercasing, BERT's pre-tokenizer splits plain text into runs of letters and digits, and single
# punctuation marks: ASCII's, and the typographic ones above (Unicode punctuation, untouched by its normaliser).
# Currency signs are not punctuation to it (Unicode's "Sc", not "P"): "£5.3m" is "£5", ".", "3m".
_PLAIN_WORDS = re.compile(r"[a-z0-9£€¥¢]+|[!-/:-@\[-`{-~‘’“”–—…]")


class WordPieces:
    """A BERT tokenizer's word-piece ids for many texts, without special tokens; the same ids as
    `tokenizer.encode_batch`, about ten times faster on plain text.

    The tokenizer's own pass costs about 0.1 ms a sentence, most of it in normalising and splitting with
    character offsets it keeps. For plain text (ASCII and typographic quotes and dashes) the split is a
    regular expression, and each word's pieces are looked up once and cached (Zipf's law keeps the cache
    small); any other text goes through the tokenizer itself.
    """

    CACHE_WORDS = 200_000  # the cache is emptied when it holds this many words

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.unknown = tokenizer.token_to_id("[UNK]")
        special = sorted((t.content for t in tokenizer.get_added_tokens_decoder().values()), key=len, reverse=True)
        self._special = re.compile("|".join(map(re.escape, special))) if special else None  # "[CLS]" in a text
        self._cache: dict[str, list[int]] = {}

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        cache, model = self._cache, self.tokenizer.model
        out: list[list[int] | None] = []
        others = []
        for row, text in enumerate(texts):
            if not _PLAIN.match(text) or (self._special is not None and self._special.search(text)):
                others.append(row)
                out.append(None)
                continue
            ids: list[int] = []
            for word in _PLAIN_WORDS.findall(text.lower()):
                pieces = cache.get(word)
                if pieces is None:
                    if len(cache) >= self.CACHE_WORDS:
                        cache.clear()
                    pieces = cache[word] = [t.id for t in model.tokenize(word)]
                ids.extend(pieces)
            out.append(ids)
        if others:
            for row, encoding in zip(others, self.tokenizer.encode_batch_fast([texts[i] for i in others], add_special_tokens=False), strict=True):
                out[row] = list(encoding.ids)
        # model2vec drops the unknown token's id
        return [[i for i in ids if i != self.unknown] if self.unknown in ids else ids for ids in out]  # type: ignore[union-attr]


class StaticEmbedder:
    """A model2vec static model from a folder, checked against the digests in its manifest.

    Picklable: worker processes get the folder and load the model themselves on first use.
    """

    def __init__(self, folder: Path = MODEL_DIR) -> None:
        self.folder = folder
        manifest = checked_manifest(folder, MODEL_FILES)
        self.version = str(manifest["model.safetensors"])[:16]
        self.dims = int(json.loads((folder / "config.json").read_text(encoding="utf-8"))["hidden_dim"])

    @cached_property
    def _model(self) -> StaticModel:
        """The loaded model, once per process: an embedder sent to an indexing worker with each chunk of files
        arrives without it (see __getstate__), and would otherwise load it again for every chunk."""
        key = (str(self.folder), self.version)
        if key not in _LOADED:
            _LOADED[key] = self._load()
        return _LOADED[key]

    def _load(self) -> StaticModel:
        # Not model2vec's loader: it imports huggingface_hub, which took half of a cold `quotebot ask`.
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        try:
            # Stored as float16 to halve the file; summed as float32, which numpy does about twice as fast
            # (15 MB more memory per process).
            embedding = np.asarray(load_file(str(self.folder / "model.safetensors"))["embeddings"], dtype=np.float32)
            tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        except Exception as error:  # any failure to parse the files is the same problem to the user
            raise ModelError(f"{self.folder}: cannot load the model: {error}") from error
        words = tokenizer.get_vocab_size()
        if embedding.shape != (words, self.dims):
            raise ModelError(f"{self.folder}: {embedding.shape} vectors for {words} word pieces of {self.dims} dimensions")
        return StaticModel(embedding, tokenizer)

    @property
    def _pieces(self) -> WordPieces:
        """The model's word pieces, with one cache per process (an embedder arrives in a worker with each chunk)."""
        key = (str(self.folder), self.version)
        if key not in _PIECES:
            _PIECES[key] = WordPieces(self._model.tokenizer)
        return _PIECES[key]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's word-piece vectors summed and scaled to unit length: the direction of the mean model2vec's
        `encode` computes (the same ids, found faster by `WordPieces`)."""
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        vectors = np.zeros((len(texts), self.dims), dtype=np.float32)
        table = self._model.embedding
        # One small sum per text: its rows stay in cache. Gathering every text's rows into one array for
        # np.add.reduceat was several times slower (about 50 against 8 microseconds a sentence).
        for row, ids in enumerate(self._pieces.ids(texts)):
            if ids:
                table[ids[:MAX_PIECES]].sum(axis=0, out=vectors[row])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_model", None)
        return state


def checked_manifest(folder: Path, files: Sequence[str]) -> dict[str, str]:
    """A model folder's MANIFEST.json, after checking each of `files` against the sha256 it lists. ModelError if
    the manifest or a file is missing, unreadable, or does not match."""
    try:
        manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"{folder / 'MANIFEST.json'}: {error}") from error
    if not isinstance(manifest, dict) or not all(isinstance(manifest.get(n), str) for n in files):
        raise ModelError(f"{folder / 'MANIFEST.json'}: does not list {', '.join(files)}")
    for name in files:
        path = folder / name
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise ModelError(f"{path}: {error.strerror or error}") from error
        if digest != manifest[name]:
            raise ModelError(f"{path}: checksum does not match {folder / 'MANIFEST.json'}")
    return manifest


def load_embedder(folder: Path = MODEL_DIR) -> tuple[StaticEmbedder | None, str | None]:
    """The embedder; or None and why (logged once as a warning) when its model cannot be used."""
    try:
        embedder = StaticEmbedder(folder)
        embedder.embed(["check"])  # load now: a damaged file should fail here, not in the middle of a question
    except ModelError as error:
        problem = f"semantic search is off: {error}; answering with BM25 alone"
        logger.warning("%s", problem)
        return None, problem
    return embedder, None


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=VECTOR_DTYPE).tobytes()


def from_blobs(blobs: Sequence[bytes], dims: int) -> np.ndarray:
    """Stored vectors back to a float32 matrix, (len(blobs), dims)."""
    if not blobs:
        return np.zeros((0, dims), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=VECTOR_DTYPE).reshape(len(blobs), dims).astype(np.float32)


class VectorIndex(Protocol):
    """What search needs of a vector index: exact (`DenseIndex`) or approximate (`ann.AnnIndex`)."""

    generation: int

    def search(self, vector: np.ndarray, k: int, scope: tuple[str, ...] = ()) -> list[tuple[int, float]]: ...

    def similarity(self, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]: ...


LOAD_CHUNK = 65_536  # vectors read and converted at a time
MAX_BLOCKS = 8  # blocks of added vectors kept apart before the small ones are merged


class DenseIndex:
    """Exact nearest neighbours by cosine over the stored passage vectors, held in memory.

    It catches up with the store from its change log, article by article, like the Tantivy engine: the rows
    of changed articles are marked dead and their current passages' vectors added as a new block. Nothing is
    copied whole on a change (at a million sentences the matrix is a gigabyte); dead rows are dropped in one
    compaction once they are a quarter of the rows, and small blocks are merged as they accumulate.
    """

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self.generation = -1
        self._blocks: list[np.ndarray] = []  # float32 matrices whose rows, in order, are the rows below
        self._ids = np.zeros(0, dtype=np.int64)
        self._codes = np.zeros(0, dtype=np.int32)  # each row's article, as a number
        self._alive = np.zeros(0, dtype=bool)
        self._order: np.ndarray | None = None  # live rows sorted by passage id, for `similarity`, made when needed
        self._sorted_ids = np.zeros(0, dtype=np.int64)  # their ids
        self._code_of: dict[str, int] = {}
        self._scopes: dict[tuple[str, ...], np.ndarray] = {}  # scope -> which rows are inside it

    def __len__(self) -> int:
        return int(self._alive.sum())

    def load(self, rows: Iterable[tuple[int, str, bytes | None]], count: int, generation: int) -> None:
        """Hold exactly `rows` (id, article, vector), about `count` of them, read a chunk at a time into one
        preallocated matrix: memory stays at the matrix's size, however many rows there are."""
        ids = np.zeros(count, dtype=np.int64)
        codes = np.zeros(count, dtype=np.int32)
        matrix = np.zeros((count, self.dims), dtype=np.float32)
        self._code_of = {}
        filled = 0
        iterator = iter(rows)
        while chunk := self._usable(islice(iterator, LOAD_CHUNK)):
            end = filled + len(chunk)
            if end > len(ids):  # rows were added since they were counted
                grow = end - len(ids)
                ids, codes = np.concatenate([ids, np.zeros(grow, np.int64)]), np.concatenate([codes, np.zeros(grow, np.int32)])
                matrix = np.concatenate([matrix, np.zeros((grow, self.dims), np.float32)])
            ids[filled:end] = [pid for pid, _, _ in chunk]
            codes[filled:end] = [self._code_of.setdefault(article, len(self._code_of)) for _, article, _ in chunk]
            matrix[filled:end] = from_blobs([blob for _, _, blob in chunk], self.dims)
            filled = end
        self._blocks = [matrix[:filled]] if filled else []
        self._ids, self._codes, self._alive = ids[:filled], codes[:filled], np.ones(filled, dtype=bool)
        self._changed(generation)

    def replace(self, changed: set[str] | None, rows: Sequence[tuple[int, str, bytes | None]], generation: int) -> None:
        """Drop every row of the `changed` articles (all rows if None), then add `rows` (id, article, vector)."""
        if changed is None:
            self._alive[:] = False
        else:
            gone = [self._code_of[a] for a in changed if a in self._code_of]
            if gone:
                self._alive &= ~np.isin(self._codes, np.array(gone, dtype=np.int32))
        usable = self._usable(rows)
        if usable:
            codes = [self._code_of.setdefault(article, len(self._code_of)) for _, article, _ in usable]
            self._blocks.append(from_blobs([b for _, _, b in usable], self.dims))
            self._ids = np.concatenate([self._ids, np.array([pid for pid, _, _ in usable], dtype=np.int64)])
            self._codes = np.concatenate([self._codes, np.array(codes, dtype=np.int32)])
            self._alive = np.concatenate([self._alive, np.ones(len(usable), dtype=bool)])
        if (~self._alive).sum() * 4 > len(self._alive):
            self._compact()
        elif len(self._blocks) > MAX_BLOCKS:
            self._blocks = [self._blocks[0], np.concatenate(self._blocks[1:])]  # the first, big one stays as it is
        self._changed(generation)

    def _usable(self, rows: Iterable[tuple[int, str, bytes | None]]) -> list[tuple[int, str, bytes]]:
        size = self.dims * 2
        return [(pid, article, blob) for pid, article, blob in rows if blob is not None and len(blob) == size]

    def _compact(self) -> None:
        keep = self._alive
        matrix = np.concatenate(self._blocks) if self._blocks else np.zeros((0, self.dims), np.float32)
        self._blocks = [matrix[keep]] if keep.any() else []
        self._ids, self._codes, self._alive = self._ids[keep], self._codes[keep], np.ones(int(keep.sum()), dtype=bool)

    def _changed(self, generation: int) -> None:
        self._order = None
        self._scopes = {}
        self.generation = generation

    def _scores(self, vector: np.ndarray) -> np.ndarray:
        vector = vector.astype(np.float32)
        scores = np.concatenate([block @ vector for block in self._blocks]) if self._blocks else np.zeros(0, np.float32)
        scores[~self._alive] = -np.inf
        return scores

    def search(self, vector: np.ndarray, k: int, scope: tuple[str, ...] = ()) -> list[tuple[int, float]]:
        """Up to k (passage id, cosine) pairs, best first; only of articles inside the scope's folders, if one is given."""
        if not len(self._ids) or k <= 0:
            return []
        scores = self._scores(vector)
        usable = self._alive
        if scope:
            usable = usable & self._inside(scope)
            scores[~usable] = -np.inf
        k = min(k, int(usable.sum()))
        if not k:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self._ids[i]), float(scores[i])) for i in top]

    def _inside(self, scope: tuple[str, ...]) -> np.ndarray:
        if scope not in self._scopes:
            wanted = [code for article, code in self._code_of.items() if in_scope(article, scope)]
            self._scopes[scope] = np.isin(self._codes, np.array(wanted, dtype=np.int32))
        return self._scopes[scope]

    def similarity(self, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Cosine of the given passages to `vector` (those the index holds)."""
        if not ids or not len(self._ids):
            return {}
        if self._order is None:
            live = np.flatnonzero(self._alive)
            order = live[np.argsort(self._ids[live], kind="stable")]
            self._order, self._sorted_ids = order, self._ids[order]
        if not len(self._order):
            return {}
        wanted = np.asarray(ids, dtype=np.int64)
        spots = np.minimum(np.searchsorted(self._sorted_ids, wanted), len(self._order) - 1)
        found = self._sorted_ids[spots] == wanted
        rows = self._order[spots[found]]
        if not len(rows):
            return {}
        starts = np.cumsum([0] + [len(b) for b in self._blocks])
        block_of = np.searchsorted(starts, rows, side="right") - 1
        scores = np.stack([self._blocks[b][r - starts[b]] for b, r in zip(block_of, rows, strict=True)]) @ vector.astype(np.float32)
        return {int(pid): float(s) for pid, s in zip(wanted[found], scores, strict=True)}
