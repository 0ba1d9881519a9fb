"""Accounts on SQLite: users, sessions, tokens, votes, comments, login throttling."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

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
from .database import Database


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _user(row: sqlite3.Row) -> User:
    return User(row["id"], row["username"], row["email"], bool(row["is_admin"]), _ts(row["created_at"]))


def _comment(row: sqlite3.Row) -> Comment:
    return Comment(
        row["id"], row["paper_id"], row["user_id"], row["username"], row["body"],
        _ts(row["created_at"]), bool(row["hidden"]),
    )  # fmt: skip


_USER_COLS = "id, username, email, is_admin, created_at"
_COMMENT_SQL = (
    f"SELECT c.id, c.paper_id, c.user_id, COALESCE(u.username, '{DELETED_USER}') AS username,"
    " c.body, c.created_at, c.hidden FROM comments c LEFT JOIN users u ON u.id = c.user_id"
)


def _resolve(conn: sqlite3.Connection, paper_id: str) -> str | None:
    """The current id of a paper (aliases of merged seed cards included), None if unknown."""
    row = conn.execute("SELECT paper_id FROM paper_aliases WHERE alias = ?", (paper_id,)).fetchone()
    pid = row[0] if row else paper_id
    row = conn.execute("SELECT id FROM papers WHERE id = ? AND hidden = 0", (pid,)).fetchone()
    return row[0] if row else None


class SQLiteAccounts:
    _db: Database

    # -- users --------------------------------------------------------------------------
    def create_user(self, username: str, password_hash: str, *, email: str | None = None) -> User:
        with self._db.writer() as conn:
            first = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM users)").fetchone()[0]
            try:
                cur = conn.execute(
                    "INSERT INTO users (username, email, password_hash, is_admin, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (username, email, password_hash, int(first), _now()),
                )
            except sqlite3.IntegrityError:
                raise UsernameTaken(f"the name {username!r} is taken") from None
            row = conn.execute(f"SELECT {_USER_COLS} FROM users WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _user(row)

    def get_user(self, user_id: int) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(f"SELECT {_USER_COLS} FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def get_user_by_name(self, username: str) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(f"SELECT {_USER_COLS} FROM users WHERE username = ?", (username,)).fetchone()
        return _user(row) if row else None

    def get_password_hash(self, user_id: int) -> str | None:
        with self._db.reader() as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
        return row[0] if row else None

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self._db.writer() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    def set_admin(self, username: str, is_admin: bool) -> bool:
        with self._db.writer() as conn:
            cur = conn.execute("UPDATE users SET is_admin = ? WHERE username = ?", (int(is_admin), username))
            return cur.rowcount > 0

    def list_users(self) -> list[User]:
        with self._db.reader() as conn:
            return [_user(r) for r in conn.execute(f"SELECT {_USER_COLS} FROM users ORDER BY id")]

    # -- sessions and tokens ------------------------------------------------------------
    def create_session(self, user_id: int, token_hash: str, expires_at: datetime) -> None:
        with self._db.writer() as conn:
            now = _now()
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (token_hash, user_id, now, expires_at.astimezone(UTC).isoformat()),
            )

    def get_session_user(self, token_hash: str, now: datetime) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(
                f"SELECT {', '.join('u.' + c.strip() for c in _USER_COLS.split(','))}"
                " FROM sessions s JOIN users u ON u.id = s.user_id"
                " WHERE s.token_hash = ? AND s.expires_at > ?",
                (token_hash, now.astimezone(UTC).isoformat()),
            ).fetchone()
        return _user(row) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self._db.writer() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def delete_user_sessions(self, user_id: int, *, keep: str | None = None) -> int:
        with self._db.writer() as conn:
            cur = conn.execute(
                "DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?", (user_id, keep)
            )
            return cur.rowcount

    def create_api_token(self, user_id: int, name: str, token_hash: str) -> ApiToken:
        now = _now()
        with self._db.writer() as conn:
            cur = conn.execute(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
                (user_id, name, token_hash, now),
            )
        return ApiToken(cur.lastrowid or 0, user_id, name, _ts(now))

    def get_token_user(self, token_hash: str) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(
                f"SELECT {', '.join('u.' + c.strip() for c in _USER_COLS.split(','))}"
                " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
                (token_hash,),
            ).fetchone()
        return _user(row) if row else None

    # -- login throttling ---------------------------------------------------------------
    def record_login_failure(self, key: str, at: datetime) -> None:
        with self._db.writer() as conn:
            conn.execute(
                "INSERT INTO login_failures (key, at) VALUES (?, ?)",
                (key, at.astimezone(UTC).isoformat()),
            )

    def count_login_failures(self, key: str, since: datetime) -> int:
        with self._db.reader() as conn:
            return conn.execute(
                "SELECT COUNT(*) FROM login_failures WHERE key = ? AND at > ?",
                (key, since.astimezone(UTC).isoformat()),
            ).fetchone()[0]

    def clear_login_failures(self, key: str) -> None:
        with self._db.writer() as conn:
            conn.execute("DELETE FROM login_failures WHERE key = ?", (key,))

    # -- votes --------------------------------------------------------------------------
    def set_vote(self, user_id: int, paper_id: str, voted: bool | None = None) -> VoteResult | None:
        with self._db.writer() as conn:
            pid = _resolve(conn, paper_id)
            if pid is None:
                return None
            exists = conn.execute(
                "SELECT 1 FROM votes WHERE user_id = ? AND paper_id = ?", (user_id, pid)
            ).fetchone() is not None
            want = (not exists) if voted is None else voted
            if want and not exists:
                conn.execute(
                    "INSERT INTO votes (user_id, paper_id, created_at) VALUES (?, ?, ?)",
                    (user_id, pid, _now()),
                )
            elif exists and not want:
                conn.execute("DELETE FROM votes WHERE user_id = ? AND paper_id = ?", (user_id, pid))
            # Recount rather than increment: the stored count is exact even if it ever drifted.
            conn.execute(
                "UPDATE papers SET upvotes = base_upvotes"
                " + (SELECT COUNT(*) FROM votes WHERE paper_id = papers.id) WHERE id = ?",
                (pid,),
            )
            upvotes = conn.execute("SELECT upvotes FROM papers WHERE id = ?", (pid,)).fetchone()[0]
        return VoteResult(want, upvotes)

    def voted_ids(self, user_id: int, paper_ids: list[str]) -> set[str]:
        if not paper_ids:
            return set()
        out: set[str] = set()
        with self._db.reader() as conn:
            for i in range(0, len(paper_ids), 900):
                part = paper_ids[i : i + 900]
                out.update(
                    r[0]
                    for r in conn.execute(
                        f"SELECT paper_id FROM votes WHERE user_id = ? AND paper_id IN ({','.join('?' * len(part))})",
                        [user_id, *part],
                    )
                )
        return out

    # -- comments -----------------------------------------------------------------------
    def add_comment(self, paper_id: str, user_id: int, body: str) -> Comment | None:
        with self._db.writer() as conn:
            pid = _resolve(conn, paper_id)
            if pid is None:
                return None
            cur = conn.execute(
                "INSERT INTO comments (paper_id, user_id, body, created_at) VALUES (?, ?, ?, ?)",
                (pid, user_id, body, _now()),
            )
            row = conn.execute(_COMMENT_SQL + " WHERE c.id = ?", (cur.lastrowid,)).fetchone()
        return _comment(row)

    def get_comment(self, comment_id: int) -> Comment | None:
        with self._db.reader() as conn:
            row = conn.execute(_COMMENT_SQL + " WHERE c.id = ?", (comment_id,)).fetchone()
        return _comment(row) if row else None

    def list_comments(self, paper_id: str, *, include_hidden: bool = False) -> list[Comment]:
        sql = _COMMENT_SQL + " WHERE c.paper_id = ?"
        if not include_hidden:
            sql += " AND c.hidden = 0"
        with self._db.reader() as conn:
            row = conn.execute("SELECT paper_id FROM paper_aliases WHERE alias = ?", (paper_id,)).fetchone()
            pid = row[0] if row else paper_id
            return [_comment(r) for r in conn.execute(sql + " ORDER BY c.created_at, c.id", (pid,))]

    def delete_comment(self, comment_id: int) -> bool:
        with self._db.writer() as conn:
            return conn.execute("DELETE FROM comments WHERE id = ?", (comment_id,)).rowcount > 0

    def set_comment_hidden(self, comment_id: int, hidden: bool) -> bool:
        with self._db.writer() as conn:
            cur = conn.execute("UPDATE comments SET hidden = ? WHERE id = ?", (int(hidden), comment_id))
            return cur.rowcount > 0

    def comment_counts(self, paper_ids: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._db.reader() as conn:
            for i in range(0, len(paper_ids), 900):
                part = paper_ids[i : i + 900]
                out.update(
                    conn.execute(
                        "SELECT paper_id, COUNT(*) FROM comments WHERE hidden = 0"
                        f" AND paper_id IN ({','.join('?' * len(part))}) GROUP BY paper_id",
                        part,
                    ).fetchall()
                )
        return out

    # -- ranking and stats inputs -------------------------------------------------------
    def trending_candidates(
        self, start: date, end: date, *, category: str | None = None
    ) -> list[TrendingCandidate]:
        sql = (
            "SELECT p.id, p.upvotes, p.feed_day,"
            " (SELECT COUNT(*) FROM comments c WHERE c.paper_id = p.id AND c.hidden = 0)"
            " FROM papers p INDEXED BY papers_trending"
            " WHERE p.feed_day >= ? AND p.feed_day <= ? AND p.hidden = 0"
        )
        args: list[object] = [start.isoformat(), end.isoformat()]
        if category:
            sql += (
                " AND (p.primary_category = ?"
                " OR EXISTS (SELECT 1 FROM json_each(p.categories) WHERE value = ?))"
            )
            args += [category, category]
        with self._db.reader() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [TrendingCandidate(r[0], r[1], r[3], date.fromisoformat(r[2])) for r in rows]

    def trending_top(
        self,
        start: date,
        end: date,
        now: datetime,
        *,
        gravity: float,
        comment_weight: float,
        age_offset_hours: float,
        category: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[tuple[TrendingCandidate, float]]:
        """The same ranking in one statement: SQLite scores the covering index and keeps a
        top-N heap, instead of shipping every candidate of 30 days to Python."""
        sql = (
            "WITH cc AS (SELECT paper_id, COUNT(*) AS n FROM comments WHERE hidden = 0 GROUP BY paper_id),"
            " c AS (SELECT p.id, p.upvotes, p.feed_day, COALESCE(cc.n, 0) AS comments,"
            "   max(0.0, (julianday(?) - julianday(p.feed_day)) * 24.0) AS age"
            "   FROM papers p INDEXED BY papers_trending LEFT JOIN cc ON cc.paper_id = p.id"
            "   WHERE p.feed_day >= ? AND p.feed_day <= ? AND p.hidden = 0{cat})"
            " SELECT id, upvotes, feed_day, comments,"
            "   (upvotes + ? * comments) / pow(age + ?, ?) AS score"
            " FROM c ORDER BY score DESC, feed_day DESC, id ASC LIMIT ? OFFSET ?"
        )
        cat = ""
        args: list[object] = [now.astimezone(UTC).isoformat(), start.isoformat(), end.isoformat()]
        if category:
            cat = (
                " AND (p.primary_category = ?"
                " OR EXISTS (SELECT 1 FROM json_each(p.categories) WHERE value = ?))"
            )
            args += [category, category]
        args += [comment_weight, age_offset_hours, gravity, max(0, limit), max(0, offset)]
        try:
            with self._db.reader() as conn:
                rows = conn.execute(sql.format(cat=cat), args).fetchall()
        except sqlite3.OperationalError:  # an SQLite built without math functions (pow)
            return super().trending_top(  # type: ignore[misc]
                start, end, now, gravity=gravity, comment_weight=comment_weight,
                age_offset_hours=age_offset_hours, category=category, limit=limit, offset=offset,
            )  # fmt: skip
        return [
            (TrendingCandidate(r[0], r[1], r[3], date.fromisoformat(r[2])), r[4]) for r in rows
        ]

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
