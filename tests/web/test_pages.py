"""The server-rendered pages: feed, periods, paper page, listings, search, stats, docs."""

from __future__ import annotations

import re

import pytest

from .conftest import csrf, signup


def test_feed_shows_latest_day_sorted_by_upvotes(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.text
    assert "Daily Papers" in html and "Get trending papers in your email inbox!" in html
    assert "Search any paper with AI" in html
    assert "Jul 1, 2026" in html  # the newest feed day
    first = html.index("Sparse Mixture of Experts")
    second = html.index("Diffusion Policies for Robot Grasping")
    assert first < second  # 40 upvotes before 12
    assert "Yesterday&#39;s Paper" not in html and "Yesterday's Paper" not in html
    # card parts: summary, author count + first authors, org badge, comment count, links
    assert "We study sparse mixture of experts for long context." in html
    assert "4 authors · Ada Lovelace, Alan Turing, Grace Hopper +1" in html
    assert 'href="/orgs/DeepLab"' in html
    assert 'href="https://arxiv.org/abs/2607.00001"' in html
    assert 'href="https://arxiv.org/pdf/2607.00001"' in html
    assert 'href="https://github.com/deeplab/smoe"' in html


def test_feed_sort_newest_and_periods(client):
    r = client.get("/papers", params={"date": "2026-07-01", "sort": "newest"})
    assert r.status_code == 200
    r = client.get("/papers", params={"week": "2026-W27"})
    assert r.status_code == 200 and "Week 27, 2026" in r.text
    assert "Yesterday" in r.text and "Sparse Mixture" in r.text  # Jun 30 and Jul 1 share the week
    r = client.get("/papers", params={"month": "2026-05"})
    assert "Graph Neural Networks" in r.text and "May 2026" in r.text


def test_prev_next_day_skip_empty_days(client):
    r = client.get("/papers", params={"date": "2026-07-01"})
    assert 'href="/papers?date=2026-06-30"' in r.text
    r = client.get("/papers", params={"date": "2026-06-30"})
    assert 'href="/papers?date=2026-05-15"' in r.text  # the nearest earlier day with papers
    assert 'href="/papers?date=2026-07-01"' in r.text


@pytest.mark.parametrize(
    "params",
    [{"date": "2026-13-01"}, {"date": "yesterday"}, {"week": "2026-W99"}, {"month": "2026-00"},
     {"date": "2026-07-01", "week": "2026-W27"}, {"sort": "sideways"}, {"page": "0"}],
)  # fmt: skip
def test_bad_feed_parameters_give_a_clear_400(client, params):
    r = client.get("/papers", params=params)
    assert r.status_code == 400
    assert "<h1>Bad request</h1>" in r.text


def test_empty_day_says_so(client):
    r = client.get("/papers", params={"date": "2030-01-01"})
    assert r.status_code == 200 and "No papers for 2030-01-01" in r.text


def test_paper_page_has_everything(client):
    r = client.get("/papers/2607.00001")
    assert r.status_code == 200
    html = r.text
    for text in ("Sparse Mixture of Experts for Long Context", "Ada Lovelace", "Kurt Gödel", "cs.CL",
                 "cs.LG", "Abstract", "@misc{lovelace2026sparse", "Cite", "Comments"):  # fmt: skip
        assert text in html, text
    assert 'href="/authors/Kurt%20G%C3%B6del"' in html
    bib = client.get("/papers/2607.00001/cite.bib")
    assert bib.status_code == 200 and "eprint = {2607.00001}" in bib.text


def test_paper_page_by_versioned_id_and_url_redirects(client):
    r = client.get("/papers/2607.00001v3", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/papers/2607.00001"


@pytest.mark.parametrize("path", ["/papers/9999.99999", "/papers/nonsense", "/papers/%3Cscript%3E",
                                  "/orgs/NoSuchOrg", "/authors/Nobody%20Here", "/nope"])
def test_unknown_things_give_404_pages(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "<h1>Not found</h1>" in r.text
    assert "<script>" not in r.text


def test_org_and_author_pages(client):
    r = client.get("/orgs/DeepLab")
    assert r.status_code == 200 and "Sparse Mixture" in r.text and "1 paper" in r.text
    r = client.get("/authors/Grace Hopper")
    assert r.status_code == 200 and "Sparse Mixture" in r.text and "Diffusion Policies" in r.text


def test_trending_page_and_category_filter(client):
    r = client.get("/trending")
    assert r.status_code == 200 and "Trending Papers" in r.text
    assert "(upvotes + 2 × comments) / (age_hours + 2)" in r.text
    r = client.get("/trending", params={"category": "cs.RO"})
    assert "Diffusion Policies" in r.text and "Sparse Mixture" not in r.text
    r = client.get("/trending", params={"category": "<script>"})
    assert r.status_code == 400


def test_search_page_finds_papers(client):
    r = client.get("/search", params={"q": "mixture experts"})
    assert r.status_code == 200 and "Sparse Mixture of Experts" in r.text


def test_search_by_arxiv_id_opens_the_paper(client):
    r = client.get("/search", params={"q": "https://arxiv.org/abs/2607.00002v1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/papers/2607.00002"


@pytest.mark.parametrize(
    "q",
    ['"unbalanced', "title:", "NEAR(a b)", "a AND OR NOT b", "'; DROP TABLE papers; --", "*", "^x",
     "col:val", "-", "- -x", '""', "ti:", "\x00", "((((", "a" * 249, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓"],
)  # fmt: skip
def test_hostile_searches_never_fail(client, q):
    r = client.get("/search", params={"q": q})
    assert r.status_code in (200, 400), r.text[:300]
    if r.status_code == 400:
        assert 'class="alert error"' in r.text


def test_ten_kilobyte_search_is_a_clear_400(client):
    r = client.get("/search", params={"q": "x" * 10_000})
    assert r.status_code == 400 and "too long" in r.text
    r = client.get("/api/papers/search", params={"q": "x" * 10_000})
    assert r.status_code == 422


def test_stats_page_draws_svg_charts(client):
    r = client.get("/stats")
    assert r.status_code == 200
    assert r.text.count("<svg viewBox") >= 3
    assert "<title>2026-07-01: 3</title>" in r.text  # three papers that day


def test_docs_page_is_local_and_lists_every_api_route(client):
    r = client.get("/docs")
    assert r.status_code == 200
    for path in ("/api/daily_papers", "/api/papers/search", "/api/papers/index", "/api/papers/{paper_id}/upvote"):
        assert path in r.text
    assert not re.search(r'(src|href)="(https?:)?//', r.text)


def test_pages_load_nothing_external(client):
    for path in ("/", "/trending", "/stats", "/papers/2607.00001", "/login", "/docs"):
        html = client.get(path).text
        assert '<meta charset="utf-8">' in html
        external = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(?:https?:)?//[^"]*"', html)
        assert external == [], (path, external)


def test_security_headers(client):
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_submit_page_needs_login(client):
    r = client.get("/submit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fsubmit"
    signup(client, "submitter")
    assert client.get("/submit").status_code == 200


def test_every_form_carries_a_csrf_token(client):
    signup(client, "formcheck")
    for path in ("/", "/trending", "/papers/2607.00001", "/search?q=attention", "/orgs/DeepLab", "/account"):
        html = client.get(path).text
        tokens = re.findall(r'name="csrf_token" value="([^"]*)"', html)
        assert tokens and all(tokens), path
        assert html.count('method="post"') == len(tokens), path


def test_old_style_arxiv_ids_work_everywhere(client, loaded_store):
    from .conftest import make_paper

    loaded_store.upsert_papers([make_paper("hep-th/9901001", "Old Style Strings", upvotes=2)])
    assert "Old Style Strings" in client.get("/papers/hep-th/9901001").text
    assert "eprint = {hep-th/9901001}" in client.get("/papers/hep-th/9901001/cite.bib").text
    assert client.get("/api/papers/hep-th/9901001").json()["id"] == "hep-th/9901001"
    signup(client, "oldtimer")
    r = client.post("/papers/hep-th/9901001/upvote",
                    headers={"X-CSRF-Token": csrf(client, "/"), "Accept": "application/json"})  # fmt: skip
    assert r.json() == {"paper_id": "hep-th/9901001", "upvoted": True, "upvotes": 3}


def test_similar_papers_section_renders_hits(client, app, loaded_store):
    from paperboard.store.base import SearchHit

    class WithNeighbours(type(app.state.searcher)):
        def similar(self, paper_id, *, limit=10):
            others = ["2607.00002", "2606.00004"]
            return [SearchHit(loaded_store.get_paper(pid), 0.9, {"dense": 0.9}) for pid in others]

    app.state.searcher = WithNeighbours(loaded_store)
    html = client.get("/papers/2607.00001").text
    similar = html[html.index("Similar papers"):]
    assert "Diffusion Policies for Robot Grasping" in similar and "Yesterday" in similar


def test_secure_cookies_behind_https(settings, loaded_store):
    from fastapi.testclient import TestClient

    from paperboard.web.app import create_app

    app = create_app(settings.model_copy(update={"public_base_url": "https://papers.example.org"}), loaded_store)
    with TestClient(app, base_url="https://papers.example.org") as c:
        r = c.get("/login")
        assert "secure" in r.headers["set-cookie"].lower()
        token = csrf(c, "/signup")
        r = c.post("/signup", data={"username": "secure1", "password": "longenough", "csrf_token": token},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303
        session = [h for h in r.headers.get_list("set-cookie") if h.startswith("pb_session=")][0]
        assert "secure" in session.lower() and "httponly" in session.lower()


def test_names_with_slashes_and_quotes_have_pages(client, loaded_store):
    from .conftest import make_paper

    loaded_store.upsert_papers([make_paper("2607.00077", "Slashed Org Paper", organization="Meta/FAIR",
                                           authors=["Jean-Luc O'Neil / Jr."])])  # fmt: skip
    html = client.get("/papers/2607.00077").text
    assert 'href="/orgs/Meta%2FFAIR"' in html
    assert client.get("/orgs/Meta%2FFAIR").status_code == 200
    assert "Slashed Org Paper" in client.get("/authors/Jean-Luc%20O%27Neil%20%2F%20Jr.").text


def test_each_worker_runs_at_most_web_threads_requests_at_once(settings, loaded_store):
    """The thread pool's size is set per event loop, when the app starts (Settings.web_threads)."""
    import anyio

    from paperboard.web.app import create_app

    app = create_app(settings.model_copy(update={"web_threads": 3}), loaded_store)

    async def started() -> int:
        async with app.router.lifespan_context(app):
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(started) == 3
