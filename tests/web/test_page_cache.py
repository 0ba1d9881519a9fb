"""Visitors' pages kept for a moment (web/page_cache.py): shared by visitors only, each with
their own CSRF token, fresh for anyone logged in, and gone when their time is up."""

from __future__ import annotations

import re

import pytest

from paperboard.web.page_cache import SLOT, PageCache
from tests.web.conftest import csrf, signup

FEED = "/?date=2026-07-01"
PAPER = "2607.00001"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app):
    clock = Clock()
    app.state.page_cache = PageCache(30, clock=clock)
    return clock


def _count(html: str, pid: str = PAPER) -> int:
    card = html[html.index(f'id="p-{pid}"'):]
    return int(re.search(r'<span class="count">(\d+)</span>', card).group(1))


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_visitors_share_a_page_until_its_time_is_up_and_users_always_see_their_writes(clock, make_client):
    first, second, user = make_client(), make_client(), make_client()
    assert _count(first.get(FEED).text) == 40
    signup(user, "reader")
    r = user.post(f"/papers/{PAPER}/upvote", data={"csrf_token": csrf(user, FEED)}, follow_redirects=False)
    assert r.status_code in (200, 303)
    assert _count(user.get(FEED).text) == 41  # the voter's own page is never a kept one
    assert _count(second.get(FEED).text) == 40  # a visitor's: kept for up to page_cache_seconds
    clock.now += 31
    assert _count(second.get(FEED).text) == 41


def test_each_visitor_gets_their_own_csrf_token_and_it_works(clock, make_client):
    first, second = make_client(), make_client()
    page_a = first.get(FEED)
    page_b = second.get(FEED)  # from the kept page
    token_a, token_b = _token(page_a.text), _token(page_b.text)
    assert token_a != token_b and SLOT.decode() not in page_b.text
    assert "pb_csrf" in second.cookies
    again = second.get(FEED)
    assert _token(again.text) == token_b  # same visitor, same token, no new cookie
    assert "pb_csrf" not in again.headers.get("set-cookie", "")
    # The token in the kept page is this visitor's: a form posted with it passes the CSRF check.
    r = second.post("/login", data={"username": "nobody", "password": "wrong password", "csrf_token": token_b},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 400, r.text[:300]
    r = second.post("/login", data={"username": "nobody", "password": "wrong password", "csrf_token": token_a},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 403


def test_head_api_and_errors(clock, app, make_client):
    visitor = make_client()
    assert visitor.get(FEED).status_code == 200
    head = visitor.head(FEED)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-type"].startswith("text/html")
    api = "/api/daily_papers?date=2026-07-01"
    before = visitor.get(api).json()
    assert visitor.get(api).json() == before and visitor.get(api).headers["content-type"] == "application/json"
    assert visitor.get("/papers/2699.99999").status_code == 404
    kept = set(app.state.page_cache._pages)
    assert "/?date=2026-07-01" in kept and "/api/daily_papers?date=2026-07-01" in kept
    assert not any("2699.99999" in k for k in kept)  # only 200 answers are kept


def test_the_cache_forgets_expired_pages_and_keeps_at_most_its_size():
    clock = Clock()
    cache = PageCache(1, size=3, clock=clock)
    for i in range(5):
        cache.put(f"/{i}", b"x", ())
    assert len(cache) == 3 and cache.get("/4") is not None and cache.get("/0") is None
    clock.now += 2
    assert cache.get("/4") is None
    cache.put("/new", b"y", ())
    assert len(cache) == 1


def test_off_when_the_setting_is_zero(settings, loaded_store):
    from fastapi.testclient import TestClient

    from paperboard.web.app import create_app

    app = create_app(settings.model_copy(update={"page_cache_seconds": 0}), loaded_store)
    with TestClient(app) as visitor, TestClient(app) as user:
        assert _count(visitor.get(FEED).text) == 40
        signup(user, "reader")
        user.post(f"/papers/{PAPER}/upvote", data={"csrf_token": csrf(user, FEED)}, follow_redirects=False)
        assert _count(visitor.get(FEED).text) == 41
        assert len(app.state.page_cache) == 0
