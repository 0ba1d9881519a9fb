"""Paper vectors: the store keeps them so any process can (re)build its search index.

Each vector gets a sequence number when written; an index remembers the highest sequence
it holds and catches up with ``iter_vectors(after_seq=…)``, so updates are incremental and
a missing or corrupt index file is rebuilt from the store alone. A paper whose title or
abstract changes loses its vectors (the store deletes them in the same transaction), so
``papers_without_vectors`` is exactly the work ``paperboard embed`` has left.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..models import Paper


@dataclass(frozen=True, slots=True)
class EmbedTask:
    key: int
    """The paper's stable integer key (survives a seed card's id change): index labels."""
    paper_id: str
    title: str
    abstract: str


@dataclass(frozen=True, slots=True)
class VectorBatch:
    keys: np.ndarray  # int64
    seqs: np.ndarray  # int64
    vectors: np.ndarray  # float32, one row per key


class VectorStore(ABC):
    @abstractmethod
    def papers_without_vectors(self, model: str, *, limit: int = 1000, after_key: int = 0) -> list[EmbedTask]:
        """Papers (hidden ones included) that have no vector for ``model``, by key."""

    @abstractmethod
    def count_without_vectors(self, model: str) -> int: ...

    @abstractmethod
    def put_vectors(self, model: str, keys: list[int], vectors: np.ndarray) -> int:
        """Store float32 rows (replacing old ones) in one transaction; return the last seq."""

    @abstractmethod
    def iter_vectors(self, model: str, *, after_seq: int = 0, batch_size: int = 20_000) -> Iterator[VectorBatch]:
        """Vectors written after ``after_seq``, in seq order."""

    @abstractmethod
    def get_vectors(self, model: str, keys: list[int]) -> dict[int, np.ndarray]: ...

    @abstractmethod
    def vector_stats(self, model: str) -> tuple[int, int, str]:
        """(count, max seq, epoch) of the model's vectors: what an index compares itself with.

        The epoch changes when the model's vectors are deleted in bulk, so an index built
        before a rebuild is never mistaken for one of the new vectors."""

    @abstractmethod
    def vector_head(self, model: str) -> tuple[int, str]:
        """(max seq, epoch): ``vector_stats`` without the count, which walks every vector
        (90 ms at 1M papers). An index asks this every second; it counts only on a change."""

    @abstractmethod
    def delete_vectors(self, model: str) -> int: ...

    @abstractmethod
    def paper_keys(self, paper_ids: list[str]) -> dict[str, int]:
        """Keys of papers by id or alias; unknown ids are absent."""

    @abstractmethod
    def papers_by_keys(self, keys: list[int]) -> dict[int, Paper]:
        """Visible papers by key; hidden and unknown keys are absent."""
