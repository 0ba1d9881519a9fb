"""Nearest-neighbour search over one model's paper vectors, kept in step with the store.

Small corpora are searched exactly (a numpy matrix product is faster than any index below
~20k vectors and has perfect recall). Larger ones use an HNSW graph (faiss, fp16) saved next
to the database so a restart does not rebuild it. The store is the source of truth: each
vector has a write sequence number, the index remembers the highest it holds and catches up
incrementally; a missing, corrupt or mismatched index file is rebuilt from the store.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import numpy as np

from ..store.vectors import VectorStore
from .child_build import build_in_child

log = logging.getLogger(__name__)

EXACT_LIMIT = 20_000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
HNSW_EF_SEARCH = 256
"""At least this many nodes explored per query (2 x the candidates asked for, when more):
the first stage takes 100 candidates, and a lower ef loses hits an exact scan finds
(bench/search_speed.py prints recall@10 against the exact scan beside the latency)."""
FORMAT = "faiss-hnsw-fp16"
DEAD_SHARE = 0.2
"""Rebuild the graph from the store when this share of its entries are re-embedded papers'
dead ones (faiss cannot replace a vector in place)."""
REFRESH_SECONDS = 1.0
BUILD_IN_CHILD_ABOVE = 100_000
"""An HNSW graph this large is built in a child process and loaded from its file: building
leaves hundreds of MB of freed-but-kept memory behind (measured at 1M: peak 1.82 GB when
built in-process, 1.36 GB when loaded), which a server should not carry."""


class _Exact:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.keys = np.empty(0, dtype=np.int64)
        self.matrix = np.empty((0, dim), dtype=np.float32)
        self.row_of: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        fresh_keys, fresh_rows = [], []
        for i, key in enumerate(keys.tolist()):
            row = self.row_of.get(key)
            if row is None:
                self.row_of[key] = len(self.keys) + len(fresh_keys)
                fresh_keys.append(key)
                fresh_rows.append(vectors[i])
            else:
                self.matrix[row] = vectors[i]
        if fresh_keys:
            self.keys = np.concatenate([self.keys, np.asarray(fresh_keys, dtype=np.int64)])
            self.matrix = np.vstack([self.matrix, np.asarray(fresh_rows, dtype=np.float32)])

    def vectors(self, keys: list[int]) -> dict[int, np.ndarray]:
        return {k: self.matrix[self.row_of[k]] for k in keys if k in self.row_of}

    def search_among(self, query: np.ndarray, k: int, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray([self.row_of[key] for key in keys.tolist() if key in self.row_of], dtype=np.int64)
        if not len(rows):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        return _top(self.keys[rows], self.matrix[rows] @ query, k)

    def search_mask(self, query: np.ndarray, k: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        held = self.keys < len(mask)
        held[held] = mask[self.keys[held]]
        return _top(self.keys[held], self.matrix[held] @ query, k)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not len(self.keys):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores = self.matrix @ query
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return self.keys[top], scores[top]


class _Hnsw:
    """A faiss HNSW graph over fp16 vectors, with the paper keys kept beside it.

    fp16 halves float32's memory (1M x 384 dims: 0.77 GB instead of 1.54 GB) with cosines
    exact to ~1e-3, and needs no training (an 8-bit quantizer learns per-dimension ranges
    from the first vectors and clips later ones). faiss numbers its vectors 0..n-1 and cannot
    replace one, so a re-embedded paper gets a new entry and its old one is marked dead and
    filtered out of results; the index is rebuilt when dead entries pile up.
    """

    def __init__(self, dim: int, capacity: int = 0) -> None:
        import faiss

        self.dim = dim
        self.index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        self.labels = np.empty(0, dtype=np.int64)
        """Entry -> paper key, -1 for a dead entry."""
        self.slot = np.empty(0, dtype=np.int64)
        """Paper key -> its live entry, -1 for none (keys are small dense integers: rowids)."""
        self.live = 0

    @classmethod
    def load(cls, path: Path, dim: int, labels_path: Path | None = None) -> _Hnsw:
        import faiss

        self = cls.__new__(cls)
        self.dim = dim
        self.index = faiss.read_index(str(path))
        if self.index.d != dim:
            raise ValueError(f"index has {self.index.d} dimensions, expected {dim}")
        self.labels = np.load(labels_path if labels_path is not None else _labels_path(path), allow_pickle=False)
        if len(self.labels) != self.index.ntotal:
            raise ValueError("index and its labels differ in length")
        live = self.labels >= 0
        self.live = int(live.sum())
        self.slot = np.full(int(self.labels.max(initial=-1)) + 1, -1, dtype=np.int64)
        self.slot[self.labels[live]] = np.flatnonzero(live)
        return self

    def __len__(self) -> int:
        return self.live

    @property
    def dead(self) -> int:
        return len(self.labels) - self.live

    def _slots_of(self, keys: np.ndarray) -> np.ndarray:
        out = np.full(len(keys), -1, dtype=np.int64)
        inside = (keys >= 0) & (keys < len(self.slot))
        out[inside] = self.slot[keys[inside]]
        return out

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        # A key twice in one batch: its last vector wins, as a replacement would.
        _, last = np.unique(keys[::-1], return_index=True)
        pick = np.sort(len(keys) - 1 - last)
        keys, vectors = keys[pick], np.ascontiguousarray(np.asarray(vectors, dtype=np.float32)[pick])
        old = self._slots_of(keys)
        self.labels[old[old >= 0]] = -1
        self.live -= int((old >= 0).sum())
        start = len(self.labels)
        self.index.add(vectors)
        self.labels = np.concatenate([self.labels, keys])
        top = int(keys.max(initial=-1)) + 1
        if top > len(self.slot):
            self.slot = np.concatenate([self.slot, np.full(max(top - len(self.slot), len(self.slot) // 2), -1, dtype=np.int64)])
        self.slot[keys] = np.arange(start, start + len(keys), dtype=np.int64)
        self.live += len(keys)

    def vectors(self, keys: list[int]) -> dict[int, np.ndarray]:
        arr = np.asarray(keys, dtype=np.int64)
        slots = self._slots_of(arr)
        held = slots >= 0
        if not held.any():
            return {}
        rows = self.index.storage.reconstruct_batch(slots[held])
        return dict(zip(arr[held].tolist(), np.asarray(rows, dtype=np.float32), strict=True))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        total = len(self.labels)
        if not self.live:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        fetch = min(total, k + min(self.dead, 4 * k))  # room for dead entries to drop out
        params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, 2 * fetch))
        scores, found = self.index.search(query.reshape(1, -1).astype(np.float32), fetch, params=params)
        found, scores = found[0], scores[0]
        keys = np.where(found >= 0, self.labels[np.maximum(found, 0)], -1)
        keep = keys >= 0
        return keys[keep][:k], scores[keep][:k].astype(np.float32)

    def search_among(self, query: np.ndarray, k: int, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k among these papers: their fp16 codes picked from the storage in place
        and decoded by faiss, scored in float32."""
        import faiss

        slots = self._slots_of(np.asarray(keys, dtype=np.int64))
        slots = np.sort(slots[slots >= 0])
        if not len(slots):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        storage = faiss.downcast_index(self.index.storage)
        codes = faiss.rev_swig_ptr(storage.codes.data(), storage.ntotal * storage.code_size)
        picked = np.take(codes.reshape(storage.ntotal, storage.code_size), slots, axis=0)
        rows = np.empty((len(slots), self.dim), dtype=np.float32)
        storage.sa_decode_c(len(slots), faiss.swig_ptr(picked), faiss.swig_ptr(rows))  # numpy's fp16 cast is 10x slower
        # einsum, not BLAS: OpenBLAS's threads spin on a busy machine (5,000 rows: 0.9 ms vs 20 ms)
        return _top(self.labels[slots], np.einsum("ij,j->i", rows, query), k)

    def search_mask(self, query: np.ndarray, k: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k among the papers whose key is set in ``mask`` (a bool array by key): the
        fp16 storage scanned in place by faiss with a bitmap of the passing entries, so no code
        is copied or decoded to float32 (at 1M papers, 20k passing: ~5 ms, where picking and
        decoding them takes ~15 ms; bench/search_speed.py)."""
        import faiss

        slots = self._slots_of(np.flatnonzero(mask))
        slots = slots[slots >= 0]
        total = len(self.labels)
        if not len(slots) or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        chosen = np.zeros(total, dtype=bool)
        chosen[slots] = True
        bits = np.packbits(chosen, bitorder="little")
        params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(total, faiss.swig_ptr(bits)))
        k = min(k, len(slots))
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # one query is one thread's work: another would only spin, waiting
        try:
            scores, found = self.index.storage.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        found, scores = found[0], scores[0]
        keep = found >= 0
        return self.labels[found[keep]], scores[keep].astype(np.float32)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))
        labels = _labels_path(path)
        with open(labels, "wb") as f:  # np.save would append ".npy" to a tmp name
            np.save(f, self.labels, allow_pickle=False)


def _top(keys: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return keys[top], scores[top].astype(np.float32)


def _labels_path(path: Path) -> Path:
    return Path(str(path) + ".labels")


class VectorIndex:
    """One model's vectors; thread-safe; call ``search`` freely, it refreshes itself."""

    in_process = True
    """The vectors are in this process's memory: a filter's bitmap of them can be scanned."""

    def __init__(
        self, store: VectorStore, model: str, index_dir: Path | None, *, exact_limit: int | None = None
    ) -> None:
        self.store = store
        self.model = model
        self.index_dir = index_dir
        self.exact_limit = EXACT_LIMIT if exact_limit is None else exact_limit
        self._impl: _Exact | _Hnsw | None = None
        self._seq = 0
        self._epoch = ""
        self._added_since_save = 0
        self._checked_at = 0.0
        self._is_build_child = False
        self._lock = threading.RLock()
        self.loaded = False
        """True once a refresh has read every vector there was (``/readyz``: loaded, not loading)."""

    # -- files --------------------------------------------------------------------------
    @property
    def _meta_path(self) -> Path | None:
        return self.index_dir / f"{self.model}.json" if self.index_dir else None

    def _load(self, count: int, max_seq: int, epoch: str) -> bool:
        meta_path = self._meta_path
        if meta_path is None or not meta_path.exists():
            return False
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("format") != FORMAT:
                raise ValueError(f"index format {meta.get('format')!r}, this version reads {FORMAT!r}")
            if meta["model"] != self.model or meta["epoch"] != epoch or meta["max_seq"] > max_seq:
                raise ValueError("index does not belong to these vectors (they were rebuilt)")
            impl = _Hnsw.load(meta_path.parent / meta["file"], int(meta["dim"]))
            if len(impl) != meta["count"]:
                raise ValueError("index file does not match its metadata")
        except Exception as exc:  # corrupt, truncated or stale: rebuild, never crash
            log.warning("search index %s unusable (%s): rebuilding from the store", meta_path, exc)
            return False
        self._impl, self._seq = impl, int(meta["max_seq"])
        return True

    def save(self) -> None:
        """Write the HNSW graph atomically (exact mode keeps nothing on disk)."""
        with self._lock:
            if not isinstance(self._impl, _Hnsw) or self._meta_path is None:
                return
            self.index_dir.mkdir(parents=True, exist_ok=True)
            name = f"{self.model}-{self._seq}.hnsw"
            tmp = self.index_dir / (name + f".tmp{os.getpid()}")
            self._impl.save(tmp)
            os.replace(_labels_path(tmp), _labels_path(self.index_dir / name))
            os.replace(tmp, self.index_dir / name)
            meta = {
                "format": FORMAT, "model": self.model, "epoch": self._epoch, "dim": self._impl.dim,
                "count": len(self._impl), "max_seq": self._seq, "file": name,
            }  # fmt: skip
            tmp_meta = self._meta_path.with_suffix(f".tmp{os.getpid()}")
            tmp_meta.write_text(json.dumps(meta))
            os.replace(tmp_meta, self._meta_path)
            for old in [*self.index_dir.glob(f"{self.model}-*.hnsw"), *self.index_dir.glob(f"{self.model}-*.hnsw.labels")]:
                if old.name not in (name, _labels_path(Path(name)).name):
                    old.unlink(missing_ok=True)
            self._added_since_save = 0

    # -- keeping up with the store ------------------------------------------------------
    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < REFRESH_SECONDS and self._impl is not None:
            return
        with self._lock:
            self._checked_at = now
            max_seq, epoch = self.store.vector_head(self.model)
            if self._impl is not None and max_seq == self._seq and epoch == self._epoch:
                return
            count, max_seq, epoch = self.store.vector_stats(self.model)
            # Vectors deleted in bulk (a rebuild) or an exact index outgrown: start over.
            # A paper whose text changed keeps its old vector here until it is re-embedded
            # (same key, replaced in place), so ordinary updates never force a rebuild.
            outgrown = isinstance(self._impl, _Exact) and count > self.exact_limit
            worn = isinstance(self._impl, _Hnsw) and self._impl.dead > DEAD_SHARE * max(len(self._impl), 1000)
            if self._impl is None or epoch != self._epoch or max_seq < self._seq or outgrown or worn:
                self._impl, self._seq, self._epoch = None, 0, epoch
                if count > self.exact_limit:
                    loaded = self._load(count, max_seq, epoch)
                    if not loaded and self._should_build_in_child(count):
                        # On failure the graph is built here instead, as for a small corpus.
                        args = (self.store.url, self.model, str(self.index_dir), self.exact_limit)
                        if build_in_child(_build_child, args, "vector index"):
                            self._load(count, *self.store.vector_stats(self.model)[1:])
            self._catch_up(count)
            self.loaded = True

    def _should_build_in_child(self, count: int) -> bool:
        return count >= BUILD_IN_CHILD_ABOVE and self._meta_path is not None and not self._is_build_child

    def _catch_up(self, count: int) -> None:
        for batch in self.store.iter_vectors(self.model, after_seq=self._seq):
            if self._impl is None:
                dim = batch.vectors.shape[1]
                self._impl = _Hnsw(dim, int(count * 1.2)) if count > self.exact_limit else _Exact(dim)
            self._impl.add(batch.keys, batch.vectors)
            self._seq = int(batch.seqs[-1])
            self._added_since_save += len(batch.keys)
        if isinstance(self._impl, _Hnsw) and self._added_since_save > max(1000, len(self._impl) // 100):
            self.save()

    # -- queries ------------------------------------------------------------------------
    def __len__(self) -> int:
        self.refresh()
        return len(self._impl) if self._impl is not None else 0

    def vectors(self, keys: list[int]) -> dict[int, np.ndarray]:
        """The vectors the index holds for these keys (a memory read, no database trip)."""
        self.refresh()
        with self._lock:
            return self._impl.vectors([int(k) for k in keys]) if self._impl is not None else {}

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (key, cosine) for a normalised query vector, best first."""
        self.refresh()
        with self._lock:
            if self._impl is None or k <= 0:
                return []
            keys, scores = self._impl.search(np.asarray(query, dtype=np.float32), k)
        return list(zip(keys.tolist(), scores.tolist(), strict=True))

    def search_among(self, query: np.ndarray, k: int, keys) -> list[tuple[int, float]]:
        """Exact top-k (key, cosine) among these papers' vectors, best first: a filtered
        search whose filter leaves few papers (a graph search would have to walk past
        nearly every node to find them)."""
        self.refresh()
        with self._lock:
            if self._impl is None or k <= 0:
                return []
            found, scores = self._impl.search_among(np.asarray(query, dtype=np.float32), k, np.asarray(keys, dtype=np.int64))
        return list(zip(found.tolist(), scores.tolist(), strict=True))


    def search_mask(self, query: np.ndarray, k: int, mask: np.ndarray) -> list[tuple[int, float]]:
        """Exact top-k (key, cosine) among the papers set in ``mask`` (bool array by key), best
        first: a filter that leaves too many papers to list, too few for the graph to find."""
        self.refresh()
        with self._lock:
            if self._impl is None or k <= 0:
                return []
            found, scores = self._impl.search_mask(np.asarray(query, dtype=np.float32), k, np.asarray(mask, dtype=bool))
        return list(zip(found.tolist(), scores.tolist(), strict=True))


def _build_child(url: str, model: str, index_dir: str, exact_limit: int) -> None:
    from ..store import open_store

    store = open_store(url)
    try:
        index = VectorIndex(store, model, Path(index_dir), exact_limit=exact_limit)
        index._is_build_child = True
        index.refresh(force=True)
        index.save()
    finally:
        store.close()
