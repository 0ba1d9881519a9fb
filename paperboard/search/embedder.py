"""Text → unit vectors, from model files shipped in the repo, with no torch and no downloads.

Two models, two roles (figures in ``models/README.md``):
- ``minilm-static-256`` (default): a static token-embedding table distilled from
  all-MiniLM-L6-v2. Thousands of abstracts/s on 2 cores, so a whole corpus can be embedded in
  the background and every new paper on ingest.
- ``minilm-l6-int8``: the full all-MiniLM-L6-v2 transformer as int8 ONNX. ~50x slower, but
  clearly better; used to re-rank the top candidates of one query.

Heavy imports (onnxruntime, model2vec, tokenizers) happen on first use, so importing this module
costs only numpy; a missing model file raises ``ModelFilesMissing`` naming the file and how to
rebuild it, instead of a stack trace from deep inside a runtime.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

MODELS_DIR = Path(__file__).resolve().parent / "models"
STATIC_MODEL = "minilm-static-256"
ONNX_MODEL = "minilm-l6-int8"
DEFAULT_EMBEDDER = STATIC_MODEL
"""For the corpus: the only model that embeds 75k papers in under a minute on 2 cores."""
DEFAULT_RERANKER = ONNX_MODEL
"""For re-ranking one query's top candidates, where 50 docs cost ~1 s."""

MAX_CHARS = 20_000
"""Text beyond this is dropped before tokenising: both models stop reading long before it
(512 / 256 tokens), and tokenising a pasted megabyte would only burn CPU."""

REBUILD_HINT = "rebuild with scripts/build_models.py (see paperboard/search/models/README.md)"


class ModelFilesMissing(RuntimeError):
    """The model's files are not in the repo checkout or installed package."""


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, progress: bool = False
    ) -> np.ndarray:
        """float32 array (len(texts), dim); rows are unit length, or zero for blank text.
        ``batch_size`` None picks the model's own efficient size."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """float32 vector (dim,), unit length (zero for blank text)."""
        ...


def paper_text(title: str | None, abstract: str | None) -> str:
    """The one text a paper is embedded by, so the index and a query-by-paper agree."""
    title = " ".join((title or "").split())
    abstract = " ".join((abstract or "").split())
    if title and abstract:
        return f"{title.rstrip('.')}. {abstract}"
    return title or abstract


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # Blank text has no tokens, so no direction: leave it at zero (similarity 0 to everything).
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


def _clean(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("encode() takes a list of texts; use encode_query() for one string")
    # Lone surrogates (from malformed JSON escapes) cannot cross into the Rust tokenizer.
    return [(t or "")[:MAX_CHARS].encode("utf-8", "replace").decode("utf-8") for t in texts]


def _require(path: Path, model: str) -> Path:
    if not path.is_file():
        raise ModelFilesMissing(f"model {model!r}: missing file {path}; {REBUILD_HINT}")
    return path


def _batches(n: int, size: int, progress: bool, label: str) -> Iterator[tuple[int, int]]:
    if size < 1:
        raise ValueError("batch_size must be >= 1")
    starts = range(0, n, size)
    if progress:
        from rich.progress import track

        starts = track(starts, description=f"embedding ({label})", total=len(starts))
    for start in starts:
        yield start, min(start + size, n)


class _EmbedderBase:
    """Shared encode loop: subclasses only turn one batch of non-blank texts into vectors."""

    name: str
    dim: int
    default_batch_size = 64

    def encode(
        self, texts: Sequence[str], batch_size: int | None = None, progress: bool = False
    ) -> np.ndarray:
        batch_size = self.default_batch_size if batch_size is None else batch_size
        texts = _clean(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        # Length-sorted batches pad less (ONNX) and cost nothing for the static model.
        todo.sort(key=lambda i: len(texts[i]))
        for start, end in _batches(len(todo), batch_size, progress, self.name):
            idx = todo[start:end]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return _normalise(out)

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector (read-only), kept for the next time the same text is asked: a
        query comes back (the next page of its results, the API paging, a popular search), and
        the transformer takes about 10 ms a query on two cores, half of a search's time."""
        queries = self.__dict__.get("_queries")
        if queries is None:
            queries = self.__dict__.setdefault("_queries", OrderedDict())
        with _query_lock:
            vector = queries.get(text)
            if vector is not None:
                queries.move_to_end(text)
                return vector
        vector = self.encode([text])[0]
        vector.setflags(write=False)
        with _query_lock:
            queries[text] = vector
            while len(queries) > QUERY_CACHE_SIZE:
                queries.popitem(last=False)
        return vector

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} dim={self.dim}>"


class StaticEmbedder(_EmbedderBase):
    """model2vec static model: mean of per-token vectors, no neural network at run time."""

    default_batch_size = 1024  # per-call overhead dominates below this

    def __init__(self, path: Path, name: str = STATIC_MODEL) -> None:
        for f in ("model.safetensors", "tokenizer.json", "config.json"):
            _require(path / f, name)
        from model2vec import StaticModel

        from .static_tokens import StaticTokens

        self.name = name
        # A local directory: model2vec reads it without contacting the hub.
        self._model = StaticModel.from_pretrained(path, normalize=True)
        self.dim = int(self._model.dim)
        self._tokens = StaticTokens(self._model)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        # model2vec's own encode gives the same vectors (static_tokens.py) at ~2.4x the time.
        return self._tokens.mean_vectors(texts)


class OnnxEmbedder(_EmbedderBase):
    """all-MiniLM-L6-v2 (int8 ONNX): BERT tokens → transformer → mean over real tokens."""

    default_batch_size = 32  # larger batches pad more and gain nothing on 2 cores

    def __init__(
        self,
        path: Path,
        name: str = ONNX_MODEL,
        threads: int | None = None,
        max_tokens: int = 256,
    ) -> None:
        """``max_tokens`` 256 is what the model was trained with (its tokenizer.json says 128);
        cost grows with it, so the benchmark measures both."""
        model_file = _require(path / "model.onnx", name)
        tok_file = _require(path / "tokenizer.json", name)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self.max_tokens = max_tokens
        self._tok = Tokenizer.from_file(str(tok_file))
        self._tok.enable_truncation(max_length=self.max_tokens)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        # No busy-waiting between operators: the model shares two cores with the web server,
        # the backfill and other processes, whose CPU a spinning thread takes. 400 abstracts
        # beside one busy process: 26.2 s wall and 32.3 s CPU without spinning, 31.9 s and
        # 40.0 s with it; alone 18.3 s against 17.2 s; a query +0.3 ms at the median.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(model_file), opts, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        enc = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)


_LOADERS: dict[str, Callable[[Path], Embedder]] = {
    STATIC_MODEL: lambda p: StaticEmbedder(p, STATIC_MODEL),
    ONNX_MODEL: lambda p: OnnxEmbedder(p, ONNX_MODEL),
}
AVAILABLE = tuple(_LOADERS)

_cache: dict[str, Embedder] = {}
_lock = threading.Lock()
_query_lock = threading.Lock()
QUERY_CACHE_SIZE = 1024
"""Query vectors kept per model (1,024 of 384 floats: 1.5 MB)."""


def load_embedder(name: str | None = None, models_dir: Path | None = None) -> Embedder:
    """The named model (default: the corpus model), loaded once per process and shared.

    Raises ``KeyError`` for an unknown name and ``ModelFilesMissing`` when its files are absent.
    """
    name = name or DEFAULT_EMBEDDER
    if name not in _LOADERS:
        raise KeyError(f"unknown embedding model {name!r}; known: {', '.join(AVAILABLE)}")
    root = Path(models_dir) if models_dir is not None else MODELS_DIR
    key = f"{root}/{name}"
    with _lock:
        if key not in _cache:
            path = root / name
            if not path.is_dir():
                raise ModelFilesMissing(f"model {name!r}: directory {path} missing; {REBUILD_HINT}")
            _cache[key] = _LOADERS[name](path)
        return _cache[key]
