"""RSS 2.0 and Atom feeds of the daily feed, trending, and any search (made with feedgen);
``build_feed`` also serves public collections (``routes/collections.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from ...models import Paper
from ...ranking.trending import trending_papers
from ...search.query import MAX_QUERY_CHARS, QueryError
from ...store.base import PaperQuery, QuerySyntaxError
from ..text import first_sentence

router = APIRouter(prefix="/feeds", tags=["feeds"], include_in_schema=False)

FEED_SIZE = 50
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))
"""XML 1.0 forbids these characters; an abstract carrying one must not break the feed."""


def _clean(text: str) -> str:
    return text.translate(_CONTROL).replace("\ufffe", "").replace("\uffff", "")


def build_feed(request: Request, title: str, subtitle: str, page: str, papers: list[Paper], fmt: str) -> Response:
    """An RSS 2.0 (``fmt="rss"``) or Atom feed of ``papers`` in their given order; ``page``
    is the site path the feed mirrors. Public collections' feeds use it too."""
    base = str(request.app.state.settings.public_base_url).rstrip("/")
    fg = FeedGenerator()
    fg.id(base + page)
    fg.title(_clean(title))
    fg.subtitle(_clean(subtitle))
    fg.description(_clean(subtitle))
    fg.link(href=base + page, rel="alternate")
    fg.link(href=base + request.url.path + (f"?{request.url.query}" if request.url.query else ""), rel="self")
    fg.language("en")
    fg.generator("Paperboard")
    newest = None
    for p in reversed(papers):  # feedgen prepends: reversed keeps the page's order
        entry = fg.add_entry()
        url = f"{base}/papers/{p.id}"
        entry.id(url)
        entry.guid(url, permalink=True)
        entry.title(_clean(p.title))
        entry.link(href=url)
        summary = _clean(p.tldr or first_sentence(p.abstract, 400) or p.title)  # the TL;DR, once stored
        entry.summary(summary)
        entry.description(summary)
        when = p.published or datetime.combine(p.feed_day, time(0), tzinfo=UTC)
        entry.published(when)
        entry.updated(p.updated or when)
        newest = max(newest, p.updated or when) if newest else (p.updated or when)
        for name in p.authors[:20]:
            entry.author(name=_clean(name))
        for c in p.categories:
            entry.category(term=c)
    fg.updated(newest or datetime.now(UTC))
    if fmt == "atom":
        return Response(fg.atom_str(pretty=True), media_type="application/atom+xml; charset=utf-8")
    return Response(fg.rss_str(pretty=True), media_type="application/rss+xml; charset=utf-8")


def _daily(request: Request, fmt: str) -> Response:
    store = request.app.state.store
    days = store.feed_days(limit=1)
    papers = store.list_papers(PaperQuery(start=days[0], end=days[0], limit=FEED_SIZE)) if days else []
    label = days[0].isoformat() if days else "no papers yet"
    return build_feed(request, "Paperboard — Daily Papers", f"The most upvoted papers of {label}", "/", papers, fmt)


def _trending(request: Request, fmt: str, category: str | None) -> Response:
    entries = trending_papers(request.app.state.store, limit=FEED_SIZE, category=category or None)
    title = "Paperboard — Trending Papers" + (f" in {category}" if category else "")
    return build_feed(request, title, "Papers people are upvoting and discussing", "/trending",
                  [e.paper for e in entries], fmt)  # fmt: skip


def _search(request: Request, fmt: str, q: str) -> Response:
    if not q.strip():
        raise HTTPException(400, "add a search: /feeds/search.xml?q=words")
    if len(q) > MAX_QUERY_CHARS:
        raise HTTPException(400, f"query is longer than {MAX_QUERY_CHARS} characters")
    try:
        response = request.app.state.searcher.search(q, limit=FEED_SIZE)
    except (QueryError, QuerySyntaxError) as exc:
        raise HTTPException(400, str(exc)) from None
    from urllib.parse import urlencode

    return build_feed(request, f"Paperboard — search: {q}", f"Papers matching {q}",
                  "/search?" + urlencode({"q": q}), [h.paper for h in response.hits], fmt)  # fmt: skip


Category = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z][A-Za-z.\-]*$")]
Q = Annotated[str, Query(max_length=20_000)]


@router.get("/daily.xml")
def daily_rss(request: Request):
    return _daily(request, "rss")


@router.get("/daily.atom")
def daily_atom(request: Request):
    return _daily(request, "atom")


@router.get("/trending.xml")
def trending_rss(request: Request, category: Category = None):
    return _trending(request, "rss", category)


@router.get("/trending.atom")
def trending_atom(request: Request, category: Category = None):
    return _trending(request, "atom", category)


@router.get("/search.xml")
def search_rss(request: Request, q: Q = ""):
    return _search(request, "rss", q)


@router.get("/search.atom")
def search_atom(request: Request, q: Q = ""):
    return _search(request, "atom", q)
