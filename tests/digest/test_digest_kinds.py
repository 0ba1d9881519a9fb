"""What each digest kind contains, received through a real SMTP server."""

from __future__ import annotations

from datetime import date

import pytest

from paperboard.digest.outbox import OutboxSender, plan_digests, scheduled_kinds
from paperboard.digest.subscriptions import Subscriptions

from .conftest import SATURDAY, TUESDAY, WEDNESDAY, paper


def _send(settings, store, kinds):
    summary, _ = plan_digests(store, settings, kinds)
    result = OutboxSender(settings, store).run()
    return summary, result


@pytest.fixture
def week(tmp_store):
    """Papers across the ISO week 2025-W23 (Mon 2 June to Sun 8 June) and the next Monday."""
    tmp_store.upsert_papers([
        paper(1, TUESDAY, "Sparse attention for long documents", upvotes=40,
              abstract="We make attention sparse. The rest is detail.", authors=("A. One", "B. Two", "C. Three", "D. Four")),
        paper(2, TUESDAY, "Quiet paper", upvotes=1),
        paper(3, TUESDAY, "Diffusion models <script>alert(1)</script> & friends", upvotes=15),
        paper(4, WEDNESDAY, "Wednesday paper", upvotes=90),
        paper(5, date(2025, 6, 2), "Monday paper", upvotes=5),
        paper(6, date(2025, 6, 9), "Next week paper", upvotes=500),
    ])  # fmt: skip
    return tmp_store


def test_daily_digest_has_that_days_top_papers_with_links(mail_settings, week, smtp):
    subs = Subscriptions(mail_settings, week)
    subs.subscribe("daily@example.org", "daily", confirmed=True)
    subs.subscribe("weekly@example.org", "weekly", confirmed=True)
    _send(mail_settings, week, [("daily", TUESDAY)])
    [mail] = smtp.messages
    assert mail.to == "daily@example.org"
    msg = mail.message
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == "Trending papers · Tue 3 Jun 2025"
    text, html = mail.part("plain"), mail.part("html")
    # That day's papers only, best first: 40 upvotes, then 15, then 1.
    order = [text.index(t) for t in ("Sparse attention", "Diffusion models", "Quiet paper")]
    assert order == sorted(order)
    assert "Wednesday paper" not in text and "Monday paper" not in text
    assert "https://papers.example.org/papers/2506.00001" in text
    assert 'href="https://papers.example.org/papers/2506.00001"' in html
    assert "A. One, B. Two, C. Three and 1 more" in text and "▲ 40" in text
    assert "We make attention sparse." in text and "The rest is detail" not in text
    # Hostile titles are escaped in HTML; no external images or stylesheets.
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "<link" not in html and "style=" in html


def test_daily_digest_is_weekdays_only(mail_settings, week, smtp):
    week.upsert_papers([paper(10, SATURDAY, "Saturday paper", upvotes=3)])
    Subscriptions(mail_settings, week).subscribe("daily@example.org", "daily", confirmed=True)
    summary, _ = _send(mail_settings, week, [("daily", SATURDAY)])
    assert summary.planned == 0 and "weekends" in summary.lines()[0]
    assert smtp.count() == 0
    assert [k for k, _ in scheduled_kinds(SATURDAY)] == ["alerts"]
    assert [k for k, _ in scheduled_kinds(TUESDAY)] == ["daily", "alerts", "foryou-daily"]
    # Monday: the daily, the weekly of the week that just ended, alerts, and the same two
    # cadences of the For-you digest.
    assert scheduled_kinds(date(2025, 6, 9)) == [
        ("daily", date(2025, 6, 9)), ("weekly", date(2025, 6, 2)), ("alerts", date(2025, 6, 9)),
        ("foryou-daily", date(2025, 6, 9)), ("foryou-weekly", date(2025, 6, 2)),
    ]


def test_empty_day_sends_nothing(mail_settings, week, smtp):
    Subscriptions(mail_settings, week).subscribe("daily@example.org", "daily", confirmed=True)
    summary, _ = _send(mail_settings, week, [("daily", date(2025, 6, 5))])
    assert summary.planned == 0 and smtp.count() == 0


def test_weekly_digest_has_the_weeks_top_papers_by_upvotes(mail_settings, week, smtp):
    Subscriptions(mail_settings, week).subscribe("weekly@example.org", "weekly", confirmed=True)
    _send(mail_settings, week, [("weekly", WEDNESDAY)])
    [mail] = smtp.messages
    assert mail.message["Subject"] == "Top papers of the week · 2025-W23"
    text = mail.part("plain")
    order = [text.index(t) for t in ("Wednesday paper", "Sparse attention", "Diffusion models", "Monday paper")]
    assert order == sorted(order)
    assert "Next week paper" not in text


def test_planning_twice_sends_once(mail_settings, week, smtp):
    Subscriptions(mail_settings, week).subscribe("daily@example.org", "daily", confirmed=True)
    _send(mail_settings, week, [("daily", TUESDAY)])
    summary, result = _send(mail_settings, week, [("daily", TUESDAY)])
    assert summary.planned == 0 and result.sent == 0
    assert smtp.count() == 1


def test_subject_and_headers_cannot_be_injected(mail_settings, week, smtp, tmp_store):
    user = tmp_store.create_user("mallory", "x", email="mallory@example.org")
    subs = Subscriptions(mail_settings, tmp_store)
    with pytest.raises(ValueError, match="line break"):
        subs.add_alert(user.id, "mallory@example.org", "attention\r\nBcc: victim@example.org")
    with pytest.raises(ValueError, match="line break"):
        subs.add_alert(user.id, "mallory@example.org", "attention\nX-Injected: 1")
    assert tmp_store.list_saved_searches() == []
