"""The searchable-text change feed of a PostgreSQL store (migration 0008), read by the keyword
index like SQLite's (store/sqlite/changes.py): same methods, same meaning.

The feed is read in (transaction id, seq) order and only below the oldest transaction still
running, so a change committed late is never passed over (the migration explains why). The
index remembers one increasing number; a change's is ``xid * 2**64 + seq``, so the pair's
order is the number's order (Python integers have no upper bound; seq is a BIGINT). Pruning (store/change_feed.py)
deletes in the same order, from the oldest, and only below the readers' positions, which are
all below the horizon: the part of the feed it cuts is final.
"""

from __future__ import annotations

from ..change_feed import ChangeFeedStore
from ..sqlite.changes import TextChange
from .database import IDENTITY_SQL, Database

_SEQ_BITS = 64
_BELOW_HORIZON = "xid < pg_snapshot_xmin(pg_current_snapshot())"
"""Every transaction below the reader's snapshot xmin has ended: this part of the feed is final."""


_META = (
    "p.feed_day, (p.published AT TIME ZONE 'UTC')::date AS published_day, p.primary_category,"
    " p.categories, p.organization, p.submitted_by"
)


def _meta(r) -> dict:
    primary = r["primary_category"]
    return {
        "day": r["feed_day"], "published": r["published_day"],
        "categories": tuple(dict.fromkeys([*([primary] if primary else []), *(r["categories"] or [])])),
        "organization": r["organization"], "submitted_by": r["submitted_by"],
    }  # fmt: skip


def position(xid: int | str, seq: int) -> int:
    return (int(xid) << _SEQ_BITS) | seq


def _xid_and_seq(pos: int) -> tuple[str, int]:
    return str(pos >> _SEQ_BITS), pos & ((1 << _SEQ_BITS) - 1)


class PostgresChanges(ChangeFeedStore):
    _db: Database

    def text_change_stats(self) -> tuple[int, str]:
        """(position of the last final change, epoch) of the change feed."""
        with self._db.reader() as conn:
            row = conn.execute(
                "SELECT last.xid::text AS xid, last.seq,"
                f" {IDENTITY_SQL} || ':' || (SELECT epoch FROM paper_changes_epoch) AS epoch"
                f" FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT xid, seq FROM paper_changes WHERE {_BELOW_HORIZON}"
                " ORDER BY xid DESC, seq DESC LIMIT 1) AS last ON TRUE"
            ).fetchone()
        return (position(row["xid"], row["seq"]) if row["xid"] else 0), row["epoch"] or ""

    def approximate_paper_count(self) -> int:
        """The highest rowid: one index probe, unlike COUNT(*), and close enough to choose an engine."""
        with self._db.reader() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(rowid), 0) AS n FROM papers").fetchone()["n"])

    def text_changes(self, *, after_seq: int = 0, limit: int = 20_000) -> list[TextChange]:
        """Final changes after position ``after_seq`` in feed order, each with the paper's text
        as it is now (so replaying a change twice, or out of date, is harmless). Raises
        ChangeFeedPruned when some of them were pruned: the reader must rebuild."""
        xid, seq = _xid_and_seq(after_seq)
        with self._db.reader() as conn:
            rows = conn.execute(
                "SELECT c.xid::text AS xid, c.seq, c.paper_rowid, p.title, p.abstract, p.authors, p.hidden,"
                f" {_META} FROM (SELECT xid, seq, paper_rowid FROM paper_changes"
                f"       WHERE (xid, seq) > (%s::xid8, %s) AND {_BELOW_HORIZON}"
                "       ORDER BY xid, seq LIMIT %s) AS c"
                " LEFT JOIN papers p ON p.rowid = c.paper_rowid ORDER BY c.xid, c.seq",
                (xid, seq, limit),
            ).fetchall()
            self._check_not_pruned(conn, after_seq)  # a later statement: a later snapshot
        out = []
        for r in rows:
            pos = position(r["xid"], r["seq"])
            if r["title"] is None or r["hidden"]:
                out.append(TextChange(pos, r["paper_rowid"], None))
            else:
                out.append(
                    TextChange(pos, r["paper_rowid"], r["title"], r["abstract"] or "", tuple(r["authors"]), **_meta(r))
                )
        return out

    def feed_position_text(self, position: int) -> str:
        xid, seq = _xid_and_seq(position)
        return f"{xid}:{seq}"

    def _delete_changes_below(self, conn, position: int, limit: int) -> int:
        xid, seq = _xid_and_seq(position)
        return conn.execute(
            "DELETE FROM paper_changes WHERE (xid, seq) IN (SELECT xid, seq FROM paper_changes"
            " WHERE (xid, seq) < (%s::xid8, %s) ORDER BY xid, seq LIMIT %s)",
            (xid, seq, limit),
        ).rowcount

    def searchable_texts(self, *, after_key: int = 0, limit: int = 20_000) -> list[TextChange]:
        """Every listed paper's text in rowid order, to build an index from scratch (seq 0)."""
        with self._db.reader() as conn:
            rows = conn.execute(
                f"SELECT p.rowid, p.title, p.abstract, p.authors, {_META} FROM papers p"
                " WHERE p.rowid > %s AND NOT p.hidden ORDER BY p.rowid LIMIT %s",
                (after_key, limit),
            ).fetchall()
        return [
            TextChange(0, r["rowid"], r["title"], r["abstract"] or "", tuple(r["authors"]), **_meta(r)) for r in rows
        ]
