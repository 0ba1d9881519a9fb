"""The digest domain of the store: subscribers, saved-search alerts, and the outbox.

The outbox is what makes digest sending exactly-once: planning inserts one row per
(subscriber, kind, period) under a unique key, and every state change of a row is its own
transaction, so a sender killed at any point can be re-run and pick up where it stopped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

SubscriberKind = Literal["daily", "weekly", "none"]
"""Which trending digest an address gets; ``none`` means saved-search alerts only."""
SubscriberStatus = Literal["pending", "confirmed", "unsubscribed", "bouncing"]
OutboxKind = Literal["daily", "weekly", "alerts", "confirm"]
OutboxStatus = Literal["pending", "sending", "sent", "failed", "skipped"]


@dataclass(slots=True)
class Subscriber:
    id: int
    email: str
    kind: SubscriberKind
    status: SubscriberStatus
    user_id: int | None
    bounces: int
    created_at: datetime
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None

    def to_public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "kind": self.kind,
            "status": self.status,
            "user_id": self.user_id,
            "bounces": self.bounces,
            "created_at": self.created_at.isoformat(),
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "unsubscribed_at": self.unsubscribed_at.isoformat() if self.unsubscribed_at else None,
        }


@dataclass(slots=True)
class SavedSearch:
    id: int
    user_id: int
    subscriber_id: int
    query: str
    category: str | None
    last_day: date | None
    created_at: datetime


@dataclass(slots=True)
class OutboxPlan:
    """One email to plan. ``alert_marks`` advance saved searches in the same transaction,
    so a paper is never in two alert emails and never skipped by a crash between the two."""

    subscriber_id: int
    kind: OutboxKind
    period: str
    payload: str
    alert_marks: list[tuple[int, date]] = field(default_factory=list)


@dataclass(slots=True)
class OutboxItem:
    id: int
    subscriber_id: int
    email: str
    kind: OutboxKind
    period: str
    payload: str
    status: OutboxStatus
    attempts: int
    subscriber_status: SubscriberStatus


class SubscriberExists(Exception):
    pass


class DigestStore(ABC):
    # -- subscribers -------------------------------------------------------------------
    @abstractmethod
    def upsert_subscriber(
        self, email: str, kind: SubscriberKind, *, confirmed: bool = False, user_id: int | None = None
    ) -> tuple[Subscriber, bool]:
        """One row per address (case-insensitive); returns (subscriber, created).

        An existing confirmed address keeps its status (and kind, unless ``confirmed``): a
        kind change from an unauthenticated form waits for the confirmation link.
        An unsubscribed or bouncing address goes back to pending (or confirmed).
        """

    @abstractmethod
    def get_subscriber(self, subscriber_id: int) -> Subscriber | None: ...

    @abstractmethod
    def get_subscriber_by_email(self, email: str) -> Subscriber | None: ...

    @abstractmethod
    def list_subscribers(
        self, *, status: SubscriberStatus | None = None, kind: SubscriberKind | None = None
    ) -> list[Subscriber]: ...

    @abstractmethod
    def confirm_subscriber(
        self, subscriber_id: int, kind: SubscriberKind | None, issued_at: datetime
    ) -> Subscriber | None:
        """Confirm from a link issued at ``issued_at``; None if the link predates an
        unsubscribe (an old link must not resubscribe someone who left)."""

    @abstractmethod
    def unsubscribe(self, subscriber_id: int) -> Subscriber | None:
        """Stop all mail to the address; pending outbox rows become skipped."""

    @abstractmethod
    def remove_subscriber(self, email: str) -> bool:
        """Delete the address and everything planned for it."""

    @abstractmethod
    def link_subscriber_user(self, subscriber_id: int, user_id: int) -> None: ...

    # -- saved searches ----------------------------------------------------------------
    @abstractmethod
    def add_saved_search(
        self, user_id: int, subscriber_id: int, query: str, category: str | None, last_day: date | None
    ) -> tuple[SavedSearch, bool]:
        """Returns (saved search, created); saving the same query twice keeps one."""

    @abstractmethod
    def list_saved_searches(
        self, *, user_id: int | None = None, subscriber_id: int | None = None
    ) -> list[SavedSearch]: ...

    @abstractmethod
    def delete_saved_search(self, saved_search_id: int, user_id: int) -> bool: ...

    # -- outbox ------------------------------------------------------------------------
    @abstractmethod
    def plan_outbox(self, plans: list[OutboxPlan], *, now: datetime) -> list[int]:
        """Insert rows not planned before (others are left alone, their alert marks too);
        returns the ids of the rows inserted."""

    @abstractmethod
    def due_outbox(self, *, now: datetime, limit: int, ids: list[int] | None = None) -> list[OutboxItem]:
        """Pending rows whose next attempt is due, oldest first."""

    @abstractmethod
    def mark_outbox(
        self,
        outbox_id: int,
        status: OutboxStatus,
        *,
        now: datetime,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
        count_attempt: bool = False,
    ) -> None:
        """One state change in its own transaction; ``sent`` also resets the address's bounces."""

    @abstractmethod
    def get_outbox_status(self, outbox_id: int) -> tuple[OutboxStatus, str | None] | None:
        """A row's status and last error."""

    @abstractmethod
    def next_outbox_attempt(self, *, ids: list[int] | None = None) -> datetime | None:
        """When the earliest pending row is due (retries wait with backoff)."""

    @abstractmethod
    def record_bounce(self, subscriber_id: int, *, limit: int, now: datetime) -> SubscriberStatus:
        """Count a permanent failure; at ``limit`` the address becomes ``bouncing``."""

    @abstractmethod
    def resume_outbox(self, *, now: datetime) -> int:
        """After a crash: rows left in ``sending`` count as sent (see digest/outbox.py)."""

    @abstractmethod
    def outbox_counts(self, *, kind: str | None = None, period: str | None = None) -> dict[str, int]: ...

    @abstractmethod
    def recent_outbox(self, subscriber_id: int, kind: OutboxKind, since: datetime) -> int:
        """How many rows of this kind were planned for the address since ``since``."""
