"""The accounts domain: users, sessions, API tokens, votes, comments, login throttling.

Votes live here (not in the papers domain) because a vote is a user's act; the store keeps
``papers.upvotes`` equal to imported upvotes plus user votes inside the same transaction as
the vote itself, so every reader sees an exact count without a join.

The statements on which SQLite and PostgreSQL agree are written once here (``store.sql``);
``sqlite/accounts.py`` and ``postgres/accounts.py`` keep what differs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from ..ids import lookup_key
from .sql import Dialect, now

T = TypeVar("T")
CHUNK = 500
"""Ids per ``IN`` list: far below SQLite's bind limit."""
USER_COLS = "u.id, u.username, u.email, u.is_admin, u.created_at"


class UsernameTaken(ValueError):
    """Sign-up with a name that exists (case-insensitively).

    Not a ``StoreError`` subclass: ``base`` imports this module, so it cannot import ``base``.
    """


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    email: str | None
    is_admin: bool
    created_at: datetime


DELETED_USER = "deleted user"
"""The author shown on a comment whose account is gone (no user name can look like it)."""


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    paper_id: str
    user_id: int | None
    """None once its author deleted their account and chose to leave their comments."""
    username: str
    body: str
    created_at: datetime
    hidden: bool


COMMENT_SQL = (
    f"SELECT c.id, c.paper_id, c.user_id, COALESCE(u.username, '{DELETED_USER}') AS username,"
    " c.body, c.created_at, c.hidden FROM comments c LEFT JOIN users u ON u.id = c.user_id"
)


def chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VoteResult:
    voted: bool
    """Whether the user's vote stands after the call."""
    upvotes: int
    """The paper's count after the call."""


@dataclass(frozen=True, slots=True)
class TrendingCandidate:
    """The few columns the trending score needs, so ranking thousands of papers stays cheap."""

    paper_id: str
    upvotes: int
    comments: int
    feed_day: date


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    count: int


class AccountStore(ABC):
    """The interface, plus the statements both backends share (``store.sql``: ``?``
    placeholders, ``ts``/``read_ts``/``flag``). The backends keep only what differs: how a
    name is matched case-insensitively, "the first user is an admin" under concurrency, and
    the ranking and stats queries."""

    _db: Any
    _dialect: Dialect

    def _q(self, text: str) -> str:
        return self._dialect.sql(text)

    def _utc(self, value: Any) -> datetime:
        return self._dialect.read_ts(value).astimezone(UTC)  # type: ignore[union-attr]

    def _user_of(self, row: Any) -> User:
        return User(row["id"], row["username"], row["email"], bool(row["is_admin"]), self._utc(row["created_at"]))

    def _comment_of(self, row: Any) -> Comment:
        return Comment(row["id"], row["paper_id"], row["user_id"], row["username"], row["body"],
                       self._utc(row["created_at"]), bool(row["hidden"]))  # fmt: skip

    def _write(self, work: Callable[[Any], T]) -> T:
        """``work`` in one write transaction, retried whole on PostgreSQL's deadlocks and
        serialization failures (SQLite has one writer: nothing to retry)."""
        run = getattr(self._db, "run", None)
        if run is not None:
            return run(work)
        with self._db.writer() as conn:
            return work(conn)

    def _one_user(self, sql: str, args: tuple[Any, ...]) -> User | None:
        with self._db.reader() as conn:
            row = conn.execute(self._q(sql), args).fetchone()
        return self._user_of(row) if row else None

    # -- users --------------------------------------------------------------------------
    @abstractmethod
    def create_user(self, username: str, password_hash: str, *, email: str | None = None) -> User:
        """The first user ever created is an admin. Raises ``UsernameTaken``."""

    def get_user(self, user_id: int) -> User | None:
        return self._one_user(f"SELECT {USER_COLS} FROM users u WHERE u.id = ?", (user_id,))

    @abstractmethod
    def get_user_by_name(self, username: str) -> User | None: ...

    def get_password_hash(self, user_id: int) -> str | None:
        with self._db.reader() as conn:
            row = conn.execute(self._q("SELECT password_hash FROM users WHERE id = ?"), (user_id,)).fetchone()
        return row["password_hash"] if row else None

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self._db.writer() as conn:
            conn.execute(self._q("UPDATE users SET password_hash = ? WHERE id = ?"), (password_hash, user_id))

    @abstractmethod
    def set_admin(self, username: str, is_admin: bool) -> bool:
        """False when there is no such user."""

    def list_users(self) -> list[User]:
        with self._db.reader() as conn:
            return [self._user_of(r) for r in conn.execute(f"SELECT {USER_COLS} FROM users u ORDER BY u.id")]

    # -- sessions and API tokens (only hashes of secrets are stored) ----------------------
    def create_session(self, user_id: int, token_hash: str, expires_at: datetime) -> None:
        d, t = self._dialect, now()
        with self._db.writer() as conn:
            conn.execute(self._q("DELETE FROM sessions WHERE expires_at < ?"), (d.ts(t),))
            conn.execute(
                self._q("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)"),
                (token_hash, user_id, d.ts(t), d.ts(expires_at.astimezone(UTC))),
            )

    def get_session_user(self, token_hash: str, now: datetime) -> User | None:
        """The user of an unexpired session."""
        return self._one_user(
            f"SELECT {USER_COLS} FROM sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = ? AND s.expires_at > ?",
            (token_hash, self._dialect.ts(now.astimezone(UTC))),
        )

    def delete_session(self, token_hash: str) -> None:
        with self._db.writer() as conn:
            conn.execute(self._q("DELETE FROM sessions WHERE token_hash = ?"), (token_hash,))

    def delete_user_sessions(self, user_id: int, *, keep: str | None = None) -> int:
        """Log a user out everywhere (after a password change), except session ``keep``."""
        with self._db.writer() as conn:
            cur = conn.execute(
                self._q("DELETE FROM sessions WHERE user_id = ? AND (CAST(? AS TEXT) IS NULL OR token_hash <> ?)"),
                (user_id, keep, keep),
            )
            return cur.rowcount

    def create_api_token(self, user_id: int, name: str, token_hash: str) -> ApiToken:
        with self._db.writer() as conn:
            row = conn.execute(
                self._q("INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)"
                        " RETURNING id, created_at"),
                (user_id, name, token_hash, self._dialect.ts(now())),
            ).fetchone()  # fmt: skip
        return ApiToken(row["id"], user_id, name, self._utc(row["created_at"]))

    def get_token_user(self, token_hash: str) -> User | None:
        return self._one_user(
            f"SELECT {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
            (token_hash,),
        )

    # -- login throttling ---------------------------------------------------------------
    def record_login_failure(self, key: str, at: datetime) -> None:
        with self._db.writer() as conn:
            conn.execute(self._q("INSERT INTO login_failures (key, at) VALUES (?, ?)"),
                         (key, self._dialect.ts(at.astimezone(UTC))))  # fmt: skip

    def count_login_failures(self, key: str, since: datetime) -> int:
        with self._db.reader() as conn:
            return conn.execute(
                self._q("SELECT COUNT(*) AS n FROM login_failures WHERE key = ? AND at > ?"),
                (key, self._dialect.ts(since.astimezone(UTC))),
            ).fetchone()["n"]

    def clear_login_failures(self, key: str) -> None:
        with self._db.writer() as conn:
            conn.execute(self._q("DELETE FROM login_failures WHERE key = ?"), (key,))

    # -- votes --------------------------------------------------------------------------
    def _visible_paper(self, conn: Any, paper_id: str, *, lock: bool = False) -> str | None:
        """The current id of a visible paper (aliases of merged seed cards followed). With
        ``lock``, PostgreSQL locks its row: votes on one paper queue, and the recount after
        the lock sees every vote committed before it."""
        lock_sql = " FOR NO KEY UPDATE" if lock and self._dialect.name == "postgresql" else ""
        paper_id = lookup_key(paper_id)
        row = conn.execute(
            self._q("SELECT id FROM papers WHERE hidden = ? AND id = COALESCE("
                    " (SELECT paper_id FROM paper_aliases WHERE alias = ?), ?)" + lock_sql),
            (self._dialect.flag(False), paper_id, paper_id),
        ).fetchone()  # fmt: skip
        return row["id"] if row else None

    def set_vote(self, user_id: int, paper_id: str, voted: bool | None = None) -> VoteResult | None:
        """Vote, unvote, or toggle (``voted=None``); None when the paper does not exist.

        Idempotent per (user, paper): a second vote changes nothing, even concurrently.
        """
        q = self._q

        def work(conn: Any) -> VoteResult | None:
            pid = self._visible_paper(conn, paper_id, lock=True)
            if pid is None:
                return None
            exists = conn.execute(
                q("SELECT 1 AS one FROM votes WHERE user_id = ? AND paper_id = ?"), (user_id, pid)
            ).fetchone() is not None  # fmt: skip
            want = (not exists) if voted is None else voted
            if want and not exists:
                conn.execute(q("INSERT INTO votes (user_id, paper_id, created_at) VALUES (?, ?, ?)"
                               " ON CONFLICT DO NOTHING"), (user_id, pid, self._dialect.ts(now())))  # fmt: skip
            elif exists and not want:
                conn.execute(q("DELETE FROM votes WHERE user_id = ? AND paper_id = ?"), (user_id, pid))
            # Recount rather than increment: the stored count is exact even if it ever drifted.
            row = conn.execute(
                q("UPDATE papers SET upvotes = base_upvotes"
                  " + (SELECT COUNT(*) FROM votes WHERE paper_id = papers.id) WHERE id = ? RETURNING upvotes"),
                (pid,),
            ).fetchone()  # fmt: skip
            return VoteResult(want, row["upvotes"])

        return self._write(work)

    def voted_ids(self, user_id: int, paper_ids: list[str]) -> set[str]:
        out: set[str] = set()
        with self._db.reader() as conn:
            for part in chunks(paper_ids):
                sql = f"SELECT paper_id FROM votes WHERE user_id = ? AND paper_id IN ({', '.join('?' * len(part))})"
                out.update(r["paper_id"] for r in conn.execute(self._q(sql), [user_id, *part]))
        return out

    # -- comments -----------------------------------------------------------------------
    def add_comment(self, paper_id: str, user_id: int, body: str) -> Comment | None:
        """None when the paper does not exist."""
        with self._db.writer() as conn:
            pid = self._visible_paper(conn, paper_id)
            if pid is None:
                return None
            row = conn.execute(
                self._q("INSERT INTO comments (paper_id, user_id, body, created_at) VALUES (?, ?, ?, ?) RETURNING id"),
                (pid, user_id, body, self._dialect.ts(now())),
            ).fetchone()
            row = conn.execute(self._q(COMMENT_SQL + " WHERE c.id = ?"), (row["id"],)).fetchone()
        return self._comment_of(row)

    def get_comment(self, comment_id: int) -> Comment | None:
        with self._db.reader() as conn:
            row = conn.execute(self._q(COMMENT_SQL + " WHERE c.id = ?"), (comment_id,)).fetchone()
        return self._comment_of(row) if row else None

    def list_comments(self, paper_id: str, *, include_hidden: bool = False) -> list[Comment]:
        sql = COMMENT_SQL + " WHERE c.paper_id = COALESCE((SELECT paper_id FROM paper_aliases WHERE alias = ?), ?)"
        args: list[Any] = [paper_id, paper_id]
        if not include_hidden:
            sql += " AND c.hidden = ?"
            args.append(self._dialect.flag(False))
        with self._db.reader() as conn:
            return [self._comment_of(r) for r in conn.execute(self._q(sql + " ORDER BY c.created_at, c.id"), args)]

    def delete_comment(self, comment_id: int) -> bool:
        with self._db.writer() as conn:
            return conn.execute(self._q("DELETE FROM comments WHERE id = ?"), (comment_id,)).rowcount > 0

    def set_comment_hidden(self, comment_id: int, hidden: bool) -> bool:
        with self._db.writer() as conn:
            cur = conn.execute(self._q("UPDATE comments SET hidden = ? WHERE id = ?"),
                               (self._dialect.flag(hidden), comment_id))  # fmt: skip
            return cur.rowcount > 0

    def comment_counts(self, paper_ids: list[str]) -> dict[str, int]:
        """Visible comments per paper; papers without comments are absent."""
        out: dict[str, int] = {}
        with self._db.reader() as conn:
            for part in chunks(paper_ids):
                sql = ("SELECT paper_id, COUNT(*) AS n FROM comments WHERE hidden = ?"
                       f" AND paper_id IN ({', '.join('?' * len(part))}) GROUP BY paper_id")  # fmt: skip
                out.update((r["paper_id"], r["n"]) for r in conn.execute(self._q(sql), [self._dialect.flag(False), *part]))
        return out

    # -- ranking and stats inputs -------------------------------------------------------
    @abstractmethod
    def trending_candidates(
        self, start: date, end: date, *, category: str | None = None, active_only: bool = False
    ) -> list[TrendingCandidate]:
        """Visible papers of feed days ``start..end`` with their vote and comment counts;
        ``active_only``: only those with an upvote or a visible comment."""

    @abstractmethod
    def quiet_papers(
        self, start: date, end: date, *, category: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[TrendingCandidate]:
        """Visible papers of feed days ``start..end`` with no upvote and no visible comment,
        newest feed day first, then by id (the order trending gives its zero scores)."""

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
        """The best ``(upvotes + comment_weight·comments) / (age_hours + age_offset)^gravity``.

        Ties go to the newer feed day, then the smaller id; ``age_hours`` counts from 00:00
        UTC of the feed day and is never negative. Only papers someone upvoted or commented
        on score above zero, and on a daily-papers site they are few (none of the 6,634
        papers of the 75k corpus's last 30 days): they are scored here, and the rest follow
        in their fixed order straight from an index, instead of scoring every paper of 30
        days per request (20 ms at 75k).
        """
        offset, limit = max(0, offset), max(0, limit)
        decay_by_day: dict[date, float] = {}
        scored = []
        for c in self.trending_candidates(start, end, category=category, active_only=comment_weight > 0):
            decay = decay_by_day.get(c.feed_day)
            if decay is None:
                day_start = datetime(c.feed_day.year, c.feed_day.month, c.feed_day.day, tzinfo=UTC)
                age = max(0.0, (now - day_start).total_seconds() / 3600)
                decay = decay_by_day[c.feed_day] = (age + age_offset_hours) ** gravity
            scored.append((c, (c.upvotes + comment_weight * c.comments) / decay))
        scored.sort(key=lambda t: (-t[1], -t[0].feed_day.toordinal(), t[0].paper_id))
        top = scored[offset : offset + limit]
        if comment_weight > 0 and len(top) < limit:
            rest = self.quiet_papers(
                start, end, category=category, limit=limit - len(top), offset=max(0, offset - len(scored))
            )
            top += [(c, 0.0) for c in rest]
        return top

    @abstractmethod
    def papers_per_day(self, start: date, end: date) -> list[DayCount]: ...

    @abstractmethod
    def upvotes_per_feed_day(self, start: date, end: date) -> list[DayCount]:
        """Upvotes (imported and cast here) of the papers of each feed day."""

    @abstractmethod
    def votes_cast_per_day(self, start: date, end: date) -> list[DayCount]: ...
