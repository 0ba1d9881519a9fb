"""Saved-search alerts: only new papers that match, each paper in one email, confirmed addresses only."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

from paperboard.digest.outbox import OutboxSender, plan_digests
from paperboard.digest.subscriptions import Subscriptions

from .conftest import TUESDAY, WEDNESDAY, paper

MONDAY = date(2025, 6, 2)


def _run(settings, store, d):
    summary, _ = plan_digests(store, settings, [("alerts", d)])
    OutboxSender(settings, store).run()
    return summary


def _confirm(subs, smtp, address):
    [mail] = [m for m in smtp.to(address) if "Confirm" in m.message["Subject"]]
    url = re.search(r"https://\S+/subscribe/confirm\?token=\S+", mail.part("plain")).group(0)
    return subs.confirm(parse_qs(urlsplit(url).query)["token"][0])


def test_alert_sends_only_new_matching_papers_once(mail_settings, tmp_store, smtp):
    tmp_store.upsert_papers([paper(1, MONDAY, "Diffusion models, the old one", categories=("cs.CV",))])
    user = tmp_store.create_user("ada", "x", email="ada@example.org")
    subs = Subscriptions(mail_settings, tmp_store)
    saved, result = subs.add_alert(user.id, "ada@example.org", "diffusion", "cs.CV")
    assert saved.last_day == MONDAY
    assert subs.send_now([result.confirmation_id])
    tmp_store.upsert_papers([
        paper(2, TUESDAY, "Diffusion for images", categories=("cs.CV",)),
        paper(3, TUESDAY, "Diffusion for text", categories=("cs.CL",)),
        paper(4, TUESDAY, "Transformers for images", categories=("cs.CV",)),
    ])  # fmt: skip

    # Not confirmed yet: nothing planned, and the window does not move.
    assert _run(mail_settings, tmp_store, TUESDAY).planned == 0
    assert [m.message["Subject"] for m in smtp.to("ada@example.org")] == ["Confirm your Paperboard subscription"]
    _confirm(subs, smtp, "ada@example.org")

    _run(mail_settings, tmp_store, TUESDAY)
    alert = smtp.to("ada@example.org")[-1]
    assert alert.message["Subject"] == "1 new paper for “diffusion”"
    text = alert.part("plain")
    assert "Diffusion for images" in text
    assert "old one" not in text and "Diffusion for text" not in text and "Transformers" not in text
    assert "/search?q=diffusion+cat%3Acs.CV" in text

    # The next day: only the paper that arrived since, never Tuesday's again.
    tmp_store.upsert_papers([paper(5, WEDNESDAY, "Latent diffusion, faster", categories=("cs.CV",))])
    _run(mail_settings, tmp_store, WEDNESDAY)
    text = smtp.to("ada@example.org")[-1].part("plain")
    assert "Latent diffusion" in text and "Diffusion for images" not in text
    # Running the same day again (or an older day) plans nothing.
    assert _run(mail_settings, tmp_store, WEDNESDAY).planned == 0
    assert _run(mail_settings, tmp_store, TUESDAY).planned == 0
    assert len(smtp.to("ada@example.org")) == 3


def test_several_saved_searches_make_one_email_with_sections(mail_settings, tmp_store, smtp):
    tmp_store.upsert_papers([paper(1, MONDAY, "Unrelated")])
    user = tmp_store.create_user("bob", "x", email="bob@example.org")
    tmp_store.upsert_subscriber("bob@example.org", "daily", confirmed=True)
    subs = Subscriptions(mail_settings, tmp_store)
    _, r1 = subs.add_alert(user.id, "bob@example.org", "graph neural")
    _, r2 = subs.add_alert(user.id, "bob@example.org", '"protein folding"')
    _, again = subs.add_alert(user.id, "bob@example.org", "graph   neural")
    assert r1.confirmation_id is None and r2.confirmation_id is None  # already confirmed
    assert len(tmp_store.list_saved_searches(user_id=user.id)) == 2  # saving twice keeps one
    assert tmp_store.get_subscriber_by_email("bob@example.org").kind == "daily"  # not downgraded
    tmp_store.upsert_papers([
        paper(2, TUESDAY, "Graph neural networks at scale"),
        paper(3, TUESDAY, "Protein folding with language models"),
        paper(4, TUESDAY, "Folding chairs and protein bars"),
    ])  # fmt: skip
    _run(mail_settings, tmp_store, TUESDAY)
    [mail] = smtp.to("bob@example.org")
    assert mail.message["Subject"] == "2 new papers for your 2 saved searches"
    text = mail.part("plain")
    assert '## "graph neural"' in text and '## ""protein folding""' in text
    assert "Folding chairs" not in text


def test_a_query_with_a_line_break_in_the_store_is_never_sent(mail_settings, tmp_store, smtp):
    """Defence in depth: even a row written around the validation cannot inject a header."""
    tmp_store.upsert_papers([paper(1, MONDAY, "Old")])
    user = tmp_store.create_user("eve", "x", email="eve@example.org")
    sub, _ = tmp_store.upsert_subscriber("eve@example.org", "none", confirmed=True)
    tmp_store.add_saved_search(user.id, sub.id, "attention\r\nBcc: victim@example.org", None, MONDAY)
    tmp_store.upsert_papers([paper(2, TUESDAY, "Attention is all you need again")])
    _run(mail_settings, tmp_store, TUESDAY)
    assert smtp.count() == 0
    assert tmp_store.outbox_counts(kind="alerts") == {"failed": 1}
