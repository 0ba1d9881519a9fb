"""The embedded default backend: one SQLite file in WAL mode."""

from __future__ import annotations

from pathlib import Path

from ..base import Store
from ..sql import SQLITE
from . import migrations
from .accounts import SQLiteAccounts
from .changes import SQLiteChanges
from .database import Database
from .digest import SQLiteDigest
from .papers import SQLitePapers
from .termstats import TermStats
from .vectors import SQLiteVectors


class SQLiteStore(SQLitePapers, SQLiteAccounts, SQLiteDigest, SQLiteVectors, SQLiteChanges, Store):
    _dialect = SQLITE

    def __init__(self, path: str | Path, *, read_pool_size: int = 4) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._db = Database(self.path, read_pool_size=read_pool_size)
        self._term_stats = TermStats()

    def migrate(self) -> list[str]:
        return migrations.migrate(self._db)

    def schema_version(self) -> int:
        return migrations.current_version(self._db)

    def close(self) -> None:
        self._db.close()
