"""TL;DR bookkeeping for the backfill: which stored papers lack one, and writing them.

New and changed papers get their TL;DR on upsert (``merge.paper_to_row``); only papers stored
before migration 0014, or before a retrained model (``rebuild``), pass through here. The
SQL is written once for both backends (``store.sql``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .sql import Dialect


@dataclass(frozen=True, slots=True)
class TldrTask:
    key: int
    """The row's stable integer key (keyset pagination resumes after it)."""
    title: str
    abstract: str
    tldr: str | None


class TldrStore:
    """Mixed into both stores; ``_dialect`` says which SQL flavour their connections speak."""

    _db: Any
    _dialect: Dialect

    def papers_for_tldr(self, *, after_key: int = 0, limit: int = 1000, missing_only: bool = True) -> list[TldrTask]:
        """Papers (hidden ones included) by key after ``after_key``: those without a TL;DR, or
        all of them when ``missing_only`` is false."""
        where = "rowid > ?" + (" AND tldr IS NULL" if missing_only else "")
        with self._db.reader() as conn:
            rows = conn.execute(
                self._dialect.sql(f"SELECT rowid, title, abstract, tldr FROM papers WHERE {where} ORDER BY rowid LIMIT ?"),
                (after_key, limit),
            ).fetchall()
        return [TldrTask(r["rowid"], r["title"], r["abstract"], r["tldr"]) for r in rows]

    def count_without_tldr(self) -> int:
        with self._db.reader() as conn:
            row = conn.execute("SELECT COUNT(*) AS n FROM papers WHERE tldr IS NULL").fetchone()
        return int(row["n"])

    def set_tldrs(self, items: list[tuple[TldrTask, str]]) -> int:
        """Write TL;DRs in one transaction; a paper whose title or abstract changed since it
        was read keeps what its upsert wrote (that one is newer). Returns the rows written."""
        if not items:
            return 0
        sql = self._dialect.sql("UPDATE papers SET tldr = ? WHERE rowid = ? AND title = ? AND abstract = ?")
        with self._db.writer() as conn:
            cur = conn.cursor()
            cur.executemany(sql, [(text, t.key, t.title, t.abstract) for t, text in items])
            written = cur.rowcount
        return int(written) if written is not None and written >= 0 else len(items)
