"""What accounts do differently on SQLite (the rest is written once in ``store.accounts``):
user names matched through the column's ``NOCASE`` collation, and the trending and stats
queries on ISO-text days and JSON category lists (trending scored in one statement)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from typing import Any

from ..accounts import USER_COLS, DayCount, TrendingCandidate, User, UsernameTaken
from .database import Database


class SQLiteAccounts:
    _db: Database
    _user_of: Any

    # -- users --------------------------------------------------------------------------
    def create_user(self, username: str, password_hash: str, *, email: str | None = None) -> User:
        with self._db.writer() as conn:
            first = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM users)").fetchone()[0]
            try:
                cur = conn.execute(
                    "INSERT INTO users (username, email, password_hash, is_admin, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (username, email, password_hash, int(first), datetime.now(UTC).isoformat()),
                )
            except sqlite3.IntegrityError:
                raise UsernameTaken(f"the name {username!r} is taken") from None
            row = conn.execute(f"SELECT {USER_COLS} FROM users u WHERE u.id = ?", (cur.lastrowid,)).fetchone()
        return self._user_of(row)

    def get_user_by_name(self, username: str) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(f"SELECT {USER_COLS} FROM users u WHERE u.username = ?", (username,)).fetchone()
        return self._user_of(row) if row else None

    def set_admin(self, username: str, is_admin: bool) -> bool:
        with self._db.writer() as conn:
            cur = conn.execute("UPDATE users SET is_admin = ? WHERE username = ?", (int(is_admin), username))
            return cur.rowcount > 0

    # -- ranking and stats inputs -------------------------------------------------------
    def trending_candidates(
        self, start: date, end: date, *, category: str | None = None, active_only: bool = False
    ) -> list[TrendingCandidate]:
        select = (
            "SELECT p.id, p.upvotes, p.feed_day,"
            " (SELECT COUNT(*) FROM comments c WHERE c.paper_id = p.id AND c.hidden = 0)"
            " FROM papers p INDEXED BY papers_trending"
            " WHERE p.feed_day >= ? AND p.feed_day <= ? AND p.hidden = 0"
        )
        cat, cat_args = _category_clause(category)
        args: list[object] = [start.isoformat(), end.isoformat(), *cat_args]
        if active_only:  # the upvoted ones off the covering index, and the commented ones
            sql = (f"{select}{cat} AND p.upvotes > 0 UNION {select.replace(' INDEXED BY papers_trending', '')}{cat}"
                   " AND p.id IN (SELECT paper_id FROM comments WHERE hidden = 0)")  # fmt: skip
            args += args
        else:
            sql = select + cat
        with self._db.reader() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [TrendingCandidate(r[0], r[1], r[3], date.fromisoformat(r[2])) for r in rows]

    def quiet_papers(
        self, start: date, end: date, *, category: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[TrendingCandidate]:
        cat, cat_args = _category_clause(category)
        sql = (
            "SELECT p.id, p.feed_day FROM papers p INDEXED BY papers_trending"
            " WHERE p.feed_day >= ? AND p.feed_day <= ? AND p.hidden = 0 AND p.upvotes = 0"
            " AND NOT EXISTS (SELECT 1 FROM comments c WHERE c.paper_id = p.id AND c.hidden = 0)"
            f"{cat} ORDER BY p.feed_day DESC, p.id ASC LIMIT ? OFFSET ?"
        )
        with self._db.reader() as conn:
            rows = conn.execute(sql, [start.isoformat(), end.isoformat(), *cat_args, limit, offset]).fetchall()
        return [TrendingCandidate(r[0], 0, 0, date.fromisoformat(r[1])) for r in rows]

    def _per_day(self, sql: str, start: date, end: date) -> list[DayCount]:
        with self._db.reader() as conn:
            rows = conn.execute(sql, (start.isoformat(), end.isoformat())).fetchall()
        return [DayCount(date.fromisoformat(r[0]), r[1]) for r in rows]

    def papers_per_day(self, start: date, end: date) -> list[DayCount]:
        return self._per_day(
            "SELECT feed_day, COUNT(*) FROM papers WHERE hidden = 0 AND feed_day BETWEEN ? AND ?"
            " GROUP BY feed_day ORDER BY feed_day",
            start, end,
        )  # fmt: skip

    def upvotes_per_feed_day(self, start: date, end: date) -> list[DayCount]:
        return self._per_day(
            "SELECT feed_day, SUM(upvotes) FROM papers WHERE hidden = 0 AND feed_day BETWEEN ? AND ?"
            " GROUP BY feed_day ORDER BY feed_day",
            start, end,
        )  # fmt: skip

    def votes_cast_per_day(self, start: date, end: date) -> list[DayCount]:
        return self._per_day(
            "SELECT substr(created_at, 1, 10) AS d, COUNT(*) FROM votes"
            " WHERE d BETWEEN ? AND ? GROUP BY d ORDER BY d",
            start, end,
        )  # fmt: skip


def _category_clause(category: str | None) -> tuple[str, list[object]]:
    if not category:
        return "", []
    return (
        " AND (p.primary_category = ? OR EXISTS (SELECT 1 FROM json_each(p.categories) WHERE value = ?))",
        [category, category],
    )
