"""Housekeeping for the searchable-text change feed: who reads it, and pruning what all have read.

The feed (``paper_changes``) gains a row with every insert, text change and delete, and
nothing else ever removes one, so at all of arXiv it would grow by millions of rows a year
that no index needs again. Each index that reads it reports the position it has durably
applied (``change_feed_readers``, migration 0018: one row per index directory, so every web
host with its own directory is a reader of its own); ``prune_changes`` deletes, in bounded
batches, the changes below the lowest position of the live readers.

Live means "reported within the retention, for this database's current feed epoch": a host
switched off for weeks must not keep the feed growing, and positions saved for another epoch
(a copy's or a restore's source, a truncated table) are of another numbering and mean
nothing here. Such a reader is not harmed, only made to rebuild: ``paper_changes_pruned``
records how far the feed was cut (in the same transaction as each batch it deletes), and a
reader whose position is below it gets ``ChangeFeedPruned`` instead of a feed with a hole,
and builds again from the papers, as a new index does.

The head (the newest change) is never deleted, so the feed's position never goes back: an
index compares it with its own to notice a restored database. The SQL is written once for
both backends (``store.sql``), except the delete, whose position predicate differs: SQLite
orders the feed by seq, PostgreSQL by (transaction id, seq) (store/postgres/changes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from .base import StoreError
from .sql import Dialect, now

PRUNE_BATCH = 5_000
"""Rows per delete transaction: short enough that writers (ingest, votes) barely wait."""


class ChangeFeedPruned(StoreError):
    """The changes after a reader's position were pruned: it must rebuild from the papers."""


ReaderStatus = Literal["holds", "stale", "other epoch"]


@dataclass(frozen=True, slots=True)
class FeedReader:
    reader: str
    label: str
    """Where it lives (host and directory), for people."""
    epoch: str
    position: int
    reported_at: datetime


@dataclass(slots=True)
class PruneReport:
    head: int
    below: int
    """Every change before this position is gone (or was already)."""
    deleted: int = 0
    batches: int = 0
    remaining: int = 0
    readers: list[tuple[FeedReader, ReaderStatus]] = field(default_factory=list)


class ChangeFeedStore:
    """Mixed into both stores' change-feed classes; they supply ``text_change_stats`` and
    ``_delete_changes_below`` (the one statement whose SQL differs)."""

    _db: Any
    _dialect: Dialect

    def text_change_stats(self) -> tuple[int, str]:
        raise NotImplementedError

    def _delete_changes_below(self, conn: Any, position: int, limit: int) -> int:
        """Delete up to ``limit`` of the oldest changes before ``position``; how many went."""
        raise NotImplementedError

    def feed_position_text(self, position: int) -> str:
        """A position as people read it (PostgreSQL's are two numbers in one)."""
        return str(position)

    # -- readers ---------------------------------------------------------------------------
    def report_feed_position(self, reader: str, label: str, epoch: str, position: int) -> None:
        """Record that ``reader`` has durably applied the feed up to ``position`` in ``epoch``.
        Never report more than is saved: the changes up to it may be deleted at once."""
        with self._db.writer() as conn:
            conn.execute(
                self._dialect.sql(
                    "INSERT INTO change_feed_readers (reader, label, epoch, position, reported_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (reader) DO UPDATE SET label = excluded.label,"
                    " epoch = excluded.epoch, position = excluded.position, reported_at = excluded.reported_at"
                ),
                (reader, label, epoch, int(position), self._dialect.ts(now())),
            )

    def feed_readers(self) -> list[FeedReader]:
        with self._db.reader() as conn:
            rows = conn.execute(
                "SELECT reader, label, epoch, position, reported_at FROM change_feed_readers ORDER BY reader"
            ).fetchall()
        return [
            FeedReader(r["reader"], r["label"], r["epoch"], int(r["position"]), self._dialect.read_ts(r["reported_at"]))
            for r in rows
        ]

    def change_feed_floor(self) -> int:
        """Changes before this position may have been pruned (0: none ever were)."""
        with self._db.reader() as conn:
            return self._floor(conn)

    def _floor(self, conn: Any) -> int:
        row = conn.execute("SELECT below FROM paper_changes_pruned").fetchone()
        return 0 if row is None else int(row["below"])

    def _check_not_pruned(self, conn: Any, after: int) -> None:
        """Called after reading the changes following ``after``: the floor only rises and is
        written with each batch it deletes, so a floor read afterwards that is not above
        ``after`` proves no change the read should have seen was already gone."""
        floor = self._floor(conn)
        if after < floor:
            raise ChangeFeedPruned(
                f"the change feed was pruned up to {self.feed_position_text(floor)}, past this reader's"
                f" position {self.feed_position_text(after)}: rebuild from the papers"
            )

    # -- pruning ---------------------------------------------------------------------------
    def prune_changes(
        self,
        *,
        retention: timedelta,
        batch_size: int = PRUNE_BATCH,
        clock: Callable[[], datetime] = now,
    ) -> PruneReport:
        """Delete the changes every live reader has passed, ``batch_size`` rows per
        transaction. Interrupted at any point, it has deleted only what no live reader
        needs, and the next run carries on."""
        head, epoch = self.text_change_stats()
        cutoff = clock() - retention
        readers = self.feed_readers()
        statuses: list[tuple[FeedReader, ReaderStatus]] = [
            (r, "other epoch" if r.epoch != epoch else "stale" if r.reported_at < cutoff else "holds")
            for r in readers
        ]
        held = [r.position for r, status in statuses if status == "holds"]
        below = min([head, *held])  # the head itself always stays
        below = max(below, self.change_feed_floor())  # what an interrupted run declared gone, too
        report = PruneReport(head=head, below=below, readers=statuses)
        if below > 0:
            while True:
                with self._db.writer() as conn:
                    deleted = self._delete_changes_below(conn, below, batch_size)
                    if deleted:
                        self._raise_floor(conn, below, deleted)
                if deleted:
                    report.deleted += deleted
                    report.batches += 1
                if deleted < batch_size:
                    break
        with self._db.reader() as conn:
            report.remaining = int(conn.execute("SELECT COUNT(*) AS n FROM paper_changes").fetchone()["n"])
        return report

    def _raise_floor(self, conn: Any, below: int, deleted: int) -> None:
        conn.execute(
            self._dialect.sql(
                "INSERT INTO paper_changes_pruned (one, below, deleted, pruned_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (one) DO UPDATE SET"
                " below = CASE WHEN paper_changes_pruned.below < excluded.below"
                " THEN excluded.below ELSE paper_changes_pruned.below END,"
                " deleted = paper_changes_pruned.deleted + excluded.deleted, pruned_at = excluded.pruned_at"
            ),
            (self._dialect.flag(True), int(below), int(deleted), self._dialect.ts(now())),
        )
