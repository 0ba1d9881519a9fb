"""Accounts people can recover and leave, through the real app, a real store (each backend) and
a real local SMTP server: the reset flow and its bad links, an address change confirmed at
the new address, log out everywhere, the data download and account deletion."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from paperboard.web.account_links import AccountLinks
from paperboard.web.app import create_app
from paperboard.web.passwords import hash_password
from paperboard.web.sessions import COOKIE
from paperboard.web.tokens import new_secret, token_hash
from tests.digest.conftest import mail_settings, smtp, smtp_server  # noqa: F401 (fixtures)

from .conftest import csrf, login, sample_papers

BASE = "https://papers.example.org"
OLD_PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new secret"
HASH = hash_password(OLD_PASSWORD)  # once: argon2 costs ~50 ms a call


@pytest.fixture
def app(mail_settings, tmp_store):  # noqa: F811
    tmp_store.upsert_papers(sample_papers())
    return create_app(mail_settings, tmp_store)


@pytest.fixture
def browser(app):
    """Browsers (each with its own cookies) at the site's public address."""
    made: list[TestClient] = []

    def new() -> TestClient:
        c = TestClient(app, base_url=BASE)
        made.append(c)
        return c

    yield new
    for c in made:
        c.close()


@pytest.fixture
def alice(tmp_store):
    return tmp_store.create_user("alice", HASH, email="Alice@Example.org")


def _logged_in(browser, user) -> TestClient:
    """A browser with a session of ``user``, made as a log-in makes it (without paying argon2
    for every browser: the log-in form itself is tested where it matters)."""
    c = browser()
    token = new_secret()
    c.app.state.store.create_session(user.id, token_hash(token), datetime.now(UTC) + timedelta(days=1))
    c.cookies.set(COOKIE, token)
    assert _is_logged_in(c)
    return c


def _link(mail, path: str) -> str:
    m = re.search(rf"{re.escape(BASE)}{re.escape(path)}\?token=[A-Za-z0-9_.\-]+", mail.part("plain"))
    assert m, mail.part("plain")
    parts = urlsplit(m.group(0))
    return f"{parts.path}?{parts.query}"


def _forgot(c: TestClient, email: str):
    return c.post("/forgot", data={"email": email, "csrf_token": csrf(c, "/forgot")})


def _token(path: str) -> str:
    return path.split("token=", 1)[1]


def _reset(c: TestClient, path: str, password: str = NEW_PASSWORD, repeat: str | None = None):
    form = c.get(path)
    assert form.status_code == 200, form.text[:300]
    token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
    data = {"token": token, "new": password, "repeat": password if repeat is None else repeat,
            "csrf_token": csrf(c, path)}  # fmt: skip
    return c.post("/reset", data=data, follow_redirects=False)


def _is_logged_in(c: TestClient) -> bool:
    return c.get("/account", follow_redirects=False).status_code == 200


# -- password reset ------------------------------------------------------------------------------
def test_reset_link_sets_a_new_password_once_and_ends_every_session(browser, alice, smtp, tmp_store):  # noqa: F811
    laptop, phone = _logged_in(browser, alice), _logged_in(browser, alice)
    stranger = browser()
    page = _forgot(stranger, "alice@EXAMPLE.org")  # any case: addresses match case-insensitively
    assert page.status_code == 200 and "Check your inbox" in page.text
    smtp.wait_for(1)
    [mail] = smtp.to("Alice@Example.org")
    assert mail.message["Subject"] == "Reset your Paperboard password"
    assert "List-Unsubscribe" not in mail.message  # a transactional email, not the mailing list
    link = _link(mail, "/reset")

    r = _reset(stranger, link, repeat="something else")
    assert r.status_code == 400 and "The two passwords differ" in r.text
    assert _is_logged_in(laptop)  # nothing changed yet
    r = _reset(stranger, link)
    assert r.status_code == 303 and r.headers["location"] == "/login?done=reset"

    assert not _is_logged_in(laptop) and not _is_logged_in(phone)
    new_hash = tmp_store.get_password_hash(alice.id)
    assert new_hash != HASH
    assert login(browser(), "alice", NEW_PASSWORD).status_code == 303

    reused = stranger.get(link)
    assert reused.status_code == 400 and "already used" in reused.text
    again = stranger.post("/reset", data={"token": _token(link), "new": "third password!", "repeat": "third password!",
                                          "csrf_token": csrf(stranger, "/forgot")})  # fmt: skip
    assert again.status_code == 400 and "already used" in again.text
    assert tmp_store.get_password_hash(alice.id) == new_hash


def test_forgot_form_answers_alike_for_known_and_unknown_addresses(browser, alice, smtp):  # noqa: F811
    c = browser()

    def answer(email: str) -> tuple[int, str]:
        r = _forgot(c, email)
        body = re.sub(r'value="[^"]+"', "", r.text).replace(email.lower(), "ADDRESS")
        return r.status_code, body

    known, unknown = answer("alice@example.org"), answer("nobody@example.org")
    assert known == unknown
    smtp.wait_for(1)
    time.sleep(0.2)  # room for a wrong second email to arrive
    assert [m.to for m in smtp.messages] == ["Alice@Example.org"]


def test_forgot_form_is_rate_limited_per_address_and_per_client(browser, alice, smtp):  # noqa: F811
    c = browser()
    for _ in range(3):
        assert _forgot(c, "alice@example.org").status_code == 200
    smtp.wait_for(3)
    fourth = _forgot(c, "alice@example.org")
    assert fourth.status_code == 200 and "Check your inbox" in fourth.text  # the same answer...
    time.sleep(0.2)
    assert smtp.count() == 3  # ...but no fourth email in this inbox
    for i in range(6):
        assert _forgot(c, f"someone{i}@example.org").status_code == 200
    blocked = _forgot(c, "another@example.org")
    assert blocked.status_code == 429 and "Too many reset requests" in blocked.text


def _fresh_reset_path(app, tmp_store, user, *, user_id=None, expires=None, signed_at=None, monkeypatch=None) -> str:
    """A reset link recorded in the store; ``user_id`` signs it for another account,
    ``signed_at`` back-dates its signature, ``expires`` its row."""
    links = AccountLinks(app.state.secret_key)
    with monkeypatch.context() as m:
        if signed_at is not None:
            m.setattr("itsdangerous.timed.time.time", lambda: signed_at)
        token, digest = links.make("reset", user.id if user_id is None else user_id)
    tmp_store.create_account_token(user.id, "reset", digest, user.email,
                                   expires or datetime.now(UTC) + timedelta(hours=1))  # fmt: skip
    return f"/reset?token={token}"


def test_bad_reset_links_get_a_clear_page_and_change_nothing(app, browser, alice, tmp_store, monkeypatch):
    bob = tmp_store.create_user("bob", HASH, email="bob@example.org")
    alice_session = _logged_in(browser, alice)
    c = browser()
    good = _fresh_reset_path(app, tmp_store, alice, monkeypatch=monkeypatch)
    cases = {
        "cut": good[:-6],
        "incomplete": "/reset?token=",
        "changed": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "expired (signature)": _fresh_reset_path(app, tmp_store, alice, signed_at=time.time() - 7200,
                                                 monkeypatch=monkeypatch),
        "expired (store)": _fresh_reset_path(app, tmp_store, alice, expires=datetime.now(UTC) - timedelta(seconds=1),
                                             monkeypatch=monkeypatch),
        "another account's": _fresh_reset_path(app, tmp_store, alice, user_id=bob.id, monkeypatch=monkeypatch),
        "an address link": "/reset?token=" + AccountLinks(app.state.secret_key).make("email", alice.id)[0],
        "too long": "/reset?token=" + "x" * 5000,
    }  # fmt: skip
    words = {"cut": "cut or changed", "incomplete": "incomplete", "changed": "cut or changed",
             "expired (signature)": "expired", "expired (store)": "expired", "another account's": "not valid",
             "an address link": "not valid", "too long": "not valid"}  # fmt: skip
    for name, path in cases.items():
        r = c.get(path)
        assert r.status_code == 400, name
        assert "This reset link does not work" in r.text and words[name] in r.text, (name, r.text[-800:])
        post = c.post("/reset", data={"token": _token(path), "new": NEW_PASSWORD, "repeat": NEW_PASSWORD,
                                      "csrf_token": csrf(c, "/forgot")})  # fmt: skip
        assert post.status_code == 400 and words[name] in post.text, name
    assert _is_logged_in(alice_session)
    assert tmp_store.get_password_hash(alice.id) == HASH and tmp_store.get_password_hash(bob.id) == HASH
    assert _reset(c, good).status_code == 303  # the good link still works after all that


# -- address change ------------------------------------------------------------------------------
def test_address_change_is_confirmed_at_the_new_address_by_the_owner(browser, alice, smtp, tmp_store):  # noqa: F811
    me, bob = _logged_in(browser, alice), _logged_in(browser, tmp_store.create_user("bob", HASH))
    old_reset = browser()
    _forgot(old_reset, "alice@example.org")
    smtp.wait_for(1)
    old_link = _link(smtp.messages[0], "/reset")

    def change(password: str):
        return me.post("/account/email", data={"email": "new@example.net", "password": password,
                                               "csrf_token": csrf(me, "/account")}, follow_redirects=False)  # fmt: skip

    wrong = change("not my password")
    assert wrong.status_code == 400 and "The password is wrong" in wrong.text
    assert change(OLD_PASSWORD).status_code == 303
    smtp.wait_for(2)
    [mail] = smtp.to("new@example.net")
    assert smtp.to("Alice@Example.org") == [smtp.messages[0]]  # nothing else to the old address
    assert tmp_store.get_user(alice.id).email == "Alice@Example.org"  # not until the link is followed
    link = _link(mail, "/account/email/confirm")

    anonymous = browser().get(link, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
    r = bob.get(link)
    assert r.status_code == 400 and "for another account" in r.text
    r = bob.post("/account/email/confirm", data={"token": _token(link), "csrf_token": csrf(bob, "/account")})
    assert r.status_code == 400 and "for another account" in r.text
    assert tmp_store.get_user(alice.id).email == "Alice@Example.org"

    page = me.get(link)
    assert page.status_code == 200 and "new@example.net" in page.text
    r = me.post("/account/email/confirm", data={"token": _token(link), "csrf_token": csrf(me, "/account")},
                follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert tmp_store.get_user(alice.id).email == "new@example.net"
    again = me.post("/account/email/confirm", data={"token": _token(link), "csrf_token": csrf(me, "/account")})
    assert again.status_code == 400 and "already used" in again.text
    stale = old_reset.get(old_link)  # sent to the old address: that address no longer opens the account
    assert stale.status_code == 400 and "already used" in stale.text


# -- sessions ------------------------------------------------------------------------------------
def test_password_change_ends_other_sessions_and_log_out_everywhere_ends_all(browser, alice):
    here, there = _logged_in(browser, alice), _logged_in(browser, alice)
    r = here.post("/account/password", data={"current": OLD_PASSWORD, "new": NEW_PASSWORD,
                                              "csrf_token": csrf(here, "/account")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert _is_logged_in(here) and not _is_logged_in(there)
    there = _logged_in(browser, alice)
    r = here.post("/account/sessions/end", data={"csrf_token": csrf(here, "/account")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?done=everywhere"
    assert not _is_logged_in(here) and not _is_logged_in(there)


# -- leaving -------------------------------------------------------------------------------------
@pytest.fixture
def busy_alice(tmp_store, alice):
    """Alice with a bit of everything; bob votes too, so a count is shared."""
    bob = tmp_store.create_user("bob", HASH)
    for pid in ("2607.00001", "2607.00002"):
        tmp_store.set_vote(alice.id, pid, True)
    tmp_store.set_vote(bob.id, "2607.00001", True)
    tmp_store.add_comment("2607.00001", alice.id, "Alice's first comment")
    tmp_store.add_comment("2607.00001", bob.id, "Bob's reply")
    tmp_store.save_paper(alice.id, "2607.00002", note="read later")
    shelf = tmp_store.create_collection(alice.id, "Shelf", public=True)
    tmp_store.add_to_collection(alice.id, shelf.id, "2607.00002")
    tmp_store.dismiss_paper(alice.id, "2606.00004")
    tmp_store.upsert_subscriber("alice@example.org", "weekly", confirmed=True, user_id=alice.id)
    return alice, bob


def test_export_holds_the_users_own_data(browser, busy_alice):
    r = _logged_in(browser, busy_alice[0]).get("/account/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "attachment" in r.headers["content-disposition"] and r.headers["cache-control"] == "no-store"
    data = json.loads(r.text)
    assert data["profile"]["username"] == "alice" and data["profile"]["email"] == "Alice@Example.org"
    assert sorted(v["paper_id"] for v in data["votes"]) == ["2607.00001", "2607.00002"]
    assert [c["body"] for c in data["comments"]] == ["Alice's first comment"]  # not bob's
    assert data["library"][0] | {"saved_at": None} == {"paper_id": "2607.00002", "note": "read later", "saved_at": None}
    assert data["collections"][0]["name"] == "Shelf" and data["collections"][0]["papers"] == ["2607.00002"]
    assert [d["paper_id"] for d in data["dismissals"]] == ["2606.00004"]
    assert [(s["email"], s["kind"]) for s in data["subscriptions"]] == [("alice@example.org", "weekly")]
    assert "password" not in r.text


@pytest.mark.parametrize("keep", [True, False], ids=["comments-stay", "comments-go"])
def test_deleting_an_account_needs_the_password_and_keeps_counts_exact(browser, busy_alice, tmp_store, keep):
    alice, bob = busy_alice
    before = {pid: tmp_store.get_paper(pid).upvotes for pid in ("2607.00001", "2607.00002")}
    c = _logged_in(browser, alice)
    form = {"comments": "keep" if keep else "delete", "csrf_token": csrf(c, "/account/delete")}
    if keep:  # (once: argon2 is the slow part of these tests)
        wrong = c.post("/account/delete", data={**form, "password": "not it"})
        assert wrong.status_code == 400 and "Nothing was deleted" in wrong.text
        assert tmp_store.get_user(alice.id) is not None and _is_logged_in(c)

    done = c.post("/account/delete", data={**form, "password": OLD_PASSWORD})
    assert done.status_code == 200 and "Account deleted" in done.text
    assert tmp_store.get_user(alice.id) is None and tmp_store.get_user_by_name("alice") is None
    assert not _is_logged_in(c)
    assert {pid: tmp_store.get_paper(pid).upvotes for pid in before} == {pid: n - 1 for pid, n in before.items()}
    comments = tmp_store.list_comments("2607.00001")
    if keep:
        assert [(x.username, x.user_id, x.body) for x in comments] == [
            ("deleted user", None, "Alice's first comment"), ("bob", bob.id, "Bob's reply")]  # fmt: skip
        page = browser().get("/papers/2607.00001")
        assert "deleted user" in page.text and "s first comment" in page.text
    else:
        assert [x.username for x in comments] == ["bob"]
    assert tmp_store.get_subscriber_by_email("alice@example.org") is None
    assert tmp_store.voted_ids(bob.id, ["2607.00001"]) == {"2607.00001"}  # bob's vote stands
    # the name is free again, and a new alice sees nothing of the old one
    newcomer = tmp_store.create_user("alice", HASH)
    assert tmp_store.export_account(newcomer.id)["votes"] == [] and tmp_store.library(newcomer.id) == []
