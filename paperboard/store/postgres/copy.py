"""Copy a SQLite installation into PostgreSQL, table by table, and prove nothing was lost.

Works on tables, not on the Store API, so every domain's data moves as it is (users'
password hashes, sessions, votes, outbox rows, vectors) without each domain writing its own
export. Tables come from the PostgreSQL schema (same migrations, same names); each column's
PostgreSQL type decides how the SQLite value is converted (JSON lists to arrays, ISO text to
timestamps, 0/1 to booleans, float32 blobs to vectors).

The whole copy is one PostgreSQL transaction: an interrupted copy leaves the target as it
was, so re-running is always safe. Afterwards every table is read back from PostgreSQL and
compared with the source: row counts and an order-independent checksum of the converted
rows (the sum of per-row hashes, so the two sides may be read in different orders).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from ..base import StoreError
from .database import Conn

SKIP_SQLITE_TABLES = ("schema_migrations", "sqlite_", "papers_fts", "paper_changes", "database_identity")
"""Bookkeeping each backend keeps itself (migrations), SQLite's own FTS5 index tables and its
change feed for the Tantivy keyword index; PostgreSQL derives ``papers.search_vector`` from
the copied columns, and its triggers record the copied papers in its own feed (migration 0008)."""
MASK = (1 << 64) - 1


@dataclass(slots=True)
class Column:
    name: str
    pg_type: str  # udt_name: text, int8, bool, timestamptz, date, _text, vector, …
    identity: bool


@dataclass(slots=True)
class TableReport:
    table: str
    columns: list[str]
    source_rows: int
    source_checksum: str
    target_rows: int = -1
    target_checksum: str = ""

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


# -- conversions: SQLite value -> PostgreSQL value ------------------------------------------
def _to_datetime(v: Any) -> datetime | None:
    if v is None or v == "":
        return None
    if isinstance(v, int | float):
        return datetime.fromtimestamp(v, UTC)
    text = str(v).replace("Z", "+00:00")
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _to_date(v: Any) -> date | None:
    if v is None or v == "":
        return None
    return date.fromisoformat(str(v)[:10])


def _to_list(v: Any) -> list[Any] | None:
    if v is None:
        return None
    value = json.loads(v) if isinstance(v, str | bytes) else v
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON list, got {str(v)[:60]!r}")
    return value


def _to_vector(v: Any) -> np.ndarray | None:
    if v is None:
        return None
    return np.frombuffer(v, dtype=np.float32) if isinstance(v, bytes) else np.asarray(_to_list(v), dtype=np.float32)


def _to_bool(v: Any) -> bool | None:
    return None if v is None else bool(int(v)) if not isinstance(v, str) else v.lower() in ("1", "t", "true")


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "timestamptz": _to_datetime,
    "date": _to_date,
    "bool": _to_bool,
    "_text": _to_list,
    "vector": _to_vector,
    "int2": lambda v: None if v is None else int(v),
    "int4": lambda v: None if v is None else int(v),
    "int8": lambda v: None if v is None else int(v),
    "float4": lambda v: None if v is None else float(v),
    "float8": lambda v: None if v is None else float(v),
    "text": lambda v: None if v is None else v if isinstance(v, str) else str(v),
    "bytea": lambda v: v,
}
"""Every column type the schema uses; another type is copied as it is (and checked)."""


def _canonical(value: Any) -> str:
    """One text form per value, whichever side it was read from (for checksums)."""
    if value is None:
        return "\x00N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return np.asarray(value, dtype=np.float32).tobytes().hex()
    if hasattr(value, "to_numpy"):  # pgvector's Vector
        return np.asarray(value.to_numpy(), dtype=np.float32).tobytes().hex()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _row_hash(values: list[Any]) -> int:
    h = hashlib.blake2b(digest_size=8)
    for v in values:
        h.update(_canonical(v).encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return int.from_bytes(h.digest(), "big")


# -- schema -------------------------------------------------------------------------------
def sqlite_tables(src: sqlite3.Connection) -> dict[str, list[str]]:
    names = [
        r[0]
        for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if not r[0].startswith(SKIP_SQLITE_TABLES)
    ]
    return {n: [r[1] for r in src.execute(f'PRAGMA table_info("{n}")')] for n in names}


def pg_columns(conn: Conn, table: str) -> list[Column]:
    rows = conn.execute(
        "SELECT column_name, udt_name, is_identity = 'YES' AS identity, is_generated = 'ALWAYS' AS generated"
        " FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s"
        " ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [Column(r["column_name"], r["udt_name"], r["identity"]) for r in rows if not r["generated"]]


def dependency_order(conn: Conn, tables: list[str]) -> list[str]:
    """Parents before children, by the foreign keys in the PostgreSQL schema."""
    edges = conn.execute(
        "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent"
        " FROM pg_constraint c WHERE c.contype = 'f'"
    ).fetchall()
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for e in edges:
        child, parent = e["child"].strip('"'), e["parent"].strip('"')
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, ps in parents.items() if not ps - set(ordered))
        if not ready:
            raise StoreError(f"circular foreign keys between {sorted(parents)}")
        for t in ready:
            ordered.append(t)
            del parents[t]
    return ordered


# -- the copy -----------------------------------------------------------------------------
def _source_rows(src: sqlite3.Connection, table: str, columns: list[str], batch: int) -> Iterator[list[tuple]]:
    cur = src.execute(f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} FROM "{table}"')
    while rows := cur.fetchmany(batch):
        yield rows


def copy_database(
    src: sqlite3.Connection,
    dst: Conn,
    *,
    replace: bool = False,
    batch_size: int = 5_000,
    progress: Callable[[str], None] = lambda _: None,
) -> list[TableReport]:
    """Copy every table of ``src`` into ``dst`` (inside the caller's transaction).

    Returns per-table reports with the source side filled in; ``verify`` adds the target's.
    """
    source = sqlite_tables(src)
    missing = [t for t in source if not pg_columns(dst, t)]
    if missing:
        raise StoreError(f"tables missing in PostgreSQL (are both at the same schema version?): {missing}")
    order = dependency_order(dst, list(source))
    occupied = {t: dst.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(t))).fetchone()
                for t in order}  # fmt: skip
    nonempty = [t for t, row in occupied.items() if next(iter(row.values()))]
    if nonempty and not replace:
        raise StoreError(
            f"the target already has data in {', '.join(nonempty)}: use an empty database, or --replace"
            " to overwrite it with the source (e.g. when re-running a copy)"
        )
    if nonempty:
        dst.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, order)))
        )

    reports: list[TableReport] = []
    for table in order:
        columns = pg_columns(dst, table)
        src_cols = set(source[table])
        lost = src_cols - {c.name for c in columns}
        if lost:
            raise StoreError(f"{table}: columns {sorted(lost)} have no place in PostgreSQL; nothing was copied")
        cols = [c for c in columns if c.name in src_cols]
        converters = [_CONVERT.get(c.pg_type, lambda v: v) for c in cols]
        count, total = 0, 0
        names = sql.SQL(", ").join(sql.Identifier(c.name) for c in cols)
        with dst.cursor() as cur, cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), names)
        ) as copy:
            for rows in _source_rows(src, table, [c.name for c in cols], batch_size):
                for row in rows:
                    try:
                        values = [f(v) for f, v in zip(converters, row, strict=True)]
                    except (TypeError, ValueError) as exc:
                        raise StoreError(f"{table}: cannot convert row {row[:3]!r}…: {exc}") from exc
                    copy.write_row([_copy_value(v) for v in values])
                    total = (total + _row_hash(values)) & MASK
                    count += 1
                progress(f"{table}: {count} rows")
        for c in cols:
            if c.identity:
                dst.execute(
                    sql.SQL("SELECT setval(pg_get_serial_sequence({t}, {c}), COALESCE(MAX({ci}), 0) + 1, false)"
                            " FROM {ti}").format(  # fmt: skip
                        t=sql.Literal(table), c=sql.Literal(c.name), ci=sql.Identifier(c.name), ti=sql.Identifier(table)
                    )
                )
        reports.append(TableReport(table, [c.name for c in cols], count, f"{total:016x}"))
    # The copy is a database of its own: indexes built for what this database held before
    # (or for the source, whose vectors' epochs came along in checkpoints) must not be used.
    dst.execute("UPDATE database_identity SET id = replace(gen_random_uuid()::text, '-', '')")
    dst.execute("ANALYZE")
    return reports


def _copy_value(v: Any) -> Any:
    # A vector goes into COPY as pgvector's text form; float32 -> repr -> float32 is exact.
    if isinstance(v, np.ndarray):
        return "[" + ",".join(repr(float(x)) for x in v) + "]"
    return v


def verify(dst: Conn, reports: list[TableReport], batch_size: int = 5_000) -> list[TableReport]:
    """Read every copied table back from PostgreSQL and fill in the target side."""
    for rep in reports:
        cols = rep.columns
        count, total = 0, 0
        with dst.cursor(name=f"verify_{rep.table}") as cur:
            cur.itersize = batch_size
            cur.execute(
                sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier(rep.table)
                )
            )
            for row in cur:
                total = (total + _row_hash([row[c] for c in cols])) & MASK
                count += 1
        rep.target_rows = count
        rep.target_checksum = f"{total:016x}"
    return reports



def copy_store(source: Any, target: Any, *, replace: bool = False, batch_size: int = 5_000,
               progress: Callable[[str], None] = lambda _: None) -> list[TableReport]:  # fmt: skip
    """SQLiteStore -> PostgresStore: both migrated to the same version, copied, read back."""
    from ..sqlite import SQLiteStore
    from . import PostgresStore
    from .vectors import _vector_conn

    if not isinstance(source, SQLiteStore) or not isinstance(target, PostgresStore):
        raise StoreError("db copy moves a SQLite store (sqlite:///…) into PostgreSQL (postgresql://…)")
    if source.schema_version() != target.schema_version():
        raise StoreError(
            f"schema versions differ (source {source.schema_version()}, target {target.schema_version()}):"
            " upgrade paperboard so both are migrated to the same version"
        )
    try:
        with source._db.reader() as src, target._db.transaction() as dst:
            reports = copy_database(src, dst, replace=replace, batch_size=batch_size, progress=progress)
        with target._db.transaction() as dst:
            return verify(_vector_conn(dst), reports, batch_size)
    except psycopg.Error as exc:
        raise StoreError(f"copy failed, the target is unchanged: {exc}".strip()) from exc
