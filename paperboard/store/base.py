"""The one ``Store`` interface every backend implements.

Layers above the store (sources' ingest, search, web, digest) speak only this interface;
no SQL lives outside ``paperboard/store/``. Domains (accounts, vectors, digests) add their
own abstract classes in sibling modules and are mixed into ``Store`` here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from ..models import Paper
from ..search.query import ParsedQuery
from .account_recovery import AccountRecoveryStore
from .accounts import AccountStore
from .audit import AuditStore
from .digest import DigestStore
from .library import LibraryStore
from .similar_cache import SimilarCacheStore
from .tldr import TldrStore
from .vectors import VectorStore

SortOrder = Literal["upvotes", "date"]


class StoreError(Exception):
    """Base for errors a caller can show to a user as-is."""


class QuerySyntaxError(StoreError):
    """A search query the engine cannot run; the message says why."""


@dataclass(slots=True)
class PaperQuery:
    """Which papers to list. ``start``/``end`` are inclusive feed days."""

    start: date | None = None
    end: date | None = None
    organization: str | None = None
    author: str | None = None
    category: str | None = None
    submitted_by: str | None = None
    published_from: date | None = None
    published_until: date | None = None
    sort: SortOrder = "upvotes"
    limit: int = 50
    offset: int = 0
    include_hidden: bool = False


@dataclass(slots=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass(slots=True)
class SearchHit:
    paper: Paper
    score: float
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class StoreStats:
    papers: int
    days: int
    first_day: date | None
    last_day: date | None
    organizations: int
    extra: dict[str, int] = field(default_factory=dict)


class PaperStore(ABC):
    """Papers: batch-first idempotent writes and the reads the product needs."""

    @abstractmethod
    def upsert_papers(self, papers: Iterable[Paper]) -> UpsertResult:
        """Insert or merge papers in one transaction, keyed by id.

        Idempotent and order-independent: content comes from the newest (version, updated);
        the feed day is the earliest one seen; imported upvotes never decrease. An arXiv
        paper whose normalised title matches a local (``pb-``) paper takes that row over,
        keeping its votes and comments, and the local id becomes an alias.
        """

    @abstractmethod
    def get_paper(self, paper_id: str, *, include_hidden: bool = False) -> Paper | None:
        """By id or alias (local ids of merged seed cards keep working)."""

    @abstractmethod
    def get_papers(self, paper_ids: list[str]) -> dict[str, Paper]:
        """Many at once, keyed by the requested id; missing ids are absent."""

    @abstractmethod
    def list_papers(self, query: PaperQuery) -> list[Paper]: ...

    @abstractmethod
    def count_papers(self, query: PaperQuery | None = None) -> int: ...

    @abstractmethod
    def keyword_search(
        self,
        query: ParsedQuery,
        filters: PaperQuery | None = None,
        *,
        limit: int = 20,
        offset: int = 0,
        match: Literal["all", "any"] = "all",
    ) -> list[SearchHit]:
        """BM25 full-text search, best first; ``match="any"`` ORs the positive terms.

        Raises ``QuerySyntaxError`` for a query it cannot run (e.g. only exclusions).
        """

    @abstractmethod
    def feed_days(self, *, limit: int | None = None) -> list[date]:
        """Days that have papers, newest first."""

    @abstractmethod
    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        """The nearest earlier and later days that have papers."""

    @abstractmethod
    def stats(self) -> StoreStats: ...

    @abstractmethod
    def iter_paper_ids(self, *, batch_size: int = 10_000) -> Iterable[list[str]]:
        """All ids in a stable order, in batches (for index builds and copies)."""

    @abstractmethod
    def set_hidden(self, paper_id: str, hidden: bool) -> bool: ...

    # Small key/value state for resumable jobs (OAI-PMH harvest checkpoints, embed progress).
    @abstractmethod
    def get_checkpoint(self, name: str) -> str | None: ...

    @abstractmethod
    def set_checkpoint(self, name: str, value: str | None) -> None: ...


class Store(
    PaperStore, AccountStore, AccountRecoveryStore, DigestStore, VectorStore, LibraryStore, AuditStore,
    SimilarCacheStore, TldrStore, ABC,
):  # fmt: skip
    """Everything the product stores. Owns connections and transactions."""

    url: str
    IDENTITY_SQL = "(SELECT id FROM database_identity)"
    """The database's identity as an SQL expression (see ``database_id``)."""

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending schema migrations; return the names applied."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    def database_id(self) -> str:
        """This database's identity (migration 0009; ``db copy`` gives a copy its own): indexes
        kept outside the database record it, so one built for another database is never used."""
        with self._db.reader() as conn:  # type: ignore[attr-defined]
            row = conn.execute(f"SELECT {self.IDENTITY_SQL} AS id").fetchone()
        return "" if row is None else str(row["id"] if isinstance(row, dict) else row[0])

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
