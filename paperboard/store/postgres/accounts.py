"""What accounts do differently on PostgreSQL (the rest is written once in ``store.accounts``):
"the first user is an admin" decided under an advisory lock, user names matched through the
``lower(username)`` index, and the trending and stats queries on native dates and arrays.

Votes are the contended write (many workers, one popular paper): each vote first locks its
paper's row (``store.accounts``), so votes on one paper are serialised while votes on
different papers run in parallel, and the recount that follows sees every vote committed
before it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg import errors

from ..accounts import USER_COLS, DayCount, TrendingCandidate, User, UsernameTaken
from .database import Database

FIRST_USER_LOCK = 0x7062_7573_6572_7331  # "pbusers1": "the first user is admin" is decided once


class PostgresAccounts:
    _db: Database
    _user_of: Any

    # -- users --------------------------------------------------------------------------
    def create_user(self, username: str, password_hash: str, *, email: str | None = None) -> User:
        try:
            with self._db.writer() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (FIRST_USER_LOCK,))
                row = conn.execute(
                    "INSERT INTO users (username, email, password_hash, is_admin, created_at)"
                    " SELECT %s, %s, %s, NOT EXISTS (SELECT 1 FROM users), now()"
                    " RETURNING id, username, email, is_admin, created_at",
                    (username, email, password_hash),
                ).fetchone()
        except errors.UniqueViolation:
            raise UsernameTaken(f"the name {username!r} is taken") from None
        return self._user_of(row)

    def get_user_by_name(self, username: str) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(
                f"SELECT {USER_COLS} FROM users u WHERE lower(u.username) = lower(%s)", (username,)
            ).fetchone()
        return self._user_of(row) if row else None

    def set_admin(self, username: str, is_admin: bool) -> bool:
        with self._db.writer() as conn:
            cur = conn.execute(
                "UPDATE users SET is_admin = %s WHERE lower(username) = lower(%s)", (is_admin, username)
            )
            return cur.rowcount > 0

    # -- ranking and stats inputs -------------------------------------------------------
    def trending_candidates(
        self, start: date, end: date, *, category: str | None = None, active_only: bool = False
    ) -> list[TrendingCandidate]:
        sql = (
            "SELECT p.id, p.upvotes, p.feed_day,"
            " (SELECT COUNT(*) FROM comments c WHERE c.paper_id = p.id AND NOT c.hidden) AS comments"
            " FROM papers p WHERE NOT p.hidden AND p.feed_day >= %s AND p.feed_day <= %s"
        )
        args: list[object] = [start, end]
        if active_only:
            sql += " AND (p.upvotes > 0 OR p.id IN (SELECT paper_id FROM comments WHERE NOT hidden))"
        cat, cat_args = _category_clause(category)
        sql, args = sql + cat, args + cat_args
        with self._db.reader() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [TrendingCandidate(r["id"], r["upvotes"], r["comments"], r["feed_day"]) for r in rows]

    def quiet_papers(
        self, start: date, end: date, *, category: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[TrendingCandidate]:
        sql = (
            "SELECT p.id, p.feed_day FROM papers p WHERE NOT p.hidden AND p.feed_day >= %s"
            " AND p.feed_day <= %s AND p.upvotes = 0"
            " AND NOT EXISTS (SELECT 1 FROM comments c WHERE c.paper_id = p.id AND NOT c.hidden)"
        )
        cat, cat_args = _category_clause(category)
        sql += cat + ' ORDER BY p.feed_day DESC, p.id COLLATE "C" ASC LIMIT %s OFFSET %s'
        with self._db.reader() as conn:
            rows = conn.execute(sql, [start, end, *cat_args, limit, offset]).fetchall()
        return [TrendingCandidate(r["id"], 0, 0, r["feed_day"]) for r in rows]

    def _per_day(self, sql: str, start: date, end: date) -> list[DayCount]:
        with self._db.reader() as conn:
            rows = conn.execute(sql, (start, end)).fetchall()
        return [DayCount(r["d"], int(r["n"])) for r in rows]

    def papers_per_day(self, start: date, end: date) -> list[DayCount]:
        return self._per_day(
            "SELECT feed_day AS d, COUNT(*) AS n FROM papers WHERE NOT hidden AND feed_day BETWEEN %s AND %s"
            " GROUP BY feed_day ORDER BY feed_day",
            start, end,
        )  # fmt: skip

    def upvotes_per_feed_day(self, start: date, end: date) -> list[DayCount]:
        return self._per_day(
            "SELECT feed_day AS d, SUM(upvotes) AS n FROM papers WHERE NOT hidden"
            " AND feed_day BETWEEN %s AND %s GROUP BY feed_day ORDER BY feed_day",
            start, end,
        )  # fmt: skip

    def votes_cast_per_day(self, start: date, end: date) -> list[DayCount]:
        return self._per_day(
            "SELECT (created_at AT TIME ZONE 'UTC')::date AS d, COUNT(*) AS n FROM votes"
            " WHERE (created_at AT TIME ZONE 'UTC')::date BETWEEN %s AND %s GROUP BY 1 ORDER BY 1",
            start, end,
        )  # fmt: skip


def _category_clause(category: str | None) -> tuple[str, list[object]]:
    if not category:
        return "", []
    return " AND (p.primary_category = %s OR p.categories @> ARRAY[%s]::text[])", [category, category]
