"""Delivery against a real SMTP server: retries with backoff, bounces, resume after a crash."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from paperboard.digest.outbox import OutboxSender, plan_digests
from paperboard.digest.subscriptions import Subscriptions
from tests.servers import free_port

from .conftest import TUESDAY, WEDNESDAY, paper

THURSDAY = WEDNESDAY.replace(day=5)


def _day(settings, store, d):
    plan_digests(store, settings, [("daily", d)])
    return OutboxSender(settings, store).run()


def test_transient_failures_are_retried_and_permanent_ones_bounce(mail_settings, tmp_store, smtp):
    tmp_store.upsert_papers([paper(i, d, f"Paper {i}") for i, d in enumerate((TUESDAY, WEDNESDAY, THURSDAY), 1)])
    subs = Subscriptions(mail_settings, tmp_store)
    for name in ("ok", "bad", "flaky", "down"):
        subs.subscribe(f"{name}@example.org", "daily", confirmed=True)
    smtp.rules["bad@example.org"] = "550 5.1.1 <bad@example.org>: no such mailbox"
    smtp.rules["flaky@example.org"] = ["451 4.3.0 try again later", "421 4.7.0 busy"]
    smtp.rules["down@example.org"] = "451 4.3.0 mailbox busy"

    result = _day(mail_settings, tmp_store, TUESDAY)
    assert (result.sent, result.failed, result.retried) == (2, 2, 2 + 2)
    assert len(smtp.to("ok@example.org")) == 1
    assert len(smtp.to("flaky@example.org")) == 1  # delivered on the third attempt
    assert smtp.rcpt_attempts["flaky@example.org"] == 3
    assert smtp.rcpt_attempts["down@example.org"] == 3  # digest_max_attempts, then given up
    assert smtp.rcpt_attempts["bad@example.org"] == 1  # a 5xx is not retried
    by_email = {s.email: s for s in tmp_store.list_subscribers()}
    assert by_email["bad@example.org"].status == "confirmed" and by_email["bad@example.org"].bounces == 1
    assert by_email["down@example.org"].status == "confirmed"  # transient trouble is not a bounce

    # The second permanent failure reaches digest_bounce_limit (2): the address is bouncing.
    result = _day(mail_settings, tmp_store, WEDNESDAY)
    assert result.bounced == 1
    assert tmp_store.get_subscriber_by_email("bad@example.org").status == "bouncing"
    _day(mail_settings, tmp_store, THURSDAY)
    assert smtp.rcpt_attempts["bad@example.org"] == 2  # no more attempts once bouncing
    assert len(smtp.to("ok@example.org")) == 3


def test_a_delivery_resets_the_bounce_count(mail_settings, tmp_store, smtp):
    tmp_store.upsert_papers([paper(1, TUESDAY, "One"), paper(2, WEDNESDAY, "Two"), paper(3, THURSDAY, "Three")])
    Subscriptions(mail_settings, tmp_store).subscribe("sometimes@example.org", "daily", confirmed=True)
    smtp.rules["sometimes@example.org"] = ["552 5.2.2 mailbox full"]
    _day(mail_settings, tmp_store, TUESDAY)
    assert tmp_store.get_subscriber_by_email("sometimes@example.org").bounces == 1
    _day(mail_settings, tmp_store, WEDNESDAY)
    sub = tmp_store.get_subscriber_by_email("sometimes@example.org")
    assert (sub.status, sub.bounces) == ("confirmed", 0)


def test_unreachable_server_leaves_rows_pending_for_a_later_run(mail_settings, tmp_store, smtp, monkeypatch):
    tmp_store.upsert_papers([paper(1, TUESDAY, "One")])
    Subscriptions(mail_settings, tmp_store).subscribe("a@example.org", "daily", confirmed=True)
    for i in range(2, 40):
        Subscriptions(mail_settings, tmp_store).subscribe(f"r{i}@example.org", "daily", confirmed=True)
    plan_digests(tmp_store, mail_settings, [("daily", TUESDAY)])
    down = mail_settings.model_copy(update={"smtp_port": free_port()})
    sleeps: list[float] = []
    result = OutboxSender(down, tmp_store, sleep=sleeps.append).run()
    # A few connection attempts with growing waits, then the run stops; nothing is lost.
    assert result.sent == 0 and result.unavailable and "cannot connect" in result.unavailable
    assert sleeps == [0.02, 0.04] and result.retried == 2
    assert tmp_store.outbox_counts() == {"pending": 39}
    assert all(i.attempts == 0 for i in tmp_store.due_outbox(now=datetime.now(UTC), limit=100))
    result = OutboxSender(mail_settings, tmp_store).run()
    assert result.sent == 39 and len(smtp.to("a@example.org")) == 1


def test_every_message_id_is_derived_from_its_outbox_row(mail_settings, tmp_store, smtp):
    tmp_store.upsert_papers([paper(1, TUESDAY, "One")])
    subs = Subscriptions(mail_settings, tmp_store)
    for i in range(5):
        subs.subscribe(f"r{i}@example.org", "daily", confirmed=True)
    _day(mail_settings, tmp_store, TUESDAY)
    ids = Counter(m.message_id for m in smtp.messages)
    assert len(ids) == 5 and set(ids.values()) == {1}
    assert all(i.startswith("<pb.") and i.endswith(".daily.2025-06-03@paperboard.test>") for i in ids)
