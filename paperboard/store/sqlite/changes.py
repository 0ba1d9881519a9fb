"""The searchable-text change feed of a SQLite store (migration 0007), read by the keyword
index so it can follow ingests incrementally instead of re-reading a million papers; pruned
once every index has read it (store/change_feed.py, migration 0018)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from ..base import Store
from ..change_feed import ChangeFeedStore
from .database import Database


@dataclass(slots=True, frozen=True)
class TextChange:
    seq: int
    key: int
    """The paper's rowid (the key the vector index uses too)."""
    title: str | None
    """None when the paper is gone or hidden: the index drops it."""
    abstract: str = ""
    authors: tuple[str, ...] = ()
    # What search filters read (the keyword index keeps them as filter fields):
    day: date | None = None
    """The feed day."""
    published: date | None = None
    """The UTC day of first publication."""
    categories: tuple[str, ...] = ()
    """The primary category first, then the others."""
    organization: str | None = None
    submitted_by: str | None = None


_META_COLUMNS = "feed_day, published, primary_category, categories, organization, submitted_by"


def _meta(feed_day, published, primary, categories, organization, submitted_by) -> dict:
    cats = tuple(dict.fromkeys([*([primary] if primary else []), *json.loads(categories or "[]")]))
    return {
        "day": date.fromisoformat(feed_day) if feed_day else None,
        "published": date.fromisoformat(published[:10]) if published else None,
        "categories": cats, "organization": organization, "submitted_by": submitted_by,
    }  # fmt: skip


class SQLiteChanges(ChangeFeedStore):
    _db: Database

    def text_change_stats(self) -> tuple[int, str]:
        """(last seq, epoch) of the change feed."""
        with self._db.reader() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM paper_changes").fetchone()[0]
            row = conn.execute(
                f"SELECT {Store.IDENTITY_SQL} || ':'"
                " || COALESCE((SELECT value FROM checkpoints WHERE name = 'paper_changes_epoch'), '')"
            ).fetchone()
        return int(seq), row[0] or ""

    def approximate_paper_count(self) -> int:
        """The highest rowid: O(1), unlike COUNT(*), and close enough to choose an engine."""
        with self._db.reader() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM papers").fetchone()[0])

    def text_changes(self, *, after_seq: int = 0, limit: int = 20_000) -> list[TextChange]:
        """Changes after ``after_seq`` in seq order, each with the paper's text as it is now
        (so replaying a change twice, or out of date, is harmless). Raises ChangeFeedPruned
        when some of them were pruned: the reader must rebuild."""
        with self._db.reader() as conn:
            rows = conn.execute(
                "SELECT c.seq, c.paper_rowid, p.title, p.abstract, p.authors, p.hidden,"
                " p.feed_day, substr(p.published, 1, 10), p.primary_category, p.categories, p.organization,"
                " p.submitted_by FROM paper_changes c LEFT JOIN papers p ON p.rowid = c.paper_rowid"
                " WHERE c.seq > ? ORDER BY c.seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
            self._check_not_pruned(conn, after_seq)
        out = []
        for seq, key, title, abstract, authors, hidden, *meta in rows:
            if title is None or hidden:
                out.append(TextChange(seq, key, None))
            else:
                out.append(TextChange(seq, key, title, abstract or "", tuple(json.loads(authors)), **_meta(*meta)))
        return out

    def _delete_changes_below(self, conn, position: int, limit: int) -> int:
        return conn.execute(
            "DELETE FROM paper_changes WHERE seq IN (SELECT seq FROM paper_changes WHERE seq < ? ORDER BY seq LIMIT ?)",
            (position, limit),
        ).rowcount

    def searchable_texts(self, *, after_key: int = 0, limit: int = 20_000) -> list[TextChange]:
        """Every listed paper's text in rowid order, to build an index from scratch (seq 0)."""
        with self._db.reader() as conn:
            rows = conn.execute(
                "SELECT rowid, title, abstract, authors, feed_day, substr(published, 1, 10), primary_category,"
                " categories, organization, submitted_by FROM papers WHERE rowid > ? AND hidden = 0"
                " ORDER BY rowid LIMIT ?",
                (after_key, limit),
            ).fetchall()
        return [
            TextChange(0, key, title, abstract or "", tuple(json.loads(authors)), **_meta(*meta))
            for key, title, abstract, authors, *meta in rows
        ]
