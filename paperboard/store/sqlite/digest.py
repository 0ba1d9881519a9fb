"""Subscribers, saved searches and the digest outbox on SQLite: what differs from PostgreSQL
(the statements both agree on are in ``store/digest.py``)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

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
from ..sql import SQLITE
from .database import Database


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _subscriber(row: sqlite3.Row) -> Subscriber:
    return subscriber_from_row(row, SQLITE)


def _saved(row: sqlite3.Row) -> SavedSearch:
    return SavedSearch(
        id=row["id"],
        user_id=row["user_id"],
        subscriber_id=row["subscriber_id"],
        query=row["query"],
        category=row["category"] or None,
        last_day=date.fromisoformat(row["last_day"]) if row["last_day"] else None,
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _now() -> str:
    return _ts(datetime.now(UTC))


class SQLiteDigest:
    _db: Database

    # -- subscribers -------------------------------------------------------------------
    def upsert_subscriber(
        self, email: str, kind: SubscriberKind, *, confirmed: bool = False, user_id: int | None = None
    ) -> tuple[Subscriber, bool]:
        now = _now()
        with self._db.writer() as conn:
            row = conn.execute("SELECT * FROM subscribers WHERE email = ?", (email,)).fetchone()
            if row is None:
                status = "confirmed" if confirmed else "pending"
                cur = conn.execute(
                    "INSERT INTO subscribers (email, kind, status, user_id, created_at, confirmed_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (email, kind, status, user_id, now, now if confirmed else None, now),
                )
                row = conn.execute("SELECT * FROM subscribers WHERE id = ?", (cur.lastrowid,)).fetchone()
                return _subscriber(row), True
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
            conn.execute(
                f"UPDATE subscribers SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                [*sets.values(), row["id"]],
            )
            row = conn.execute("SELECT * FROM subscribers WHERE id = ?", (row["id"],)).fetchone()
            return _subscriber(row), False

    def get_subscriber_by_email(self, email: str) -> Subscriber | None:
        with self._db.reader() as conn:
            row = conn.execute("SELECT * FROM subscribers WHERE email = ?", (email,)).fetchone()
        return _subscriber(row) if row else None

    def list_subscribers(
        self, *, status: SubscriberStatus | None = None, kind: SubscriberKind | None = None
    ) -> list[Subscriber]:
        where, args = [], []
        if status:
            where.append("status = ?")
            args.append(status)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        sql = "SELECT * FROM subscribers"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db.reader() as conn:
            return [_subscriber(r) for r in conn.execute(sql + " ORDER BY id", args)]

    def confirm_subscriber(
        self, subscriber_id: int, kind: SubscriberKind | None, issued_at: datetime
    ) -> Subscriber | None:
        now = _now()
        with self._db.writer() as conn:
            row = conn.execute("SELECT * FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
            if row is None:
                return None
            left = _dt(row["unsubscribed_at"])
            if left is not None and issued_at <= left:
                return None
            conn.execute(
                "UPDATE subscribers SET status = 'confirmed', kind = COALESCE(?, kind), bounces = 0,"
                " confirmed_at = COALESCE(confirmed_at, ?), updated_at = ? WHERE id = ?",
                (kind, now, now, subscriber_id),
            )
            row = conn.execute("SELECT * FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
        return _subscriber(row)

    def remove_subscriber(self, email: str) -> bool:
        with self._db.writer() as conn:
            return conn.execute("DELETE FROM subscribers WHERE email = ?", (email,)).rowcount > 0

    def link_subscriber_user(self, subscriber_id: int, user_id: int) -> None:
        with self._db.writer() as conn:
            conn.execute(
                "UPDATE subscribers SET user_id = ?, updated_at = ? WHERE id = ?",
                (user_id, _now(), subscriber_id),
            )

    # -- saved searches ----------------------------------------------------------------
    def add_saved_search(
        self, user_id: int, subscriber_id: int, query: str, category: str | None, last_day: date | None
    ) -> tuple[SavedSearch, bool]:
        with self._db.writer() as conn:
            cur = conn.execute(
                "INSERT INTO saved_searches (user_id, subscriber_id, query, category, last_day, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, query, category) DO NOTHING",
                (user_id, subscriber_id, query, category or "", last_day.isoformat() if last_day else None, _now()),
            )
            created = cur.rowcount > 0
            row = conn.execute(
                "SELECT * FROM saved_searches WHERE user_id = ? AND query = ? AND category = ?",
                (user_id, query, category or ""),
            ).fetchone()
        return _saved(row), created

    def list_saved_searches(
        self, *, user_id: int | None = None, subscriber_id: int | None = None
    ) -> list[SavedSearch]:
        where, args = [], []
        if user_id is not None:
            where.append("user_id = ?")
            args.append(user_id)
        if subscriber_id is not None:
            where.append("subscriber_id = ?")
            args.append(subscriber_id)
        sql = "SELECT * FROM saved_searches"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db.reader() as conn:
            return [_saved(r) for r in conn.execute(sql + " ORDER BY subscriber_id, id", args)]

    def delete_saved_search(self, saved_search_id: int, user_id: int) -> bool:
        with self._db.writer() as conn:
            return (
                conn.execute(
                    "DELETE FROM saved_searches WHERE id = ? AND user_id = ?", (saved_search_id, user_id)
                ).rowcount
                > 0
            )

    # -- outbox ------------------------------------------------------------------------
    def plan_outbox(self, plans: list[OutboxPlan], *, now: datetime) -> list[int]:
        ts = _ts(now)
        inserted: list[int] = []
        with self._db.writer() as conn:
            for plan in plans:
                cur = conn.execute(
                    "INSERT INTO outbox (subscriber_id, kind, period, payload, next_attempt_at, planned_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subscriber_id, kind, period) DO NOTHING",
                    (plan.subscriber_id, plan.kind, plan.period, plan.payload, ts, ts),
                )
                if cur.rowcount == 0:
                    continue
                inserted.append(cur.lastrowid)  # type: ignore[arg-type]
                if plan.alert_marks:
                    conn.executemany(
                        "UPDATE saved_searches SET last_day = ? WHERE id = ?"
                        " AND (last_day IS NULL OR last_day < ?)",
                        [(d.isoformat(), sid, d.isoformat()) for sid, d in plan.alert_marks],
                    )
        return inserted

    def due_outbox(self, *, now: datetime, limit: int, ids: list[int] | None = None) -> list[OutboxItem]:
        sql = (
            "SELECT o.*, s.email, s.status AS subscriber_status FROM outbox o"
            " JOIN subscribers s ON s.id = o.subscriber_id"
            " WHERE o.status = 'pending' AND o.next_attempt_at <= ?"
        )
        args: list[object] = [_ts(now)]
        if ids is not None:
            if not ids:
                return []
            sql += f" AND o.id IN ({','.join('?' * len(ids))})"
            args += ids
        sql += " ORDER BY o.next_attempt_at, o.id LIMIT ?"
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
        sets = ["status = ?"]
        args: list[object] = [status]
        if status == "sent":
            sets.append("sent_at = ?")
            args.append(_ts(now))
        if error is not None:
            sets.append("last_error = ?")
            args.append(error[:500])
        if next_attempt_at is not None:
            sets.append("next_attempt_at = ?")
            args.append(_ts(next_attempt_at))
        if count_attempt:
            sets.append("attempts = attempts + 1")
        with self._db.writer() as conn:
            conn.execute(f"UPDATE outbox SET {', '.join(sets)} WHERE id = ?", [*args, outbox_id])
            if status == "sent":
                conn.execute(
                    "UPDATE subscribers SET bounces = 0 WHERE bounces > 0"
                    " AND id = (SELECT subscriber_id FROM outbox WHERE id = ?)",
                    (outbox_id,),
                )

    def get_outbox_status(self, outbox_id: int) -> tuple[OutboxStatus, str | None] | None:
        with self._db.reader() as conn:
            row = conn.execute("SELECT status, last_error FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def next_outbox_attempt(self, *, ids: list[int] | None = None) -> datetime | None:
        sql = "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'"
        args: list[object] = []
        if ids is not None:
            if not ids:
                return None
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            args += ids
        with self._db.reader() as conn:
            value = conn.execute(sql, args).fetchone()[0]
        return datetime.fromisoformat(value) if value else None

    def record_bounce(self, subscriber_id: int, *, limit: int, now: datetime) -> SubscriberStatus:
        with self._db.writer() as conn:
            conn.execute(
                "UPDATE subscribers SET bounces = bounces + 1, updated_at = ?,"
                " status = CASE WHEN bounces + 1 >= ? AND status = 'confirmed' THEN 'bouncing' ELSE status END"
                " WHERE id = ?",
                (_ts(now), max(1, limit), subscriber_id),
            )
            row = conn.execute("SELECT status FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
            if row and row["status"] == "bouncing":
                conn.execute(
                    "UPDATE outbox SET status = 'skipped', last_error = 'address is bouncing'"
                    " WHERE subscriber_id = ? AND status = 'pending'",
                    (subscriber_id,),
                )
        return row["status"] if row else "pending"

    def resume_outbox(self, *, now: datetime) -> int:
        with self._db.writer() as conn:
            return conn.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?,"
                " last_error = 'interrupted after the message was handed over; counted as sent'"
                " WHERE status = 'sending'",
                (_ts(now),),
            ).rowcount

    def outbox_counts(self, *, kind: str | None = None, period: str | None = None) -> dict[str, int]:
        where, args = [], []
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if period:
            where.append("period = ?")
            args.append(period)
        sql = "SELECT status, COUNT(*) FROM outbox"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db.reader() as conn:
            return {r[0]: r[1] for r in conn.execute(sql + " GROUP BY status", args)}

    def recent_outbox(self, subscriber_id: int, kind: OutboxKind, since: datetime) -> int:
        with self._db.reader() as conn:
            return conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE subscriber_id = ? AND kind = ? AND planned_at >= ?",
                (subscriber_id, kind, _ts(since)),
            ).fetchone()[0]
