"""Nearest-neighbour search over one model's paper vectors, kept in step with the store.

Small corpora are searched exactly (a numpy matrix product is faster than any index below
~20k vectors and has perfect recall). Larger ones use an HNSW graph (hnswlib) saved next
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
HNSW_EF_SEARCH = 96
"""Measured on the arxiv-daily corpus by bench/search_speed.py: recall@10 ≥ 0.95 at ~1 ms."""
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

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not len(self.keys):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores = self.matrix @ query
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return self.keys[top], scores[top]


class _Hnsw:
    def __init__(self, dim: int, capacity: int) -> None:
        import hnswlib

        self.dim = dim
        self.index = hnswlib.Index(space="ip", dim=dim)
        self.index.init_index(max_elements=max(capacity, 1024), ef_construction=HNSW_EF_CONSTRUCTION, M=HNSW_M)
        self.index.set_ef(HNSW_EF_SEARCH)

    @classmethod
    def load(cls, path: Path, dim: int) -> _Hnsw:
        import hnswlib

        self = cls.__new__(cls)
        self.dim = dim
        self.index = hnswlib.Index(space="ip", dim=dim)
        self.index.load_index(str(path))
        self.index.set_ef(HNSW_EF_SEARCH)
        return self

    def __len__(self) -> int:
        return self.index.get_current_count()

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        needed = len(self) + len(keys)
        if needed > self.index.get_max_elements():
            self.index.resize_index(max(needed, int(self.index.get_max_elements() * 1.5)))
        # hnswlib replaces the vector of a label it already holds. Bulk builds use every
        # core; a trickle of new papers is added on the caller's thread.
        self.index.add_items(vectors, keys, num_threads=-1 if len(keys) > 1000 else 1)

    def vectors(self, keys: list[int]) -> dict[int, np.ndarray]:
        if not keys:
            return {}
        try:
            rows = self.index.get_items(keys)
            return dict(zip(keys, np.asarray(rows, dtype=np.float32), strict=True))
        except RuntimeError:  # a key not (yet) embedded: look them up one by one
            out = {}
            for k in keys:
                try:
                    out[k] = np.asarray(self.index.get_items([k])[0], dtype=np.float32)
                except RuntimeError:
                    pass
            return out

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self)
        if not n:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        k = min(k, n)
        self.index.set_ef(max(HNSW_EF_SEARCH, k))
        labels, distances = self.index.knn_query(query.reshape(1, -1), k=k, num_threads=1)
        return labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)

    def save(self, path: Path) -> None:
        self.index.save_index(str(path))


class VectorIndex:
    """One model's vectors; thread-safe; call ``search`` freely, it refreshes itself."""

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
            os.replace(tmp, self.index_dir / name)
            meta = {
                "model": self.model, "epoch": self._epoch, "dim": self._impl.dim,
                "count": len(self._impl), "max_seq": self._seq, "file": name,
            }  # fmt: skip
            tmp_meta = self._meta_path.with_suffix(f".tmp{os.getpid()}")
            tmp_meta.write_text(json.dumps(meta))
            os.replace(tmp_meta, self._meta_path)
            for old in self.index_dir.glob(f"{self.model}-*.hnsw"):
                if old.name != name:
                    old.unlink(missing_ok=True)
            self._added_since_save = 0

    # -- keeping up with the store ------------------------------------------------------
    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < REFRESH_SECONDS and self._impl is not None:
            return
        with self._lock:
            self._checked_at = now
            count, max_seq, epoch = self.store.vector_stats(self.model)
            if self._impl is not None and max_seq == self._seq and epoch == self._epoch:
                return
            # Vectors deleted in bulk (a rebuild) or an exact index outgrown: start over.
            # A paper whose text changed keeps its old vector here until it is re-embedded
            # (same key, replaced in place), so ordinary updates never force a rebuild.
            outgrown = isinstance(self._impl, _Exact) and count > self.exact_limit
            if self._impl is None or epoch != self._epoch or max_seq < self._seq or outgrown:
                self._impl, self._seq, self._epoch = None, 0, epoch
                if count > self.exact_limit:
                    loaded = self._load(count, max_seq, epoch)
                    if not loaded and self._should_build_in_child(count):
                        # On failure the graph is built here instead, as for a small corpus.
                        args = (self.store.url, self.model, str(self.index_dir), self.exact_limit)
                        if build_in_child(_build_child, args, "vector index"):
                            self._load(count, *self.store.vector_stats(self.model)[1:])
            self._catch_up(count)

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
