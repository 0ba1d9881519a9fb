"""Open the store named by a database URL."""

from __future__ import annotations

from .base import PaperQuery, QuerySyntaxError, SearchHit, Store, StoreError, UpsertResult

__all__ = ["open_store", "PaperQuery", "QuerySyntaxError", "SearchHit", "Store", "StoreError", "UpsertResult"]


def open_store(url: str, *, migrate: bool = True, read_pool_size: int = 4, replica_urls: tuple[str, ...] = (),
               replica_max_lag: float = 5.0) -> Store:  # fmt: skip
    """``sqlite:///path`` (embedded default) or ``postgresql://…`` (production), with the
    ``replica_urls`` of its streaming replicas (PostgreSQL only) to read from."""
    if replica_urls and not url.startswith(("postgresql:", "postgres:")):
        raise StoreError("read replicas need a postgresql:// database URL (PAPERBOARD_DATABASE_REPLICA_URLS)")
    if url.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url.removeprefix("sqlite:")
        store: Store = SQLiteStore(path, read_pool_size=read_pool_size)
    elif url.startswith(("postgresql:", "postgres:")):
        try:
            from .postgres import PostgresStore  # type: ignore[import-not-found]
        except ImportError as exc:  # pragma: no cover - until the PostgreSQL backend lands
            raise StoreError(f"PostgreSQL backend unavailable: {exc}") from exc
        store = PostgresStore(url, replica_urls=tuple(replica_urls), replica_max_lag=replica_max_lag)
    else:
        raise StoreError(f"unsupported database URL {url!r}: use sqlite:///path or postgresql://…")
    if migrate:
        store.migrate()
    return store
