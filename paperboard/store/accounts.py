"""The accounts domain: users, sessions, API tokens, votes, comments, login throttling.

Votes live here (not in the papers domain) because a vote is a user's act; the store keeps
``papers.upvotes`` equal to imported upvotes plus user votes inside the same transaction as
the vote itself, so every reader sees an exact count without a join.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, date, datetime


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
    # -- users --------------------------------------------------------------------------
    @abstractmethod
    def create_user(self, username: str, password_hash: str, *, email: str | None = None) -> User:
        """The first user ever created is an admin. Raises ``UsernameTaken``."""

    @abstractmethod
    def get_user(self, user_id: int) -> User | None: ...

    @abstractmethod
    def get_user_by_name(self, username: str) -> User | None: ...

    @abstractmethod
    def get_password_hash(self, user_id: int) -> str | None: ...

    @abstractmethod
    def set_password_hash(self, user_id: int, password_hash: str) -> None: ...

    @abstractmethod
    def set_admin(self, username: str, is_admin: bool) -> bool:
        """False when there is no such user."""

    @abstractmethod
    def list_users(self) -> list[User]: ...

    # -- sessions and API tokens (only hashes of secrets are stored) ----------------------
    @abstractmethod
    def create_session(self, user_id: int, token_hash: str, expires_at: datetime) -> None: ...

    @abstractmethod
    def get_session_user(self, token_hash: str, now: datetime) -> User | None:
        """The user of an unexpired session."""

    @abstractmethod
    def delete_session(self, token_hash: str) -> None: ...

    @abstractmethod
    def delete_user_sessions(self, user_id: int, *, keep: str | None = None) -> int:
        """Log a user out everywhere (after a password change), except session ``keep``."""

    @abstractmethod
    def create_api_token(self, user_id: int, name: str, token_hash: str) -> ApiToken: ...

    @abstractmethod
    def get_token_user(self, token_hash: str) -> User | None: ...

    # -- login throttling ---------------------------------------------------------------
    @abstractmethod
    def record_login_failure(self, key: str, at: datetime) -> None: ...

    @abstractmethod
    def count_login_failures(self, key: str, since: datetime) -> int: ...

    @abstractmethod
    def clear_login_failures(self, key: str) -> None: ...

    # -- votes --------------------------------------------------------------------------
    @abstractmethod
    def set_vote(self, user_id: int, paper_id: str, voted: bool | None = None) -> VoteResult | None:
        """Vote, unvote, or toggle (``voted=None``); None when the paper does not exist.

        Idempotent per (user, paper): a second vote changes nothing, even concurrently.
        """

    @abstractmethod
    def voted_ids(self, user_id: int, paper_ids: list[str]) -> set[str]: ...

    # -- comments -----------------------------------------------------------------------
    @abstractmethod
    def add_comment(self, paper_id: str, user_id: int, body: str) -> Comment | None:
        """None when the paper does not exist."""

    @abstractmethod
    def get_comment(self, comment_id: int) -> Comment | None: ...

    @abstractmethod
    def list_comments(self, paper_id: str, *, include_hidden: bool = False) -> list[Comment]: ...

    @abstractmethod
    def delete_comment(self, comment_id: int) -> bool: ...

    @abstractmethod
    def set_comment_hidden(self, comment_id: int, hidden: bool) -> bool: ...

    @abstractmethod
    def comment_counts(self, paper_ids: list[str]) -> dict[str, int]:
        """Visible comments per paper; papers without comments are absent."""

    # -- ranking and stats inputs -------------------------------------------------------
    @abstractmethod
    def trending_candidates(
        self, start: date, end: date, *, category: str | None = None
    ) -> list[TrendingCandidate]:
        """Visible papers of feed days ``start..end`` with their vote and comment counts."""

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

        Ties go to the newer feed day, then the smaller id. This default ranks
        ``trending_candidates`` in Python; a backend may override it to rank in SQL (the
        tests hold both to the same answer). ``age_hours`` counts from 00:00 UTC of the feed
        day and is never negative.
        """
        decay_by_day: dict[date, float] = {}
        scored = []
        for c in self.trending_candidates(start, end, category=category):
            decay = decay_by_day.get(c.feed_day)
            if decay is None:
                day_start = datetime(c.feed_day.year, c.feed_day.month, c.feed_day.day, tzinfo=UTC)
                age = max(0.0, (now - day_start).total_seconds() / 3600)
                decay = decay_by_day[c.feed_day] = (age + age_offset_hours) ** gravity
            scored.append((c, (c.upvotes + comment_weight * c.comments) / decay))
        scored.sort(key=lambda t: (-t[1], -t[0].feed_day.toordinal(), t[0].paper_id))
        return scored[max(0, offset) : max(0, offset) + max(0, limit)]

    @abstractmethod
    def papers_per_day(self, start: date, end: date) -> list[DayCount]: ...

    @abstractmethod
    def upvotes_per_feed_day(self, start: date, end: date) -> list[DayCount]:
        """Upvotes (imported and cast here) of the papers of each feed day."""

    @abstractmethod
    def votes_cast_per_day(self, start: date, end: date) -> list[DayCount]: ...
