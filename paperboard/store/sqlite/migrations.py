"""Versioned schema migrations: numbered ``NNNN_name.sql`` files applied once, in order.

Each file runs in its own transaction together with its row in ``schema_migrations``, so
an interrupted migration leaves the database at the previous version, never in between.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources

from .database import Database

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


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
        row = conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
        ).fetchone()
        if row is None:
            return 0
        return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(db: Database) -> list[str]:
    applied: list[str] = []
    with db.writer() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    for version, name, sql in available():
        with db.writer() as conn:
            done = conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone()
            if done:
                continue
            for statement in split_statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, datetime.now(UTC).isoformat()),
            )
        applied.append(f"{version:04d}_{name}")
    return applied


def split_statements(sql: str) -> list[str]:
    """Split a migration file on ``;`` at statement ends, keeping trigger bodies whole."""
    statements, buf = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--") and not buf:
            continue
        buf.append(line)
        candidate = "\n".join(buf).strip()
        if candidate.endswith(";") and __import__("sqlite3").complete_statement(candidate):
            statements.append(candidate)
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        statements.append(rest)
    return statements
