"""The production backend: PostgreSQL (psycopg 3, a connection pool per process)."""

from __future__ import annotations

from ..base import Store
from ..sql import POSTGRES
from . import migrations
from .accounts import PostgresAccounts
from .changes import PostgresChanges
from .database import IDENTITY_SQL, Database, redact
from .digest import PostgresDigest
from .papers import PostgresPapers
from .vectors import PostgresVectors


class PostgresStore(PostgresPapers, PostgresChanges, PostgresAccounts, PostgresDigest, PostgresVectors, Store):
    IDENTITY_SQL = IDENTITY_SQL
    _dialect = POSTGRES

    def __init__(self, url: str, *, pool_size: int = 10, replica_urls: tuple[str, ...] = (),
                 replica_max_lag: float = 5.0) -> None:  # fmt: skip
        self.url = url
        self.replica_max_lag = replica_max_lag
        self._db = Database(url, pool_size=pool_size, replica_urls=replica_urls, replica_max_lag=replica_max_lag)

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.url)!r})"

    def migrate(self) -> list[str]:
        return migrations.migrate(self._db)

    def schema_version(self) -> int:
        return migrations.current_version(self._db)

    def replica_status(self) -> list[dict]:
        """Each read replica's state in this process ([] without replicas)."""
        return self._db.replica_status()

    def close(self) -> None:
        self._db.close()
