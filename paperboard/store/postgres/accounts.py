"""Accounts on PostgreSQL: users, sessions, tokens, votes, comments, login throttling.

Votes are the contended write (many workers, one popular paper): each vote first locks its
paper's row, so votes on one paper are serialised while votes on different papers run in
parallel, and the recount that follows sees every vote committed before it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from psycopg import errors

from ..accounts import (
    DELETED_USER,
    ApiToken,
    Comment,
    DayCount,
    TrendingCandidate,
    User,
    UsernameTaken,
    VoteResult,
)
from .database import Conn, Database

FIRST_USER_LOCK = 0x7062_7573_6572_7331  # "pbusers1": "the first user is admin" is decided once


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _user(row: dict[str, Any]) -> User:
    return User(row["id"], row["username"], row["email"], bool(row["is_admin"]), _utc(row["created_at"]))


def _comment(row: dict[str, Any]) -> Comment:
    return Comment(
        row["id"], row["paper_id"], row["user_id"], row["username"], row["body"],
        _utc(row["created_at"]), bool(row["hidden"]),
    )  # fmt: skip


_USER_COLS = "u.id, u.username, u.email, u.is_admin, u.created_at"
_COMMENT_SQL = (
    f"SELECT c.id, c.paper_id, c.user_id, COALESCE(u.username, '{DELETED_USER}') AS username,"
    " c.body, c.created_at, c.hidden FROM comments c LEFT JOIN users u ON u.id = c.user_id"
)


def _resolve(conn: Conn, paper_id: str, *, lock: bool = False) -> str | None:
    """The current id of a visible paper (aliases of merged seed cards included)."""
    row = conn.execute(
        "SELECT id FROM papers WHERE NOT hidden AND id = COALESCE("
        " (SELECT paper_id FROM paper_aliases WHERE alias = %s), %s)" + (" FOR NO KEY UPDATE" if lock else ""),
        (paper_id, paper_id),
    ).fetchone()
    return row["id"] if row else None


class PostgresAccounts:
    _db: Database

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
        return _user(row)

    def get_user(self, user_id: int) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(f"SELECT {_USER_COLS} FROM users u WHERE u.id = %s", (user_id,)).fetchone()
        return _user(row) if row else None

    def get_user_by_name(self, username: str) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(
                f"SELECT {_USER_COLS} FROM users u WHERE lower(u.username) = lower(%s)", (username,)
            ).fetchone()
        return _user(row) if row else None

    def get_password_hash(self, user_id: int) -> str | None:
        with self._db.reader() as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE id = %s", (user_id,)).fetchone()
        return row["password_hash"] if row else None

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self._db.writer() as conn:
            conn.execute("UPDATE users SET password_hash = %s WHERE id = %s", (password_hash, user_id))

    def set_admin(self, username: str, is_admin: bool) -> bool:
        with self._db.writer() as conn:
            cur = conn.execute(
                "UPDATE users SET is_admin = %s WHERE lower(username) = lower(%s)", (is_admin, username)
            )
            return cur.rowcount > 0

    def list_users(self) -> list[User]:
        with self._db.reader() as conn:
            return [_user(r) for r in conn.execute(f"SELECT {_USER_COLS} FROM users u ORDER BY u.id")]

    # -- sessions and tokens ------------------------------------------------------------
    def create_session(self, user_id: int, token_hash: str, expires_at: datetime) -> None:
        with self._db.writer() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < now()")
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (%s, %s, now(), %s)",
                (token_hash, user_id, expires_at),
            )

    def get_session_user(self, token_hash: str, now: datetime) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(
                f"SELECT {_USER_COLS} FROM sessions s JOIN users u ON u.id = s.user_id"
                " WHERE s.token_hash = %s AND s.expires_at > %s",
                (token_hash, now),
            ).fetchone()
        return _user(row) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self._db.writer() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = %s", (token_hash,))

    def delete_user_sessions(self, user_id: int, *, keep: str | None = None) -> int:
        with self._db.writer() as conn:
            cur = conn.execute(
                "DELETE FROM sessions WHERE user_id = %s AND token_hash IS DISTINCT FROM %s", (user_id, keep)
            )
            return cur.rowcount

    def create_api_token(self, user_id: int, name: str, token_hash: str) -> ApiToken:
        with self._db.writer() as conn:
            row = conn.execute(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (%s, %s, %s, now())"
                " RETURNING id, created_at",
                (user_id, name, token_hash),
            ).fetchone()
        return ApiToken(row["id"], user_id, name, _utc(row["created_at"]))

    def get_token_user(self, token_hash: str) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(
                f"SELECT {_USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = %s",
                (token_hash,),
            ).fetchone()
        return _user(row) if row else None

    # -- login throttling ---------------------------------------------------------------
    def record_login_failure(self, key: str, at: datetime) -> None:
        with self._db.writer() as conn:
            conn.execute("INSERT INTO login_failures (key, at) VALUES (%s, %s)", (key, at))

    def count_login_failures(self, key: str, since: datetime) -> int:
        with self._db.reader() as conn:
            return conn.execute(
                "SELECT COUNT(*) AS n FROM login_failures WHERE key = %s AND at > %s", (key, since)
            ).fetchone()["n"]

    def clear_login_failures(self, key: str) -> None:
        with self._db.writer() as conn:
            conn.execute("DELETE FROM login_failures WHERE key = %s", (key,))

    # -- votes --------------------------------------------------------------------------
    def set_vote(self, user_id: int, paper_id: str, voted: bool | None = None) -> VoteResult | None:
        def work(conn: Conn) -> VoteResult | None:
            pid = _resolve(conn, paper_id, lock=True)
            if pid is None:
                return None
            exists = conn.execute(
                "SELECT 1 FROM votes WHERE user_id = %s AND paper_id = %s", (user_id, pid)
            ).fetchone() is not None
            want = (not exists) if voted is None else voted
            if want and not exists:
                conn.execute(
                    "INSERT INTO votes (user_id, paper_id, created_at) VALUES (%s, %s, now())"
                    " ON CONFLICT DO NOTHING",
                    (user_id, pid),
                )
            elif exists and not want:
                conn.execute("DELETE FROM votes WHERE user_id = %s AND paper_id = %s", (user_id, pid))
            # Recount rather than increment: the stored count is exact even if it ever drifted.
            row = conn.execute(
                "UPDATE papers SET upvotes = base_upvotes"
                " + (SELECT COUNT(*) FROM votes WHERE paper_id = papers.id) WHERE id = %s RETURNING upvotes",
                (pid,),
            ).fetchone()
            return VoteResult(want, row["upvotes"])

        return self._db.run(work)

    def voted_ids(self, user_id: int, paper_ids: list[str]) -> set[str]:
        if not paper_ids:
            return set()
        with self._db.reader() as conn:
            return {
                r["paper_id"]
                for r in conn.execute(
                    "SELECT paper_id FROM votes WHERE user_id = %s AND paper_id = ANY(%s)",
                    (user_id, list(paper_ids)),
                )
            }

    # -- comments -----------------------------------------------------------------------
    def add_comment(self, paper_id: str, user_id: int, body: str) -> Comment | None:
        with self._db.writer() as conn:
            pid = _resolve(conn, paper_id)
            if pid is None:
                return None
            row = conn.execute(
                "INSERT INTO comments (paper_id, user_id, body, created_at) VALUES (%s, %s, %s, now())"
                " RETURNING id",
                (pid, user_id, body),
            ).fetchone()
            row = conn.execute(_COMMENT_SQL + " WHERE c.id = %s", (row["id"],)).fetchone()
        return _comment(row)

    def get_comment(self, comment_id: int) -> Comment | None:
        with self._db.reader() as conn:
            row = conn.execute(_COMMENT_SQL + " WHERE c.id = %s", (comment_id,)).fetchone()
        return _comment(row) if row else None

    def list_comments(self, paper_id: str, *, include_hidden: bool = False) -> list[Comment]:
        sql = _COMMENT_SQL + " WHERE c.paper_id = COALESCE((SELECT paper_id FROM paper_aliases WHERE alias = %s), %s)"
        if not include_hidden:
            sql += " AND NOT c.hidden"
        with self._db.reader() as conn:
            return [_comment(r) for r in conn.execute(sql + " ORDER BY c.created_at, c.id", (paper_id, paper_id))]

    def delete_comment(self, comment_id: int) -> bool:
        with self._db.writer() as conn:
            return conn.execute("DELETE FROM comments WHERE id = %s", (comment_id,)).rowcount > 0

    def set_comment_hidden(self, comment_id: int, hidden: bool) -> bool:
        with self._db.writer() as conn:
            cur = conn.execute("UPDATE comments SET hidden = %s WHERE id = %s", (hidden, comment_id))
            return cur.rowcount > 0

    def comment_counts(self, paper_ids: list[str]) -> dict[str, int]:
        if not paper_ids:
            return {}
        with self._db.reader() as conn:
            return {
                r["paper_id"]: r["n"]
                for r in conn.execute(
                    "SELECT paper_id, COUNT(*) AS n FROM comments WHERE NOT hidden AND paper_id = ANY(%s)"
                    " GROUP BY paper_id",
                    (list(paper_ids),),
                )
            }

    # -- ranking and stats inputs -------------------------------------------------------
    def trending_candidates(
        self, start: date, end: date, *, category: str | None = None
    ) -> list[TrendingCandidate]:
        sql = (
            "SELECT p.id, p.upvotes, p.feed_day,"
            " (SELECT COUNT(*) FROM comments c WHERE c.paper_id = p.id AND NOT c.hidden) AS comments"
            " FROM papers p WHERE NOT p.hidden AND p.feed_day >= %s AND p.feed_day <= %s"
        )
        args: list[object] = [start, end]
        if category:
            sql += " AND (p.primary_category = %s OR p.categories @> ARRAY[%s]::text[])"
            args += [category, category]
        with self._db.reader() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [TrendingCandidate(r["id"], r["upvotes"], r["comments"], r["feed_day"]) for r in rows]

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
