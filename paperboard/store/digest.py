"""The digest domain of the store: subscribers, saved-search alerts, and the outbox.

The outbox is what makes digest sending exactly-once: planning inserts one row per
(subscriber, kind, period) under a unique key, and every state change of a row is its own
transaction, so a sender killed at any point can be re-run and pick up where it stopped.

The statements on which SQLite and PostgreSQL agree are written once here (``store.sql``:
``?`` placeholders, ``ts``/``read_ts``); the backends' mixins keep only what differs (how an
address is matched case-insensitively, row locks, ``= ANY`` lists).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from .sql import Dialect, now

SubscriberKind = Literal["daily", "weekly", "none"]
"""Which trending digest an address gets; ``none`` means saved-search alerts only."""
SubscriberStatus = Literal["pending", "confirmed", "unsubscribed", "bouncing"]
ForyouCadence = Literal["off", "daily", "weekly"]
"""How often an address gets its user's "For you" recommendations (daily is weekdays only)."""
FORYOU_CADENCES: tuple[ForyouCadence, ...] = ("off", "daily", "weekly")
OutboxKind = Literal["daily", "weekly", "alerts", "confirm", "foryou"]
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
    foryou: ForyouCadence = "off"

    def to_public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "kind": self.kind,
            "foryou": self.foryou,
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


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def subscriber_from_row(row: Any, dialect: Dialect) -> Subscriber:
    """One mapping for both backends (ISO text on SQLite, ``timestamptz`` on PostgreSQL)."""
    return Subscriber(
        id=row["id"],
        email=row["email"],
        kind=row["kind"],
        status=row["status"],
        user_id=row["user_id"],
        bounces=row["bounces"],
        created_at=_utc(dialect.read_ts(row["created_at"])),  # type: ignore[arg-type]
        confirmed_at=_utc(dialect.read_ts(row["confirmed_at"])),
        unsubscribed_at=_utc(dialect.read_ts(row["unsubscribed_at"])),
        foryou=row["foryou"],
    )


class DigestStore(ABC):
    """The interface, plus the statements both backends share (``_db``/``_dialect`` come
    from the concrete store)."""

    _db: Any
    _dialect: Dialect

    def _subscriber_row(self, conn: Any, subscriber_id: int) -> Subscriber | None:
        row = conn.execute(self._dialect.sql("SELECT * FROM subscribers WHERE id = ?"), (subscriber_id,)).fetchone()
        return subscriber_from_row(row, self._dialect) if row else None

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

    def get_subscriber(self, subscriber_id: int) -> Subscriber | None:
        with self._db.reader() as conn:
            return self._subscriber_row(conn, subscriber_id)

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

    def unsubscribe(self, subscriber_id: int) -> Subscriber | None:
        """Stop all mail to the address; pending outbox rows become skipped. The For-you
        choice goes too: coming back to the trending digest later must not quietly restart it."""
        q, at = self._dialect.sql, self._dialect.ts(now())
        with self._db.writer() as conn:
            cur = conn.execute(
                q("UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?, confirmed_at = NULL,"
                  " foryou = 'off', updated_at = ? WHERE id = ?"),
                (at, at, subscriber_id),
            )  # fmt: skip
            if cur.rowcount == 0:
                return None
            conn.execute(
                q("UPDATE outbox SET status = 'skipped', last_error = 'unsubscribed'"
                  " WHERE subscriber_id = ? AND status = 'pending'"),
                (subscriber_id,),
            )  # fmt: skip
            return self._subscriber_row(conn, subscriber_id)

    # -- the "For you" digest -------------------------------------------------------------
    def set_foryou_digest(
        self, subscriber_id: int, cadence: ForyouCadence, *, user_id: int | None = None
    ) -> Subscriber | None:
        """Choose the address's For-you cadence; None when there is no such address (or, with
        ``user_id``, it is not that user's). Turning it on moves it off the user's other
        addresses in the same transaction (one per user); turning it off skips what is
        planned and not yet sent, so "off" takes effect at once."""
        if cadence not in FORYOU_CADENCES:
            raise ValueError(f"the For-you digest is off, daily or weekly, not {str(cadence)[:20]!r}")
        q, at = self._dialect.sql, self._dialect.ts(now())
        with self._db.writer() as conn:
            row = conn.execute(q("SELECT user_id FROM subscribers WHERE id = ?"), (subscriber_id,)).fetchone()
            if row is None or (user_id is not None and row["user_id"] != user_id):
                return None
            owner = row["user_id"]
            if cadence != "off" and owner is None:
                raise ValueError("the For-you digest needs an address that belongs to an account")
            if cadence != "off":
                others = [r["id"] for r in conn.execute(
                    q("SELECT id FROM subscribers WHERE user_id = ? AND id <> ? AND foryou <> 'off'"),
                    (owner, subscriber_id),
                )]  # fmt: skip
                for other in others:
                    self._foryou_off(conn, other, at)
            if cadence == "off":
                self._foryou_off(conn, subscriber_id, at)
            else:
                conn.execute(
                    q("UPDATE subscribers SET foryou = ?, updated_at = ? WHERE id = ?"), (cadence, at, subscriber_id)
                )
            return self._subscriber_row(conn, subscriber_id)

    def _foryou_off(self, conn: Any, subscriber_id: int, at: Any) -> None:
        q = self._dialect.sql
        conn.execute(q("UPDATE subscribers SET foryou = 'off', updated_at = ? WHERE id = ?"), (at, subscriber_id))
        conn.execute(
            q("UPDATE outbox SET status = 'skipped', last_error = 'For-you digest turned off'"
              " WHERE subscriber_id = ? AND kind = 'foryou' AND status = 'pending'"),
            (subscriber_id,),
        )  # fmt: skip

    def user_subscribers(self, user_id: int) -> list[Subscriber]:
        """The addresses linked to an account, in id order."""
        with self._db.reader() as conn:
            rows = conn.execute(
                self._dialect.sql("SELECT * FROM subscribers WHERE user_id = ? ORDER BY id"), (user_id,)
            ).fetchall()
        return [subscriber_from_row(r, self._dialect) for r in rows]

    def foryou_subscribers(self, cadence: ForyouCadence) -> list[Subscriber]:
        """Confirmed addresses of accounts that chose this cadence, in id order."""
        with self._db.reader() as conn:
            rows = conn.execute(
                self._dialect.sql(
                    "SELECT * FROM subscribers WHERE foryou = ? AND status = 'confirmed'"
                    " AND user_id IS NOT NULL ORDER BY id"
                ),
                (cadence,),
            ).fetchall()
        return [subscriber_from_row(r, self._dialect) for r in rows]

    def planned_subscribers(self, kind: OutboxKind, period: str) -> set[int]:
        """Addresses that already have a row of this kind and period: planning skips them
        before computing anything (a personal list costs a model fit)."""
        with self._db.reader() as conn:
            rows = conn.execute(
                self._dialect.sql("SELECT subscriber_id FROM outbox WHERE kind = ? AND period = ?"), (kind, period)
            ).fetchall()
        return {r["subscriber_id"] for r in rows}

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
