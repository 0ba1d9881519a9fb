"""The subscription pages through the real app: the box on every page, confirm and unsubscribe
links (good, tampered, expired), RFC 8058 one-click POST, and a user's saved-search alerts."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from paperboard.digest.outbox import OutboxSender, plan_digests
from paperboard.digest.tokens import Tokens
from paperboard.web.app import create_app

from .conftest import TUESDAY, paper

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(mail_settings, tmp_store):
    tmp_store.upsert_papers([paper(1, TUESDAY, "Diffusion for robots", upvotes=5, categories=("cs.RO",))])
    with TestClient(create_app(mail_settings, tmp_store), base_url="https://papers.example.org") as c:
        yield c


def _csrf(client: TestClient, path: str = "/") -> str:
    m = CSRF.search(client.get(path).text)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _link(mail, path: str) -> str:
    m = re.search(rf"https://papers\.example\.org{re.escape(path)}\?token=\S+", mail.part("plain"))
    assert m
    return _path(m.group(0))


def test_subscribe_box_confirm_and_unsubscribe(client, smtp, tmp_store, mail_settings):
    page = client.get("/")
    assert 'action="/subscribe"' in page.text
    r = client.post("/subscribe", data={"email": "reader@example.org", "csrf_token": _csrf(client)})
    assert r.status_code == 200 and "Check your inbox" in r.text
    smtp.wait_for(1)
    [mail] = smtp.to("reader@example.org")
    r = client.get(_link(mail, "/subscribe/confirm"))
    assert r.status_code == 200 and "You are subscribed" in r.text
    assert tmp_store.get_subscriber_by_email("reader@example.org").status == "confirmed"

    plan_digests(tmp_store, mail_settings, [("daily", TUESDAY)])
    OutboxSender(mail_settings, tmp_store).run()
    digest = smtp.to("reader@example.org")[-1]
    link = _link(digest, "/unsubscribe")
    r = client.get(link)  # opening the link only shows the button (RFC 8058: POST unsubscribes)
    assert r.status_code == 200 and "Unsubscribe?" in r.text
    assert tmp_store.get_subscriber_by_email("reader@example.org").status == "confirmed"
    r = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert tmp_store.get_subscriber_by_email("reader@example.org").status == "unsubscribed"


def test_one_click_post_from_the_list_unsubscribe_header_needs_no_cookie(client, smtp, tmp_store, mail_settings):
    tmp_store.upsert_subscriber("oneclick@example.org", "daily", confirmed=True)
    plan_digests(tmp_store, mail_settings, [("daily", TUESDAY)])
    OutboxSender(mail_settings, tmp_store).run()
    url = smtp.to("oneclick@example.org")[0].message["List-Unsubscribe"].strip("<>")
    fresh = TestClient(client.app, base_url="https://papers.example.org")  # a mail client: no cookie, no CSRF
    r = fresh.post(_path(url), content=b"List-Unsubscribe=One-Click",
                   headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 200
    assert tmp_store.get_subscriber_by_email("oneclick@example.org").status == "unsubscribed"


def test_invalid_address_gets_a_clear_message(client, tmp_store):
    r = client.post("/subscribe", data={"email": "bob.example.org", "csrf_token": _csrf(client)})
    assert r.status_code == 400 and "not an email address" in r.text
    r = client.post("/subscribe", data={"email": "a@example.org\r\nBcc: x@example.org", "csrf_token": _csrf(client)})
    assert r.status_code == 400 and "line breaks" in r.text
    assert tmp_store.list_subscribers() == []


def test_subscribe_without_csrf_is_refused(client, tmp_store):
    r = client.post("/subscribe", data={"email": "a@example.org"})
    assert r.status_code == 403 and tmp_store.list_subscribers() == []


@pytest.mark.parametrize("path", ["/subscribe/confirm", "/unsubscribe"])
@pytest.mark.parametrize("token", ["", "garbage", "eyJzIjoxfQ.tampered.sig", "x" * 3000])
def test_bad_tokens_get_a_clear_page_not_a_trace(client, path, token):
    r = client.get(path, params={"token": token} if token else None)
    assert r.status_code == 400
    assert "Traceback" not in r.text and "itsdangerous" not in r.text
    assert "This link does not work" in r.text


def test_expired_confirmation_link(client, mail_settings, tmp_store, monkeypatch):
    sub, _ = tmp_store.upsert_subscriber("late@example.org", "daily")
    token = Tokens(mail_settings.resolved_secret_key()).make("confirm", sub.id, sub.email, "daily")
    monkeypatch.setattr(client.app.state.settings, "digest_confirm_max_age_hours", -1)
    r = client.get("/subscribe/confirm", params={"token": token})
    assert r.status_code == 400 and "expired" in r.text
    assert tmp_store.get_subscriber_by_email("late@example.org").status == "pending"


def test_logged_in_user_saves_an_alert(client, smtp, tmp_store, mail_settings):
    r = client.post("/signup", data={"username": "ada", "password": "correct horse battery",
                                     "email": "ada@example.org", "csrf_token": _csrf(client, "/signup")},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert client.get("/account/alerts").status_code == 200
    r = client.post("/account/alerts", data={"query": "diffusion", "category": "cs.RO",
                                             "csrf_token": _csrf(client, "/account/alerts")})  # fmt: skip
    assert r.status_code == 200 and "Open the confirmation link" in r.text
    r = client.post("/account/alerts", data={"query": "x\ny", "csrf_token": _csrf(client, "/account/alerts")})
    assert r.status_code == 400 and "line break" in r.text
    r = client.post("/account/alerts", data={"query": "z", "category": "not a category!",
                                             "csrf_token": _csrf(client, "/account/alerts")})  # fmt: skip
    assert r.status_code == 400 and "arXiv category" in r.text
    [saved] = tmp_store.list_saved_searches()
    assert (saved.query, saved.category) == ("diffusion", "cs.RO")
    smtp.wait_for(1)
    client.get(_link(smtp.to("ada@example.org")[0], "/subscribe/confirm"))
    tmp_store.upsert_papers([paper(2, TUESDAY.replace(day=4), "Diffusion for robot arms", categories=("cs.RO",))])
    plan_digests(tmp_store, mail_settings, [("alerts", TUESDAY.replace(day=4))])
    OutboxSender(mail_settings, tmp_store).run()
    assert "Diffusion for robot arms" in smtp.to("ada@example.org")[-1].part("plain")
    r = client.post(f"/account/alerts/{saved.id}/delete", data={"csrf_token": _csrf(client, "/account/alerts")},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and tmp_store.list_saved_searches() == []


def test_alerts_page_needs_a_login(client):
    r = client.get("/account/alerts", follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]
