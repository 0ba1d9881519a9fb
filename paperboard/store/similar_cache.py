"""Kept similar-paper lists: a paper page reads its neighbours instead of scoring them per view.

Scoring one paper's ~100 candidates (tokenising their abstracts, reading three kinds of
vectors) is tens of milliseconds and the same for every visitor, so it is done once and kept
(migration 0015); ``search.similar_keeper`` decides when a kept list is stale and marks it
dirty (migration 0019), and the worker recomputes dirty lists. The SQL is written once for
both backends (``store.sql``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .sql import Dialect, now


@dataclass(frozen=True, slots=True)
class KeptSimilar:
    paper_key: int
    signature: str
    head: str
    """What the list was computed against: the change feed's position until migration 0019,
    the newest paper key since (``newest_key`` is what staleness reads)."""
    computed_at: datetime
    neighbours: list[tuple[int, float, dict[str, float]]]
    """(paper key, fused score, each signal's raw score), best first."""
    newest_key: int = 0
    """The newest paper's key when it was computed: a paper with a larger key is new to it."""
    dirty_since: datetime | None = None
    """When it was found out of date (None: current); it is still shown until recomputed."""


class SimilarCacheStore:
    """Mixed into both stores; ``_dialect`` says which SQL flavour their connections speak."""

    _db: Any
    _dialect: Dialect

    def kept_similar(self, paper_key: int) -> KeptSimilar | None:
        with self._db.reader() as conn:
            row = conn.execute(
                self._dialect.sql(
                    "SELECT paper_rowid, signature, head, computed_at, neighbours, newest_key, dirty_since"
                    " FROM similar_cache"
                    " WHERE paper_rowid = ?"
                ),
                (int(paper_key),),
            ).fetchone()
        if row is None:
            return None
        try:
            neighbours = [(int(k), float(s), dict(p)) for k, s, p in json.loads(row["neighbours"])]
        except (ValueError, TypeError):
            return None  # unreadable: recomputed like a missing row
        return KeptSimilar(
            int(row["paper_rowid"]), row["signature"], str(row["head"]),
            self._dialect.read_ts(row["computed_at"]), neighbours, int(row["newest_key"]),
            self._dialect.read_ts(row["dirty_since"]),
        )  # fmt: skip

    def keep_similar(
        self, paper_key: int, signature: str, head: int | str, neighbours: list[tuple[int, float, dict[str, float]]],
        *, newest_key: int = 0, started_at: datetime | None = None,
    ) -> bool:
        """Store (or replace) one paper's list; False when the paper is gone meanwhile.

        ``started_at``: when its scoring began. A mark made after that (a newer paper arrived
        while it was being scored) stays, so the list is scored once more rather than left
        out of date."""
        payload = json.dumps([[int(k), round(float(s), 6), {n: round(float(v), 6) for n, v in p.items()}]
                              for k, s, p in neighbours])  # fmt: skip
        started = self._dialect.ts(started_at or now())
        with self._db.writer() as conn:
            exists = conn.execute(self._dialect.sql("SELECT 1 AS one FROM papers WHERE rowid = ?"), (int(paper_key),)).fetchone()
            if exists is None:
                return False
            conn.execute(
                self._dialect.sql(
                    "INSERT INTO similar_cache (paper_rowid, signature, head, computed_at, neighbours, newest_key)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (paper_rowid) DO UPDATE SET"
                    " signature = excluded.signature, head = excluded.head,"
                    " computed_at = excluded.computed_at, neighbours = excluded.neighbours,"
                    " newest_key = excluded.newest_key,"
                    " dirty_since = CASE WHEN similar_cache.dirty_since > ? THEN similar_cache.dirty_since END"
                ),
                (int(paper_key), signature, str(head), self._dialect.ts(now()), payload, int(newest_key), started),
            )
        return True

    def newest_paper_key(self) -> int:
        with self._db.reader() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(rowid), 0) AS k FROM papers").fetchone()["k"])

    def mark_similar_dirty(self, keys: list[int], *, older_than_key: int | None = None) -> int:
        """Mark these papers' kept lists out of date (those computed before the paper with key
        ``older_than_key`` existed, when given); how many were newly marked."""
        if not keys:
            return 0
        marks = ", ".join("?" * len(keys))
        sql = f"UPDATE similar_cache SET dirty_since = ? WHERE dirty_since IS NULL AND paper_rowid IN ({marks})"
        params: list = [self._dialect.ts(now()), *(int(k) for k in keys)]
        if older_than_key is not None:
            sql += " AND newest_key < ?"
            params.append(int(older_than_key))
        with self._db.writer() as conn:
            return conn.execute(self._dialect.sql(sql), params).rowcount

    def dirty_similar_keys(self, limit: int) -> list[int]:
        """Up to ``limit`` papers whose kept list is out of date, the longest-waiting first."""
        with self._db.reader() as conn:
            rows = conn.execute(
                self._dialect.sql(
                    "SELECT paper_rowid FROM similar_cache WHERE dirty_since IS NOT NULL ORDER BY dirty_since LIMIT ?"
                ),
                (int(limit),),
            ).fetchall()
        return [int(r["paper_rowid"]) for r in rows]

    def papers_without_kept_similar(self, keys: list[int]) -> list[int]:
        """Of ``keys``, those with no kept list (the worker's warm-up fills them)."""
        if not keys:
            return []
        with self._db.reader() as conn:
            have = set()
            for start in range(0, len(keys), 500):
                chunk = [int(k) for k in keys[start : start + 500]]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    self._dialect.sql(f"SELECT paper_rowid FROM similar_cache WHERE paper_rowid IN ({marks})"), chunk
                ).fetchall()
                have.update(int(r["paper_rowid"]) for r in rows)
        return [k for k in keys if k not in have]

    def unkept_similar_keys(self, limit: int) -> list[int]:
        """Up to ``limit`` visible papers with no kept list, newest feed day first: the worker
        fills the whole corpus once the newest days are done, so an old paper's first visitor
        reads a kept list too."""
        with self._db.reader() as conn:
            rows = conn.execute(
                self._dialect.sql(
                    "SELECT p.rowid AS k FROM papers p WHERE p.hidden = FALSE AND NOT EXISTS"
                    " (SELECT 1 FROM similar_cache s WHERE s.paper_rowid = p.rowid)"
                    " ORDER BY p.feed_day DESC, p.rowid DESC LIMIT ?"
                ),
                (int(limit),),
            ).fetchall()
        return [int(r["k"]) for r in rows]
