"""The worker's schedule, driven by an injected clock: when it runs, that it runs once a day,
that ingestion comes first and its failure does not stop the digests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from paperboard.digest.schedule import CHECKPOINT, DailySchedule, ScheduleError, Worker
from paperboard.digest.subscriptions import Subscriptions

from .conftest import TUESDAY, paper


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_next_run_in_a_time_zone_and_across_dst():
    paris = DailySchedule(datetime.strptime("08:00", "%H:%M").time(), ZoneInfo("Europe/Paris"))
    # 06:30 UTC on 3 June is 08:30 in Paris: today's run has passed, the next is tomorrow 06:00 UTC.
    nxt = paris.next_run(datetime(2025, 6, 3, 6, 30, tzinfo=UTC))
    assert nxt.astimezone(UTC) == datetime(2025, 6, 4, 6, 0, tzinfo=UTC)
    # The night DST starts (30 March 2025), 08:00 local is 06:00 UTC, the day before 07:00 UTC.
    assert paris.next_run(datetime(2025, 3, 29, 12, 0, tzinfo=UTC)).astimezone(UTC) == datetime(
        2025, 3, 30, 6, 0, tzinfo=UTC
    )
    assert paris.local_day(datetime(2025, 6, 3, 23, 30, tzinfo=UTC)) == date(2025, 6, 4)


def test_bad_schedule_settings_are_clear(settings):
    with pytest.raises(ScheduleError, match="HH:MM"):
        DailySchedule.from_settings(settings.model_copy(update={"digest_time": "8am"}))
    with pytest.raises(ScheduleError, match="time zone"):
        DailySchedule.from_settings(settings.model_copy(update={"digest_timezone": "Mars/Olympus"}))


def test_worker_runs_ingest_then_digests_once_per_day(mail_settings, tmp_store, smtp):
    calls: list[str] = []

    def ingest(settings, store):
        calls.append(f"ingest@{clock.now.isoformat()}")
        store.upsert_papers([paper(1, TUESDAY, "Fresh from the feed", upvotes=7)])

    Subscriptions(mail_settings, tmp_store).subscribe("daily@example.org", "daily", confirmed=True)
    clock = Clock(datetime(2025, 6, 3, 5, 0, tzinfo=UTC))  # before 08:00 UTC
    worker = Worker(mail_settings, tmp_store, clock=clock, sleep=clock.sleep, ingest_hook=ingest, flush_interval=600)
    reports = []
    worker.run(iterations=24, on_report=reports.append)  # every 10 minutes from 05:00 to 09:00
    assert calls == ["ingest@2025-06-03T08:00:00+00:00"]
    assert [r.day for r in reports] == [TUESDAY]
    assert len(smtp.to("daily@example.org")) == 1
    assert "Fresh from the feed" in smtp.messages[0].part("plain")
    assert tmp_store.get_checkpoint(CHECKPOINT) == "2025-06-03"
    # The loop never sleeps past the run time, and flushes at most every flush_interval.
    assert max(clock.slept) <= 600

    # A restarted worker the same day does not run again; the next day it does.
    again = Worker(mail_settings, tmp_store, clock=clock, sleep=clock.sleep, ingest_hook=ingest)
    assert again.tick() is None and len(calls) == 1
    clock.now = datetime(2025, 6, 4, 8, 0, 1, tzinfo=UTC)
    assert again.tick().day == date(2025, 6, 4)
    assert len(calls) == 2


def test_failed_ingestion_still_sends_the_digest(mail_settings, tmp_store, smtp):
    tmp_store.upsert_papers([paper(1, TUESDAY, "Already here")])
    Subscriptions(mail_settings, tmp_store).subscribe("daily@example.org", "daily", confirmed=True)

    def broken(settings, store):
        raise ConnectionError("arXiv is down")

    clock = Clock(datetime(2025, 6, 3, 9, 0, tzinfo=UTC))  # started after 08:00: runs at once
    report = Worker(mail_settings, tmp_store, clock=clock, sleep=clock.sleep, ingest_hook=broken).tick()
    assert report.ingest_error == "ConnectionError: arXiv is down"
    assert report.send.sent == 1 and smtp.count() == 1


def test_worker_flushes_confirmations_between_runs(mail_settings, tmp_store, smtp):
    clock = Clock(datetime(2025, 6, 3, 5, 0, tzinfo=UTC))
    worker = Worker(mail_settings, tmp_store, clock=clock, sleep=clock.sleep, ingest_hook=None)
    Subscriptions(mail_settings, tmp_store).subscribe("new@example.org", "weekly", now=clock.now)  # planned only
    assert smtp.count() == 0
    assert worker.tick() is None  # not yet 08:00: just a flush
    assert [m.message["Subject"] for m in smtp.messages] == ["Confirm your Paperboard subscription"]


def test_ingest_hook_from_settings(settings):
    from paperboard.digest.schedule import resolve_ingest_hook

    hook = resolve_ingest_hook(settings.model_copy(update={"worker_ingest_hook": "json:dumps"}))
    assert hook.__name__ == "dumps"
    with pytest.raises(ScheduleError):
        resolve_ingest_hook(settings.model_copy(update={"worker_ingest_hook": "json"}))
