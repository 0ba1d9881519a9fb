"""RSS/Atom feeds (valid XML, escaped) and the trending score."""

from __future__ import annotations

from datetime import UTC, date, datetime
from xml.etree import ElementTree as ET

import pytest

from paperboard.ranking import trending_papers, trending_score
from paperboard.ranking.trending import effective_now

from .conftest import XSS_TITLE, csrf, make_paper, signup

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.mark.parametrize("path", ["/feeds/daily.xml", "/feeds/trending.xml", "/feeds/search.xml?q=attention",
                                  "/feeds/trending.xml?category=cs.RO"])
def test_rss_feeds_are_valid_rss(client, path):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/rss+xml")
    root = ET.fromstring(r.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    assert items and all(i.findtext("link").startswith("http://127.0.0.1:8000/papers/") for i in items)


def test_daily_feed_keeps_order_and_hostile_titles_are_text(client):
    root = ET.fromstring(client.get("/feeds/daily.xml").content)
    titles = [i.findtext("title") for i in root.findall("./channel/item")]
    assert titles[0] == "Sparse Mixture of Experts for Long Context"
    assert XSS_TITLE in titles  # a text node, not markup


@pytest.mark.parametrize("path", ["/feeds/daily.atom", "/feeds/trending.atom", "/feeds/search.atom?q=diffusion"])
def test_atom_feeds(client, path):
    root = ET.fromstring(client.get(path).content)
    assert root.tag == f"{ATOM}feed" and root.findall(f"{ATOM}entry")


def test_search_feed_errors_are_4xx(client):
    assert client.get("/feeds/search.xml").status_code == 400
    assert client.get("/feeds/search.xml", params={"q": "x" * 10_000}).status_code == 400
    assert client.get("/feeds/search.xml", params={"q": "-x"}).status_code == 400


def test_control_characters_do_not_break_feeds(client, loaded_store):
    loaded_store.upsert_papers([make_paper("2607.00009", "Bell\x07 and\x1b escape", upvotes=1000)])
    ET.fromstring(client.get("/feeds/daily.xml").content)


def test_trending_score_formula():
    now = datetime(2026, 7, 2, 0, 0, tzinfo=UTC)
    score, parts = trending_score(10, 2, date(2026, 7, 1), now)
    assert parts["age_hours"] == 24
    assert score == pytest.approx((10 + 2 * 2) / (24 + 2) ** 1.8)
    # the same votes a day later weigh less; comments count double
    older, _ = trending_score(10, 2, date(2026, 6, 30), now)
    assert older < score
    assert trending_score(0, 1, date(2026, 7, 1), now)[0] == trending_score(2, 0, date(2026, 7, 1), now)[0]


def test_trending_prefers_recent_activity(loaded_store):
    now = datetime(2026, 7, 2, tzinfo=UTC)
    entries = trending_papers(loaded_store, now=now, limit=10)
    ids = [e.paper.id for e in entries]
    # 40 upvotes today beat 100 a day older (a day costs a factor (50/26)^1.8 ≈ 3.2);
    # 500 upvotes 47 days old are outside the window
    assert ids[:2] == ["2607.00001", "2606.00004"]
    assert "2605.00005" not in ids  # outside the 30-day window
    assert [e.score for e in entries] == sorted((e.score for e in entries), reverse=True)
    assert trending_papers(loaded_store, now=now, category="cs.RO")[0].paper.id == "2607.00002"


def test_trending_clock_stops_at_the_newest_feed_day(loaded_store):
    late = datetime(2030, 1, 1, tzinfo=UTC)
    assert effective_now(loaded_store, late) == datetime(2026, 7, 2, tzinfo=UTC)
    assert trending_papers(loaded_store, now=late)  # an archive still has a trending page


def test_comments_and_votes_move_a_paper_up(client, loaded_store):
    now = datetime(2026, 7, 2, tzinfo=UTC)
    before = [e.paper.id for e in trending_papers(loaded_store, now=now)].index("2607.00003")
    signup(client, "fan")
    for i in range(20):
        client.post("/papers/2607.00003/comments", data={"body": f"great {i}", "csrf_token": csrf(client, "/")})
    after = [e.paper.id for e in trending_papers(loaded_store, now=now)].index("2607.00003")
    assert after < before


def test_ranking_scores_the_active_papers_and_orders_the_quiet_ones_exactly(client, loaded_store):
    """Only upvoted or commented papers are scored; the rest follow from an index. The result
    must equal ranking every candidate by the formula, across the boundary between the two."""
    from datetime import timedelta

    from paperboard.ranking.trending import (
        AGE_OFFSET_HOURS,
        COMMENT_WEIGHT,
        GRAVITY,
        trending_score,
    )

    signup(client, "ranker")
    for pid, n in (("2607.00003", 3), ("2606.00004", 1)):
        for i in range(n):
            client.post(f"/papers/{pid}/comments", data={"body": f"c{i}", "csrf_token": csrf(client, "/")})
    loaded_store.upsert_papers([make_paper(f"2607.1{i:04d}", f"Filler paper {i}", upvotes=i % 7,
                                           day=date(2026, 7, 1) - timedelta(days=i % 20)) for i in range(200)])
    now = datetime(2026, 7, 1, 15, 30, tzinfo=UTC)
    start, end = date(2026, 6, 1), date(2026, 7, 1)
    for category in (None, "cs.RO", "cs.CL"):
        every = loaded_store.trending_candidates(start, end, category=category)
        want = sorted(((c.paper_id, trending_score(c.upvotes, c.comments, c.feed_day, now)[0], c.feed_day) for c in every),
                      key=lambda t: (-t[1], -t[2].toordinal(), t[0]))  # fmt: skip
        active = sum(1 for _, score, _ in want if score > 0)
        if category is None:
            assert 0 < active < len(want) - 20  # both kinds, so the pages below cross the boundary
        for offset, limit in ((5, 60), (active - 3, 10), (active + 2, 7), (len(want) - 2, 10)):
            kw = dict(gravity=GRAVITY, comment_weight=COMMENT_WEIGHT, age_offset_hours=AGE_OFFSET_HOURS,
                      category=category, limit=limit, offset=offset)  # fmt: skip
            got = loaded_store.trending_top(start, end, now, **kw)
            assert [c.paper_id for c, _ in got] == [pid for pid, _, _ in want[offset : offset + limit]]
            assert [s for _, s in got] == pytest.approx([s for _, s, _ in want[offset : offset + limit]], rel=1e-9)
