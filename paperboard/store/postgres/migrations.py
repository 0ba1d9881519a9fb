"""Versioned schema migrations for PostgreSQL: ``NNNN_name.sql`` files applied once, in order.

The numbers mirror the SQLite backend's (0001 papers, 0002 accounts, ...) so both backends
describe the same schema version. DDL is transactional in PostgreSQL: each file runs in one
transaction with its ``schema_migrations`` row, so a failed migration leaves the previous
version. An advisory lock serialises migrating processes (several workers starting at once).
"""

from __future__ import annotations

import re
from importlib import resources

from .database import Database

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
MIGRATE_LOCK = 0x7062_6D69_6772_6174  # "pbmigrat": any constant unique to this purpose


def available() -> list[tuple[int, str, str]]:
    files = resources.files(__package__).joinpath("migrations")
    out = []
    for entry in files.iterdir():
        m = _NAME.match(entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    out.sort()
    versions = [v for v, _, _ in out]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"duplicate migration numbers: {versions}")
    return out


def current_version(db: Database) -> int:
    with db.reader() as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS e").fetchone()
        if not exists["e"]:
            return 0
        return conn.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").fetchone()["v"]


def migrate(db: Database) -> list[str]:
    applied: list[str] = []
    for version, name, sql in available():
        with db.writer() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (version,)).fetchone()
            if done:
                continue
            # No parameters: psycopg sends the file as one simple query, several statements.
            conn.execute(sql.encode())
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
        applied.append(f"{version:04d}_{name}")
    return applied
