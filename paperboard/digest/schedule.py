"""The worker: once a day at ``digest_time`` in ``digest_timezone``, ingest then send digests.

A small loop instead of a scheduler library, so its rules fit on a screen and tests can
drive it with an injected clock:

- the day's run happens once: the last day run is a store checkpoint, so a restarted worker
  does not send twice (and planning is idempotent anyway);
- a worker started after today's time runs today's digests at once; days it was down for
  are not backfilled (a stale digest is noise; ``paperboard digest send --date`` does it);
- between runs it flushes the outbox every ``flush_interval`` seconds, so confirmation
  emails and retries go out without waiting a day;
- an ingestion failure is logged and the digests still go out with what the store has;
- with ``PAPERBOARD_BACKUP_DIR`` set, the day's run ends with a backup of the store
  (store/backup.py) and the newest ``PAPERBOARD_BACKUP_KEEP`` are kept. It has its own
  checkpoint, so a worker restarted after the digests but before the backup still takes it,
  and a failed backup is logged without touching the digests;
- every hour it prunes the change feed behind the indexes that read it (store/change_feed.py,
  ``paperboard db prune-changes``), so the feed does not grow with every write.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..config import Settings
from ..store.base import Store
from ..store.change_feed import PruneReport
from .outbox import (
    OutboxSender,
    PlanSummary,
    SenderBusy,
    SendSummary,
    plan_digests,
    scheduled_kinds,
    utcnow,
)

log = logging.getLogger("paperboard.worker")
CHECKPOINT = "digest.worker.last_day"
BACKUP_CHECKPOINT = "backup.worker.last_day"
IngestHook = Callable[[Settings, Store], object]
PRUNE_EVERY = timedelta(hours=1)


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DailySchedule:
    at: dtime
    tz: ZoneInfo

    @classmethod
    def from_settings(cls, settings: Settings) -> DailySchedule:
        try:
            hh, mm = settings.digest_time.strip().split(":")
            at = dtime(int(hh), int(mm))
        except ValueError:
            raise ScheduleError(f"PAPERBOARD_DIGEST_TIME must be HH:MM, got {settings.digest_time!r}") from None
        try:
            tz = ZoneInfo(settings.digest_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(
                f"PAPERBOARD_DIGEST_TIMEZONE {settings.digest_timezone!r} is not a time zone (e.g. Europe/Paris)"
            ) from None
        return cls(at, tz)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def run_time(self, day: date) -> datetime:
        """The day's run as an aware datetime (a time skipped by DST moves forward)."""
        local = datetime.combine(day, self.at, tzinfo=self.tz)
        return local.astimezone(ZoneInfo("UTC")).astimezone(self.tz)

    def next_run(self, after: datetime) -> datetime:
        """The first scheduled moment strictly after ``after``."""
        day = self.local_day(after)
        for offset in range(3):
            at = self.run_time(day + timedelta(days=offset))
            if at > after:
                return at
        raise AssertionError("unreachable: a day always has a run time")


@dataclass(slots=True)
class DayReport:
    day: date
    ingested: bool = False
    ingest_error: str | None = None
    plan: PlanSummary | None = None
    send: SendSummary | None = None
    backup: str | None = None
    """Where the day's backup went, when one was taken."""
    backup_error: str | None = None
    notes: list[str] = field(default_factory=list)


def resolve_ingest_hook(settings: Settings) -> IngestHook | None:
    """``PAPERBOARD_WORKER_INGEST_HOOK`` (module:function), else the project's scheduled ingest."""
    spec = settings.worker_ingest_hook.strip()
    if spec:
        module_name, _, func = spec.partition(":")
        if not func:
            raise ScheduleError(f"PAPERBOARD_WORKER_INGEST_HOOK must be module:function, got {spec!r}")
        return getattr(importlib.import_module(module_name), func)
    from .. import ingest

    return getattr(ingest, "run_scheduled_ingest", None)


class Worker:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        ingest_hook: IngestHook | None | bool = True,
        flush_interval: float = 60.0,
        sender_factory: Callable[[], OutboxSender] | None = None,
        backfill: bool = False,
        map_refresh: bool | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.schedule = DailySchedule.from_settings(settings)
        self.ingest_hook = resolve_ingest_hook(settings) if ingest_hook is True else ingest_hook or None
        self.flush_interval = flush_interval
        self.sender_factory = sender_factory or (lambda: OutboxSender(settings, store, clock=clock))
        self.backfill = backfill
        """Embed missing search vectors in a background thread while running (search/backfill.py)."""
        self.map_refresh = backfill if map_refresh is None else map_refresh
        """Keep the map of the field current while running (map/service.py): papers placed as
        their vectors arrive, the whole map rebuilt once a day. Follows ``backfill`` unless set."""
        self._pruned_at: datetime | None = None

    def due_day(self, now: datetime) -> date | None:
        """Today's local day if its run time has passed and it has not run yet."""
        today = self.schedule.local_day(now)
        if now < self.schedule.run_time(today):
            return None
        last = self.store.get_checkpoint(CHECKPOINT)
        if last is not None and date.fromisoformat(last) >= today:
            return None
        return today

    def run_day(self, day: date) -> DayReport:
        report = DayReport(day)
        if self.ingest_hook is not None:
            try:
                self.ingest_hook(self.settings, self.store)
                report.ingested = True
            except Exception as exc:  # noqa: BLE001 - a failed fetch must not stop the digests
                report.ingest_error = f"{type(exc).__name__}: {exc}"
                log.exception("scheduled ingestion failed; sending digests with the papers we have")
        else:
            report.notes.append("no ingestion hook configured")
        report.plan, _ = plan_digests(self.store, self.settings, scheduled_kinds(day), now=self.clock())
        self.store.set_checkpoint(CHECKPOINT, day.isoformat())
        report.send = self.flush()
        if self.backup_due(day):
            report.backup, report.backup_error = self.take_backup(day)
        return report

    def backup_due(self, day: date) -> bool:
        if not self.settings.backup_dir.strip():
            return False
        last = self.store.get_checkpoint(BACKUP_CHECKPOINT)
        return last is None or date.fromisoformat(last) < day

    def take_backup(self, day: date) -> tuple[str | None, str | None]:
        """The day's backup into ``backup_dir``, then all but the newest ``backup_keep`` go.
        Tried once a day: a failure (disk full, no pg_dump) is logged, not retried every minute."""
        from pathlib import Path

        from ..store.backup import prune, scheduled_name, take_backup

        self.store.set_checkpoint(BACKUP_CHECKPOINT, day.isoformat())
        directory = Path(self.settings.backup_dir).expanduser()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            report = take_backup(
                self.store.url, directory / scheduled_name(self.clock()), pg_bin_dir=self.settings.pg_bin_dir
            )
        except Exception as exc:  # noqa: BLE001 - a failed backup must not stop the worker
            log.exception("scheduled backup into %s failed", directory)
            return None, f"{type(exc).__name__}: {exc}"
        removed = prune(directory, self.settings.backup_keep)
        log.info("backup %s taken in %.1f s; %d old ones removed", report.path, report.seconds, len(removed))
        return str(report.path), None

    def flush(self) -> SendSummary | None:
        try:
            return self.sender_factory().run(wait_for_retries=False, lock_wait=0)
        except SenderBusy:
            return None

    def prune_changes_if_due(self) -> PruneReport | None:
        """The change feed pruned behind its readers, at most every PRUNE_EVERY; the report,
        or None when not due or it failed (logged: pruning is housekeeping, the next hour retries)."""
        now = self.clock()
        prune = getattr(self.store, "prune_changes", None)
        if prune is None or (self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY):
            return None
        self._pruned_at = now
        try:
            report = prune(retention=timedelta(days=self.settings.change_feed_retention_days))
        except Exception:  # noqa: BLE001 - a failed prune must not stop the digests
            log.exception("pruning the change feed failed")
            return None
        if report.deleted:
            log.info("change feed: %d changes pruned, %d kept", report.deleted, report.remaining)
        return report

    def tick(self) -> DayReport | None:
        """One pass of the loop: the day's run if due, else an outbox flush."""
        self.prune_changes_if_due()
        day = self.due_day(self.clock())
        if day is not None:
            report = self.run_day(day)
            log.info("digests for %s: %s", day, "; ".join(report.plan.lines() if report.plan else []))
            return report
        self.flush()
        # The day ran before the backup could (a restart, or backups just switched on).
        today = self.schedule.local_day(self.clock())
        last_run = self.store.get_checkpoint(CHECKPOINT)
        if last_run is not None and date.fromisoformat(last_run) >= today and self.backup_due(today):
            self.take_backup(today)
        return None

    def run(self, *, iterations: int | None = None, on_report: Callable[[DayReport], None] | None = None) -> None:
        backfill = None
        if self.backfill:
            from ..search.backfill import VectorBackfill

            backfill = VectorBackfill(self.store, self.settings.data_dir / "index").start()
        map_refresher = None
        if self.map_refresh:
            from ..map.service import MapRefresher

            today = lambda: self.schedule.local_day(self.clock()).isoformat()  # noqa: E731
            map_refresher = MapRefresher(self.store, self.settings.data_dir, today=today).start()
        n = 0
        try:
            while iterations is None or n < iterations:
                n += 1
                report = self.tick()
                if report is not None and on_report is not None:
                    on_report(report)
                now = self.clock()
                until_next = (self.schedule.next_run(now) - now).total_seconds()
                self.sleep(max(0.0, min(self.flush_interval, until_next)))
        finally:
            if backfill is not None:
                backfill.stop()
            if map_refresher is not None:
                map_refresher.stop()
