"""SQLite's side of backups (store/backup.py): snapshot, atomic restore, integrity checks.

Snapshot: SQLite's online backup API copying every page in one step, i.e. inside one read
transaction. In WAL mode that transaction sees one committed state and never blocks the
writer, so the site keeps serving and writing while it runs. The copy is switched to
rollback-journal mode (one self-contained file), and the manifest's table checksums are
computed from the copy itself: they describe exactly the snapshot, whatever was committed
meanwhile.

Restore: the backup file is opened read-only (``immutable``) and its tables are checked
against the manifest *before* the target is touched; then the backup API copies it into the
target in one write transaction (other connections see all of it or none of it), and the
target's tables are checked again. Should that second check fail, the target's previous
(empty) pages, kept in memory, are copied back.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from ..backup import (
    BOOKKEEPING,
    MASK,
    NOT_CONTENT,
    BackupError,
    Finding,
    Manifest,
    NotEmptyError,
    Snapshot,
    TableSum,
    compare,
    mismatch_lines,
    sqlite_path,
)
from .database import BUSY_TIMEOUT_MS

_TAG = {type(None): b"n", int: b"i", float: b"f", str: b"s", bytes: b"b"}


def _value_bytes(value: object) -> bytes:
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
    elif isinstance(value, bytes):
        data = value
    elif value is None:
        data = b""
    else:  # int, float: repr is exact (a float's repr reads back to the same double)
        data = repr(value).encode()
    return _TAG[type(value)] + len(data).to_bytes(8, "little") + data


def _row_hash(row: tuple) -> int:
    h = hashlib.blake2b(digest_size=8)
    for value in row:
        h.update(_value_bytes(value))
    return int.from_bytes(h.digest(), "big")


def content_tables(conn: sqlite3.Connection) -> list[str]:
    """Every ordinary table (FTS5's shadow tables included: they are the index's pages);
    not SQLite's internals, not virtual tables (their rows live in other tables)."""
    return [
        name
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if not name.startswith("sqlite_") and not (sql or "").upper().startswith("CREATE VIRTUAL")
        and name not in NOT_CONTENT
    ]


def table_sums(conn: sqlite3.Connection) -> dict[str, TableSum]:
    """Row count and an order-independent checksum (sum of 64-bit row hashes) per table."""
    out = {}
    for table in content_tables(conn):
        count, total = 0, 0
        cur = conn.execute(f'SELECT * FROM "{table}"')
        while rows := cur.fetchmany(5_000):
            for row in rows:
                total = (total + _row_hash(tuple(row))) & MASK
            count += len(rows)
        out[table] = TableSum(count, f"{total:016x}")
    return out


def _connect(target: str | Path, **kwargs) -> sqlite3.Connection:
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, **kwargs)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _schema_version(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _database_id(conn: sqlite3.Connection) -> str:
    try:
        row = conn.execute("SELECT id FROM database_identity").fetchone()
    except sqlite3.OperationalError:
        return ""
    return "" if row is None else str(row[0])


def snapshot(url: str, dest: Path) -> Snapshot:
    source = sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"no SQLite store at {source}")
    src = _connect(source)
    try:
        src.execute("PRAGMA query_only = 1")
        dst = _connect(dest)
        try:
            src.backup(dst)  # pages=-1: all pages in one step, one read transaction
            dst.execute("PRAGMA journal_mode = DELETE")
            return Snapshot(_schema_version(dst), _database_id(dst), table_sums(dst))
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite backup failed: {exc}") from None
    finally:
        src.close()


def _tables_with_data(conn: sqlite3.Connection) -> list[str]:
    """The tables holding data (beyond what a freshly migrated store has)."""
    return [
        t for t in content_tables(conn)
        if t not in BOOKKEEPING and not t.startswith("papers_fts")
        and conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{t}")').fetchone()[0]
    ]  # fmt: skip


def restore(url: str, data: Path, manifest: Manifest) -> dict[str, TableSum]:
    target = sqlite_path(url)
    try:
        src = _connect(data.absolute().as_uri() + "?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {data}: {exc}; nothing was restored") from None
    try:
        try:
            version = _schema_version(src)
            found = table_sums(src)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{data} is not a readable SQLite database ({exc}); nothing was restored") from None
        if version != manifest.schema_version:
            raise BackupError(f"{data} is at schema version {version}, its manifest says {manifest.schema_version}")
        checks = compare(manifest.tables, found)
        if not all(c.ok for c in checks):
            raise BackupError(f"the backup does not match its manifest: {mismatch_lines(checks)}; nothing was restored")

        target.parent.mkdir(parents=True, exist_ok=True)
        dst = _connect(target)
        try:
            busy = _tables_with_data(dst)
            if busy:
                raise NotEmptyError(
                    f"{target} is not empty (data in {', '.join(busy)}): restore into a new path or an empty store"
                )
            before = sqlite3.connect(":memory:")
            try:
                dst.backup(before)
                src.backup(dst)
                after = table_sums(dst)
                checks = compare(manifest.tables, after)
                if not all(c.ok for c in checks):
                    before.backup(dst)
                    raise BackupError(f"the restored store does not match the manifest: {mismatch_lines(checks)};"
                                      " the store was put back as it was")  # fmt: skip
            finally:
                before.close()
            dst.execute("PRAGMA journal_mode = WAL")
            # A database of its own: indexes built for the original must not be used for it.
            dst.execute("UPDATE database_identity SET id = lower(hex(randomblob(16)))")
            return after
        finally:
            dst.close()
    finally:
        src.close()


def integrity(url: str) -> list[Finding]:
    """``PRAGMA integrity_check`` (every page, index and constraint), ``foreign_key_check``,
    and FTS5's own ``integrity-check`` (the full-text index against the papers it indexes)."""
    path = sqlite_path(url)
    if not path.is_file():
        raise BackupError(f"no SQLite store at {path}")
    conn = _connect(path)
    findings = []
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        findings.append(
            Finding("sqlite integrity_check", "ok", "ok") if rows == ["ok"]
            else Finding("sqlite integrity_check", "fail", "; ".join(rows[:20]) + (" …" if len(rows) > 20 else ""))
        )  # fmt: skip
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
        if orphans:
            by_table: dict[str, int] = {}
            for table, _rowid, parent, _fk in orphans:
                by_table[f"{table} -> {parent}"] = by_table.get(f"{table} -> {parent}", 0) + 1
            detail = ", ".join(f"{k}: {n} rows" for k, n in sorted(by_table.items()))
            findings.append(Finding("sqlite foreign_key_check", "fail", f"rows pointing at nothing: {detail}"))
        else:
            findings.append(Finding("sqlite foreign_key_check", "ok", "every reference resolves"))
        has_fts = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'papers_fts'").fetchone()
        if has_fts:
            conn.execute("BEGIN")
            try:
                conn.execute("INSERT INTO papers_fts (papers_fts) VALUES ('integrity-check')")
                findings.append(Finding("fts5 integrity-check", "ok", "the full-text index matches the papers"))
            except sqlite3.DatabaseError as exc:
                findings.append(Finding("fts5 integrity-check", "fail", f"the full-text index is damaged: {exc}"))
            finally:
                conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        findings.append(Finding("sqlite", "fail", f"cannot read {path}: {exc}"))
    finally:
        conn.close()
    return findings
