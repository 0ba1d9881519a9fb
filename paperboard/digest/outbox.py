"""Plan digests into the outbox, then send what is planned: exactly once, across crashes.

Planning inserts one row per (subscriber, kind, period) under a unique key, so planning the
same day twice plans nothing new. Sending walks pending rows, one state change per
transaction:

    pending --(body written, before the final dot)--> sending --(250 reply)--> sent
                                                       \\--(4xx / 5xx reply)--> pending (retry) / failed

On resume, ``sending`` rows are counted as sent and never retried. A ``sending`` row
means the process died after committing that state and before it could record the reply;
the final dot is written right after the commit, and a written dot reaches the server even
if the process is then killed, so the message was delivered. The one way to lose an
email is a kill inside the microseconds between the commit and the ``write()`` of the dot:
we chose "at most once" for that gap, because a duplicate digest is worse for a reader (and
for the sender's reputation) than a rare missing one, and no email is ever sent twice.
Rows still ``pending`` were never completed at the server (a dropped connection aborts an
unfinished DATA), so they are simply sent.

Only one sender runs per data directory (an ``flock``, released by the kernel even on
``kill -9``), so a resumed run never races the row of a sender that is still alive.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr

from ..config import Settings
from ..store.base import Store
from ..store.digest import OutboxItem, OutboxPlan
from .compose import Composer, ascii_address
from .foryou import FORYOU_DAILY, FORYOU_WEEKLY, PLAN_NAMES, plan_foryou
from .selection import ALERTS, DAILY, FORYOU, WEEKLY, Issue, alert_issue, daily_issue, weekly_issue
from .smtp import DeliveryError, OutcomeUnknown, ServerUnavailable, SmtpTransport

KINDS = (DAILY, WEEKLY, ALERTS, FORYOU)
"""What ``digest send --kind`` accepts; ``foryou`` plans both cadences for the date."""
PLAN_CHUNK = 1_000
FETCH = 500
MAX_BACKOFF = 3600.0


class SenderBusy(RuntimeError):
    pass


@dataclass(slots=True)
class KindPlan:
    kind: str
    period: str | None = None
    papers: int = 0
    recipients: int = 0
    planned: int = 0
    reason: str = ""
    note: str = ""


@dataclass(slots=True)
class PlanSummary:
    day: date
    kinds: list[KindPlan] = field(default_factory=list)

    @property
    def planned(self) -> int:
        return sum(k.planned for k in self.kinds)

    def lines(self) -> list[str]:
        out = []
        for k in self.kinds:
            if k.reason:
                out.append(f"{k.kind}: {k.reason}")
            else:
                out.append(
                    f"{k.kind} {k.period}: {k.papers} papers for {k.recipients} subscribers,"
                    f" {k.planned} newly planned" + (f" ({k.note})" if k.note else "")
                )
        return out


@dataclass(slots=True)
class SendSummary:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    bounced: int = 0
    resumed: int = 0
    unavailable: str | None = None
    """Set when the run stopped because the SMTP server could not be reached."""
    compose_seconds: float = 0.0
    deliver_seconds: float = 0.0

    def line(self) -> str:
        parts = [f"sent {self.sent}", f"failed {self.failed}", f"retries {self.retried}",
                 f"skipped {self.skipped}", f"now bouncing {self.bounced}"]  # fmt: skip
        if self.resumed:
            parts.append(f"counted as sent after an interrupted run {self.resumed}")
        line = " · ".join(parts)
        if self.unavailable:
            line += f"\nstopped: {self.unavailable}; the rest stays planned for the next run"
        return line


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- planning ----------------------------------------------------------------------------
def scheduled_kinds(d: date) -> list[tuple[str, date]]:
    """What the schedule sends on day ``d``: the daily on weekdays, on Mondays the weekly of
    the week that just ended, alerts every day (they are only sent when something is new),
    and the For-you digest on the same days as the trending ones."""
    out = []
    if d.weekday() < 5:
        out.append((DAILY, d))
    if d.weekday() == 0:
        out.append((WEEKLY, d - timedelta(days=7)))
    out.append((ALERTS, d))
    if d.weekday() < 5:
        out.append((FORYOU_DAILY, d))
    if d.weekday() == 0:
        out.append((FORYOU_WEEKLY, d - timedelta(days=7)))
    return out


def expand_kind(kind: str, d: date) -> list[tuple[str, date]]:
    """``--kind`` as planning steps: ``foryou`` is both cadences, the weekly one for the
    ISO week containing ``d`` (as ``--kind weekly``)."""
    if kind == FORYOU:
        return [(FORYOU_DAILY, d), (FORYOU_WEEKLY, d)]
    return [(kind, d)]


def build_plans(store: Store, settings: Settings, kind: str, d: date) -> tuple[KindPlan, list[OutboxPlan]]:
    top_n = settings.digest_top_n
    if kind in (DAILY, WEEKLY):
        issue: Issue | None = (daily_issue if kind == DAILY else weekly_issue)(store, d, top_n=top_n)
        if issue is None:
            why = "not sent on weekends" if kind == DAILY and d.weekday() >= 5 else "no papers"
            return KindPlan(kind, reason=f"nothing to send for {d.isoformat()} ({why})"), []
        subs = store.list_subscribers(status="confirmed", kind=kind)  # type: ignore[arg-type]
        payload = issue.to_payload()
        plans = [OutboxPlan(s.id, kind, issue.period, payload) for s in subs]  # type: ignore[arg-type]
        return KindPlan(kind, issue.period, issue.paper_count, len(subs)), plans
    if kind in PLAN_NAMES:
        return _foryou_plans(store, settings, kind, d)
    if kind != ALERTS:
        raise ValueError(f"unknown digest kind {kind!r}")
    confirmed = {s.id for s in store.list_subscribers(status="confirmed")}
    by_sub: dict[int, list] = defaultdict(list)
    for ss in store.list_saved_searches():
        if ss.subscriber_id in confirmed:
            by_sub[ss.subscriber_id].append(ss)
    from ..search.searcher import Searcher

    searcher = Searcher.for_settings(store, settings)
    plans, papers = [], 0
    cache: dict[tuple, list[str]] = {}  # popular queries with the same window: searched once
    for sub_id, searches in by_sub.items():
        issue, marks = alert_issue(store, searches, d, top_n=top_n, searcher=searcher, cache=cache)
        if issue is not None:
            papers += issue.paper_count
            plans.append(OutboxPlan(sub_id, ALERTS, issue.period, issue.to_payload(), marks))
    return KindPlan(ALERTS, d.isoformat(), papers, len(plans)), plans


def _foryou_plans(store: Store, settings: Settings, kind: str, d: date) -> tuple[KindPlan, list[OutboxPlan]]:
    fp = plan_foryou(store, PLAN_NAMES[kind], d, top_n=settings.digest_top_n)
    if fp.period is None:
        return KindPlan(kind, reason=fp.reason), []
    notes = [f"{n} {what}" for n, what in ((fp.already, "planned before"), (fp.empty, "with nothing to show"),
                                           (fp.failed, "failed, see the log")) if n]  # fmt: skip
    return KindPlan(kind, fp.period.label, fp.papers, fp.recipients, note=", ".join(notes)), fp.plans


def plan_digests(
    store: Store, settings: Settings, kinds: list[tuple[str, date]], *, dry_run: bool = False,
    now: datetime | None = None,
) -> tuple[PlanSummary, list[OutboxPlan]]:
    """Plan each (kind, day); with ``dry_run`` nothing is written and the plans are returned."""
    summary = PlanSummary(kinds[0][1] if kinds else date.today())
    all_plans: list[OutboxPlan] = []
    for kind, d in kinds:
        kp, plans = build_plans(store, settings, kind, d)
        if not dry_run:
            for i in range(0, len(plans), PLAN_CHUNK):
                kp.planned += len(store.plan_outbox(plans[i : i + PLAN_CHUNK], now=now or utcnow()))
        summary.kinds.append(kp)
        all_plans += plans
    return summary, all_plans


def plan_confirmation(store: Store, subscriber_id: int, token: str, kind: str, *, now: datetime) -> int | None:
    payload = json.dumps({"token": token, "kind": kind})
    ids = store.plan_outbox(
        [OutboxPlan(subscriber_id, "confirm", now.isoformat(timespec="microseconds"), payload)], now=now
    )
    return ids[0] if ids else None


# -- sending -----------------------------------------------------------------------------
@contextmanager
def sender_lock(settings: Settings, *, wait: float | None = None) -> Iterator[None]:
    """One sender per data directory; ``wait`` seconds (None: forever) before ``SenderBusy``."""
    path = settings.ensure_data_dir() / "digest-outbox.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise SenderBusy("another digest sender is running") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _sendable(item: OutboxItem) -> bool:
    if item.kind == "confirm":
        return item.subscriber_status in ("pending", "confirmed")
    return item.subscriber_status == "confirmed"


class OutboxSender:
    """Sends due outbox rows over ``smtp_connections`` parallel SMTP connections.

    Throughput is bound by SMTP round trips (four per message), not by our CPU, so a few
    connections in threads multiply it. Each row is handed to exactly one thread; a batch is
    finished before the next is fetched, so a row is never picked twice. ``clock``/``sleep``
    are injectable so tests need not wait.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        composer: Composer | None = None,
        transport: SmtpTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.store = store
        self.composer = composer or Composer(settings, store)
        self._fixed_transport = transport
        self.connections = 1 if transport is not None else max(1, settings.smtp_connections)
        self.clock = clock
        self.sleep = sleep
        self.envelope_from = parseaddr(settings.smtp_from)[1] or "digest@localhost"
        rate = settings.smtp_rate_per_second
        self._interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._next_slot = 0.0
        self._server_failures = 0
        self._down: DeliveryError | None = None
        self._lock = threading.Lock()
        self._compose_lock = threading.Lock()
        self._local = threading.local()
        self._transports: list[SmtpTransport] = []

    def run(
        self, *, ids: list[int] | None = None, wait_for_retries: bool = True, lock_wait: float | None = None
    ) -> SendSummary:
        summary = SendSummary()
        with sender_lock(self.settings, wait=lock_wait):
            summary.resumed = self.store.resume_outbox(now=self.clock())
            try:
                with ThreadPoolExecutor(self.connections, thread_name_prefix="pb-smtp") as pool:
                    self._drain(pool, summary, ids, wait_for_retries)
            finally:
                for transport in self._transports:
                    transport.close()
                self._transports.clear()
        return summary

    def _transport(self) -> SmtpTransport:
        transport = getattr(self._local, "transport", None)
        if transport is None:
            transport = self._fixed_transport or SmtpTransport(self.settings)
            self._local.transport = transport
            with self._lock:
                self._transports.append(transport)
        return transport

    def _drain(self, pool: ThreadPoolExecutor, summary: SendSummary, ids: list[int] | None, wait: bool) -> None:
        while True:
            items = self.store.due_outbox(now=self.clock(), limit=FETCH, ids=ids)
            if not items:
                if not wait:
                    return
                delay = self._next_retry_in(ids)
                if delay is None:
                    return
                self.sleep(delay)
                continue
            self._down = None
            list(pool.map(lambda item: self._send_one(item, summary), items))
            if self._down is None:
                self._server_failures = 0
                continue
            # The server, not an address, failed: no attempt counts against the rows; wait
            # with backoff, and after digest_max_attempts in a row give up the run.
            self._server_failures += 1
            if self._server_failures >= self.settings.digest_max_attempts:
                summary.unavailable = str(self._down)
                return
            summary.retried += 1
            base = self.settings.digest_retry_base_seconds
            self.sleep(min(base * 2 ** (self._server_failures - 1), MAX_BACKOFF))

    def _next_retry_in(self, ids: list[int] | None) -> float | None:
        """Seconds until the earliest pending retry, or None when nothing is pending."""
        when = self.store.next_outbox_attempt(ids=ids)
        if when is None:
            return None
        return max(0.0, (when - self.clock()).total_seconds()) + 0.001

    def _pace(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            self.sleep(slot - now)

    def _add(self, summary: SendSummary, **counts: float) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(summary, name, getattr(summary, name) + value)

    def _send_one(self, item: OutboxItem, summary: SendSummary) -> None:
        if self._down is not None:
            return  # the server is down: leave the row for after the backoff
        store, now = self.store, self.clock
        if not _sendable(item):
            store.mark_outbox(item.id, "skipped", now=now(), error=f"address is {item.subscriber_status}")
            self._add(summary, skipped=1)
            return
        t0 = time.perf_counter()
        try:
            with self._compose_lock:
                rendered = self.composer.render_item(item)
                message = None if rendered is None else self.composer.message_bytes(item, rendered)
        except ValueError as exc:  # e.g. a header that would need a line break
            store.mark_outbox(item.id, "failed", now=now(), error=f"cannot compose: {exc}", count_attempt=True)
            self._add(summary, failed=1)
            return
        t1 = time.perf_counter()
        if message is None:
            store.mark_outbox(item.id, "skipped", now=now(), error="nothing left to send")
            self._add(summary, skipped=1, compose_seconds=t1 - t0)
            return
        self._pace()
        try:
            self._transport().send(
                self.envelope_from, ascii_address(item.email), message,
                before_commit=lambda: store.mark_outbox(item.id, "sending", now=now()),
            )  # fmt: skip
        except ServerUnavailable as exc:
            store.mark_outbox(item.id, "pending", now=now(), error=str(exc))
            self._down = exc
            return
        except OutcomeUnknown as exc:
            store.mark_outbox(item.id, "sent", now=now(), error=str(exc))
            self._add(summary, sent=1)
        except DeliveryError as exc:
            self._failed(item, exc, summary)
        else:
            store.mark_outbox(item.id, "sent", now=now())
            self._add(summary, sent=1)
        self._add(summary, compose_seconds=t1 - t0, deliver_seconds=time.perf_counter() - t1)

    def _failed(self, item: OutboxItem, exc: DeliveryError, summary: SendSummary) -> None:
        s, now = self.settings, self.clock()
        attempts = item.attempts + 1
        if exc.permanent:
            self.store.mark_outbox(item.id, "failed", now=now, error=str(exc), count_attempt=True)
            bouncing = self.store.record_bounce(item.subscriber_id, limit=s.digest_bounce_limit, now=now)
            self._add(summary, failed=1, bounced=int(bouncing == "bouncing"))
            return
        if attempts >= s.digest_max_attempts:
            self.store.mark_outbox(
                item.id, "failed", now=now, error=f"gave up after {attempts} attempts: {exc}", count_attempt=True
            )
            self._add(summary, failed=1)
            return
        delay = min(s.digest_retry_base_seconds * 2 ** (attempts - 1), MAX_BACKOFF)
        self.store.mark_outbox(
            item.id, "pending", now=now, error=str(exc), next_attempt_at=now + timedelta(seconds=delay),
            count_attempt=True,
        )  # fmt: skip
        self._add(summary, retried=1)
