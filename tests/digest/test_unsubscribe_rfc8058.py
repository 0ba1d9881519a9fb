"""RFC 8058 one-click unsubscribe: the emails' URL unsubscribes on POST only. A GET (a reader's
click, or a mail provider's link scanner) shows one button and changes nothing; the provider's
``List-Unsubscribe=One-Click`` POST works without a cookie or CSRF token; tokens in mail sent
before the change still work; a bad or cut token changes nothing, on either method."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from paperboard.digest.outbox import OutboxSender, plan_digests
from paperboard.digest.subscriptions import Subscriptions
from paperboard.digest.tokens import _SALTS
from paperboard.web.app import create_app

from .conftest import TUESDAY, paper

MONDAY = date(2025, 6, 2)
ONE_CLICK = {"content": b"List-Unsubscribe=One-Click", "headers": {"content-type": "application/x-www-form-urlencoded"}}
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def site(mail_settings, tmp_store):
    """The app as a mail provider or a link scanner meets it: no cookie, no CSRF token."""
    with TestClient(create_app(mail_settings, tmp_store), base_url="https://papers.example.org") as c:
        yield c


@pytest.fixture
def mailed(mail_settings, tmp_store, smtp):
    """A reader who gets the daily digest and a saved-search alert, both sent for real."""
    tmp_store.upsert_papers([paper(1, MONDAY, "Diffusion models, the old one")])
    user = tmp_store.create_user("ada", "x", email="ada@example.org")
    tmp_store.upsert_subscriber("ada@example.org", "daily", confirmed=True, user_id=user.id)
    Subscriptions(mail_settings, tmp_store).add_alert(user.id, "ada@example.org", "diffusion", None)
    tmp_store.upsert_papers([paper(2, TUESDAY, "Diffusion for robots", upvotes=5)])
    plan_digests(tmp_store, mail_settings, [("daily", TUESDAY), ("alerts", TUESDAY)])
    OutboxSender(mail_settings, tmp_store).run()
    mails = {m.message["Subject"].split(" ")[0]: m for m in smtp.to("ada@example.org")}
    assert set(mails) == {"Trending", "1"}, list(mails)  # the daily digest and "1 new paper for …"
    return mails


def _status(store) -> str:
    return store.get_subscriber_by_email("ada@example.org").status


def test_digest_and_alert_emails_carry_both_headers_and_the_link_in_the_body(mailed):
    for mail in mailed.values():
        url = mail.message["List-Unsubscribe"].strip("<>")
        assert url.startswith("https://papers.example.org/unsubscribe?token=")
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert url in mail.part("plain")


def test_get_and_head_change_nothing_and_the_page_button_posts(mailed, site, tmp_store):
    url = _path(mailed["Trending"].message["List-Unsubscribe"].strip("<>"))
    for _ in range(3):  # a scanner may follow a link several times
        assert site.head(url).status_code == 200
        page = site.get(url)
        assert page.status_code == 200 and "Unsubscribe?" in page.text and "ada@example.org" in page.text
    assert _status(tmp_store) == "confirmed"
    [action] = FORM_ACTION.findall(page.text)
    assert unescape(action) == url  # the button POSTs to the very URL of the header
    r = site.post(unescape(action), data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert _status(tmp_store) == "unsubscribed"
    # Coming back to the link later: nothing to press any more.
    again = site.get(url)
    assert again.status_code == 200 and "not on our list" in again.text and not FORM_ACTION.search(again.text)


def test_the_mail_providers_one_click_post_unsubscribes_without_session_or_csrf(mailed, site, tmp_store):
    url = _path(mailed["1"].message["List-Unsubscribe"].strip("<>"))  # the alert's
    r = site.post(url, **ONE_CLICK)
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert _status(tmp_store) == "unsubscribed"
    assert site.post(url, **ONE_CLICK).status_code == 200  # a provider retrying: still fine
    assert _status(tmp_store) == "unsubscribed"


def test_a_token_from_mail_sent_long_ago_still_works(mail_settings, tmp_store, site):
    """Tokens as an older release signed them: no precise issue time in the payload, signed 200
    days ago (inside the 365-day life of an unsubscribe link)."""
    sub, _ = tmp_store.upsert_subscriber("old@example.org", "weekly", confirmed=True)

    class Then(URLSafeTimedSerializer):
        def get_timestamp(self) -> int:
            return int((datetime.now(UTC) - timedelta(days=200)).timestamp())

    old = Then(mail_settings.resolved_secret_key(), salt=_SALTS["unsubscribe"]).dumps({"s": sub.id, "e": sub.email})
    page = site.get("/unsubscribe", params={"token": old})
    assert page.status_code == 200 and "old@example.org" in page.text
    assert tmp_store.get_subscriber_by_email("old@example.org").status == "confirmed"
    r = site.post(unescape(FORM_ACTION.search(page.text).group(1)), **ONE_CLICK)
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert tmp_store.get_subscriber_by_email("old@example.org").status == "unsubscribed"


def test_bad_cut_or_expired_tokens_get_a_clear_page_and_change_nothing(mailed, site, tmp_store, monkeypatch):
    url = _path(mailed["Trending"].message["List-Unsubscribe"].strip("<>"))
    token = url.split("token=", 1)[1]
    for bad in [url[:-6], "/unsubscribe?token=" + token[:20], "/unsubscribe?token=garbage", "/unsubscribe"]:
        for method in ("GET", "POST"):
            r = site.request(method, bad, **(ONE_CLICK if method == "POST" else {}))
            assert r.status_code == 400, (method, bad)
            assert "This link does not work" in r.text and "Traceback" not in r.text
    assert site.post("/unsubscribe", data={"token": "x" * 3000}).status_code == 400  # the form field, too long
    monkeypatch.setattr(site.app.state.settings, "digest_unsubscribe_max_age_days", -1)
    r = site.post(url, **ONE_CLICK)
    assert r.status_code == 400 and "expired" in r.text
    assert _status(tmp_store) == "confirmed"
