"""Subscribers, saved searches and the digest outbox on PostgreSQL.

Same rules as the SQLite mixin (the statements both agree on are in ``store/digest.py``); where SQLite relies on its single writer, this one relies on
unique constraints (``ON CONFLICT``) and row locks, so two workers planning or subscribing at
once still produce one row each.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ..digest import (
    OutboxItem,
    OutboxKind,
    OutboxPlan,
    OutboxStatus,
    SavedSearch,
    Subscriber,
    SubscriberKind,
    SubscriberStatus,
    subscriber_from_row,
)
from ..sql import POSTGRES
from .database import Conn, Database


def _dt(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _subscriber(row: dict[str, Any]) -> Subscriber:
    return subscriber_from_row(row, POSTGRES)


def _saved(row: dict[str, Any]) -> SavedSearch:
    return SavedSearch(
        id=row["id"],
        user_id=row["user_id"],
        subscriber_id=row["subscriber_id"],
        query=row["query"],
        category=row["category"] or None,
        last_day=row["last_day"],
        created_at=row["created_at"].astimezone(UTC),
    )


def _by_id(conn: Conn, subscriber_id: int) -> Subscriber:
    return _subscriber(conn.execute("SELECT * FROM subscribers WHERE id = %s", (subscriber_id,)).fetchone())


class PostgresDigest:
    _db: Database

    # -- subscribers -------------------------------------------------------------------
    def upsert_subscriber(
        self, email: str, kind: SubscriberKind, *, confirmed: bool = False, user_id: int | None = None
    ) -> tuple[Subscriber, bool]:
        now = datetime.now(UTC)
        with self._db.writer() as conn:
            status = "confirmed" if confirmed else "pending"
            row = conn.execute(
                "INSERT INTO subscribers (email, kind, status, user_id, created_at, confirmed_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT ((lower(email))) DO NOTHING RETURNING *",
                (email, kind, status, user_id, now, now if confirmed else None, now),
            ).fetchone()
            if row is not None:
                return _subscriber(row), True
            row = conn.execute(
                "SELECT * FROM subscribers WHERE lower(email) = lower(%s) FOR UPDATE", (email,)
            ).fetchone()
            sets: dict[str, object] = {"updated_at": now}
            if confirmed:
                sets.update(status="confirmed", kind=kind, bounces=0)
                if row["status"] != "confirmed":
                    sets["confirmed_at"] = now
            elif row["status"] in ("unsubscribed", "bouncing"):
                sets.update(status="pending", kind=kind, bounces=0)
            elif row["status"] == "pending":
                sets["kind"] = kind
            if user_id is not None and row["user_id"] is None:
                sets["user_id"] = user_id
            # Column names come from the literals above, never from input.
            conn.execute(
                f"UPDATE subscribers SET {', '.join(f'{k} = %s' for k in sets)} WHERE id = %s",
                [*sets.values(), row["id"]],
            )
            return _by_id(conn, row["id"]), False

    def get_subscriber_by_email(self, email: str) -> Subscriber | None:
        with self._db.reader() as conn:
            row = conn.execute("SELECT * FROM subscribers WHERE lower(email) = lower(%s)", (email,)).fetchone()
        return _subscriber(row) if row else None

    def list_subscribers(
        self, *, status: SubscriberStatus | None = None, kind: SubscriberKind | None = None
    ) -> list[Subscriber]:
        where, args = [], []
        if status:
            where.append("status = %s")
            args.append(status)
        if kind:
            where.append("kind = %s")
            args.append(kind)
        sql = "SELECT * FROM subscribers"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db.reader() as conn:
            return [_subscriber(r) for r in conn.execute(sql + " ORDER BY id", args)]

    def confirm_subscriber(
        self, subscriber_id: int, kind: SubscriberKind | None, issued_at: datetime
    ) -> Subscriber | None:
        with self._db.writer() as conn:
            row = conn.execute(
                "SELECT * FROM subscribers WHERE id = %s FOR UPDATE", (subscriber_id,)
            ).fetchone()
            if row is None:
                return None
            left = _dt(row["unsubscribed_at"])
            if left is not None and issued_at <= left:
                return None
            conn.execute(
                "UPDATE subscribers SET status = 'confirmed', kind = COALESCE(%s, kind), bounces = 0,"
                " confirmed_at = COALESCE(confirmed_at, now()), updated_at = now() WHERE id = %s",
                (kind, subscriber_id),
            )
            return _by_id(conn, subscriber_id)

    def remove_subscriber(self, email: str) -> bool:
        with self._db.writer() as conn:
            return conn.execute("DELETE FROM subscribers WHERE lower(email) = lower(%s)", (email,)).rowcount > 0

    def link_subscriber_user(self, subscriber_id: int, user_id: int) -> None:
        with self._db.writer() as conn:
            conn.execute(
                "UPDATE subscribers SET user_id = %s, updated_at = now() WHERE id = %s", (user_id, subscriber_id)
            )

    # -- saved searches ----------------------------------------------------------------
    def add_saved_search(
        self, user_id: int, subscriber_id: int, query: str, category: str | None, last_day: date | None
    ) -> tuple[SavedSearch, bool]:
        with self._db.writer() as conn:
            row = conn.execute(
                "INSERT INTO saved_searches (user_id, subscriber_id, query, category, last_day, created_at)"
                " VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (user_id, query, category) DO NOTHING"
                " RETURNING *",
                (user_id, subscriber_id, query, category or "", last_day),
            ).fetchone()
            if row is not None:
                return _saved(row), True
            row = conn.execute(
                "SELECT * FROM saved_searches WHERE user_id = %s AND query = %s AND category = %s",
                (user_id, query, category or ""),
            ).fetchone()
        return _saved(row), False

    def list_saved_searches(
        self, *, user_id: int | None = None, subscriber_id: int | None = None
    ) -> list[SavedSearch]:
        where, args = [], []
        if user_id is not None:
            where.append("user_id = %s")
            args.append(user_id)
        if subscriber_id is not None:
            where.append("subscriber_id = %s")
            args.append(subscriber_id)
        sql = "SELECT * FROM saved_searches"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db.reader() as conn:
            return [_saved(r) for r in conn.execute(sql + " ORDER BY subscriber_id, id", args)]

    def delete_saved_search(self, saved_search_id: int, user_id: int) -> bool:
        with self._db.writer() as conn:
            cur = conn.execute(
                "DELETE FROM saved_searches WHERE id = %s AND user_id = %s", (saved_search_id, user_id)
            )
            return cur.rowcount > 0

    # -- outbox ------------------------------------------------------------------------
    def plan_outbox(self, plans: list[OutboxPlan], *, now: datetime) -> list[int]:
        inserted: list[int] = []
        with self._db.writer() as conn:
            for plan in plans:
                row = conn.execute(
                    "INSERT INTO outbox (subscriber_id, kind, period, payload, next_attempt_at, planned_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (subscriber_id, kind, period) DO NOTHING"
                    " RETURNING id",
                    (plan.subscriber_id, plan.kind, plan.period, plan.payload, now, now),
                ).fetchone()
                if row is None:
                    continue
                inserted.append(row["id"])
                if plan.alert_marks:
                    with conn.cursor() as cur:
                        cur.executemany(
                            "UPDATE saved_searches SET last_day = %s WHERE id = %s"
                            " AND (last_day IS NULL OR last_day < %s)",
                            [(d, sid, d) for sid, d in plan.alert_marks],
                        )
        return inserted

    def due_outbox(self, *, now: datetime, limit: int, ids: list[int] | None = None) -> list[OutboxItem]:
        sql = (
            "SELECT o.*, s.email, s.status AS subscriber_status FROM outbox o"
            " JOIN subscribers s ON s.id = o.subscriber_id"
            " WHERE o.status = 'pending' AND o.next_attempt_at <= %s"
        )
        args: list[object] = [now]
        if ids is not None:
            if not ids:
                return []
            sql += " AND o.id = ANY(%s)"
            args.append(list(ids))
        sql += " ORDER BY o.next_attempt_at, o.id LIMIT %s"
        with self._db.reader() as conn:
            rows = conn.execute(sql, [*args, limit]).fetchall()
        return [
            OutboxItem(
                id=r["id"],
                subscriber_id=r["subscriber_id"],
                email=r["email"],
                kind=r["kind"],
                period=r["period"],
                payload=r["payload"],
                status=r["status"],
                attempts=r["attempts"],
                subscriber_status=r["subscriber_status"],
            )
            for r in rows
        ]

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
        sets = ["status = %s"]
        args: list[object] = [status]
        if status == "sent":
            sets.append("sent_at = %s")
            args.append(now)
        if error is not None:
            sets.append("last_error = %s")
            args.append(error[:500])
        if next_attempt_at is not None:
            sets.append("next_attempt_at = %s")
            args.append(next_attempt_at)
        if count_attempt:
            sets.append("attempts = attempts + 1")
        with self._db.writer() as conn:
            conn.execute(f"UPDATE outbox SET {', '.join(sets)} WHERE id = %s", [*args, outbox_id])
            if status == "sent":
                conn.execute(
                    "UPDATE subscribers SET bounces = 0 WHERE bounces > 0"
                    " AND id = (SELECT subscriber_id FROM outbox WHERE id = %s)",
                    (outbox_id,),
                )

    def get_outbox_status(self, outbox_id: int) -> tuple[OutboxStatus, str | None] | None:
        with self._db.reader() as conn:
            row = conn.execute("SELECT status, last_error FROM outbox WHERE id = %s", (outbox_id,)).fetchone()
        return (row["status"], row["last_error"]) if row else None

    def next_outbox_attempt(self, *, ids: list[int] | None = None) -> datetime | None:
        sql = "SELECT MIN(next_attempt_at) AS t FROM outbox WHERE status = 'pending'"
        args: list[object] = []
        if ids is not None:
            if not ids:
                return None
            sql += " AND id = ANY(%s)"
            args.append(list(ids))
        with self._db.reader() as conn:
            value = conn.execute(sql, args).fetchone()["t"]
        return _dt(value)

    def record_bounce(self, subscriber_id: int, *, limit: int, now: datetime) -> SubscriberStatus:
        with self._db.writer() as conn:
            row = conn.execute(
                "UPDATE subscribers SET bounces = bounces + 1, updated_at = %s,"
                " status = CASE WHEN bounces + 1 >= %s AND status = 'confirmed' THEN 'bouncing' ELSE status END"
                " WHERE id = %s RETURNING status",
                (now, max(1, limit), subscriber_id),
            ).fetchone()
            if row and row["status"] == "bouncing":
                conn.execute(
                    "UPDATE outbox SET status = 'skipped', last_error = 'address is bouncing'"
                    " WHERE subscriber_id = %s AND status = 'pending'",
                    (subscriber_id,),
                )
        return row["status"] if row else "pending"

    def resume_outbox(self, *, now: datetime) -> int:
        with self._db.writer() as conn:
            return conn.execute(
                "UPDATE outbox SET status = 'sent', sent_at = %s,"
                " last_error = 'interrupted after the message was handed over; counted as sent'"
                " WHERE status = 'sending'",
                (now,),
            ).rowcount

    def outbox_counts(self, *, kind: str | None = None, period: str | None = None) -> dict[str, int]:
        where, args = [], []
        if kind:
            where.append("kind = %s")
            args.append(kind)
        if period:
            where.append("period = %s")
            args.append(period)
        sql = "SELECT status, COUNT(*) AS n FROM outbox"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db.reader() as conn:
            return {r["status"]: r["n"] for r in conn.execute(sql + " GROUP BY status", args)}

    def recent_outbox(self, subscriber_id: int, kind: OutboxKind, since: datetime) -> int:
        with self._db.reader() as conn:
            return conn.execute(
                "SELECT COUNT(*) AS n FROM outbox WHERE subscriber_id = %s AND kind = %s AND planned_at >= %s",
                (subscriber_id, kind, since),
            ).fetchone()["n"]
