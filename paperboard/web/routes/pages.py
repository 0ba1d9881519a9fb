"""Lists of papers: the daily/weekly/monthly feed, trending, search, organizations, authors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...periods import Period, PeriodError, day, parse_day, parse_month, parse_week, week_of
from ...ranking.trending import trending_papers
from ...search.query import MAX_QUERY_CHARS, QueryError
from ...store.base import PaperQuery, QuerySyntaxError
from .. import deps
from ..page_cache import shared_with_visitors
from ..views import PAGE_SIZE, cards, page_number

router = APIRouter(include_in_schema=False)

Sort = Literal["upvotes", "newest"]


def _period(store, date_: str | None, week: str | None, month: str | None) -> Period:
    given = [x for x in (date_, week, month) if x]
    if len(given) > 1:
        raise HTTPException(400, "use only one of date, week and month")
    try:
        if date_:
            return parse_day(date_)
        if week:
            return parse_week(week)
        if month:
            return parse_month(month)
    except PeriodError as exc:
        raise HTTPException(400, str(exc)) from None
    days = store.feed_days(limit=1)
    return day(days[0] if days else datetime.now(UTC).date())


@router.get("/", response_class=HTMLResponse)
@router.get("/papers", response_class=HTMLResponse)
@shared_with_visitors
def feed(
    request: Request,
    date: Annotated[str | None, Query(max_length=40)] = None,
    week: Annotated[str | None, Query(max_length=40)] = None,
    month: Annotated[str | None, Query(max_length=40)] = None,
    sort: Sort = "upvotes",
    page: Annotated[int | None, Query(ge=1, le=10_000)] = None,
):
    store = request.app.state.store
    period = _period(store, date, week, month)
    n = page_number(page)
    q = PaperQuery(
        start=period.start, end=period.end, sort="date" if sort == "newest" else "upvotes",
        limit=PAGE_SIZE + 1, offset=(n - 1) * PAGE_SIZE,
    )  # fmt: skip
    papers = store.list_papers(q)
    has_more = len(papers) > PAGE_SIZE
    papers = papers[:PAGE_SIZE]
    if period.kind == "day":
        prev_day, next_day = store.adjacent_days(period.start)
        prev_p = day(prev_day) if prev_day else None
        next_p = day(next_day) if next_day else None
    else:
        prev_p, next_p = period.previous(), period.next()
    return deps.render(
        request, "feed.html",
        {
            "period": period, "prev": prev_p, "next": next_p, "sort": sort, "page": n,
            "has_more": has_more, "cards": cards(request, papers),
            "week_label": week_of(period.start).label, "month_label": period.start.strftime("%Y-%m"),
            "nav": "daily",
        },
    )  # fmt: skip


@router.get("/trending", response_class=HTMLResponse)
@shared_with_visitors
def trending(
    request: Request,
    category: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z][A-Za-z.\-]*$")] = None,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    page: Annotated[int | None, Query(ge=1, le=10_000)] = None,
):
    store = request.app.state.store
    n = page_number(page)
    entries = trending_papers(
        store, limit=PAGE_SIZE + 1, offset=(n - 1) * PAGE_SIZE, category=category or None, days=days
    )
    has_more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    return deps.render(
        request, "trending.html",
        {
            "cards": cards(request, [e.paper for e in entries], [e.score for e in entries],
                           [e.parts for e in entries]),
            "category": category or "", "days": days, "page": n, "has_more": has_more,
            "categories": ["cs.CV", "cs.CL", "cs.AI", "cs.LG", "cs.RO", "stat.ML"],
            "nav": "trending",
        },
    )  # fmt: skip


@router.get("/search", response_class=HTMLResponse)
@shared_with_visitors
def search(
    request: Request,
    q: Annotated[str, Query(max_length=20_000)] = "",
    page: Annotated[int | None, Query(ge=1, le=1000)] = None,
):
    n = page_number(page)
    ctx: dict = {"q": q, "page": n, "cards": [], "has_more": False, "error": None, "nav": "search"}
    if not q.strip():
        return deps.render(request, "search.html", ctx)
    if len(q) > MAX_QUERY_CHARS:
        ctx["error"] = f"The search is too long: at most {MAX_QUERY_CHARS} characters, please."
        return deps.render(request, "search.html", ctx, status_code=400)
    try:
        response = request.app.state.searcher.search(
            q, filters=PaperQuery(), limit=PAGE_SIZE + 1, offset=(n - 1) * PAGE_SIZE
        )
    except (QueryError, QuerySyntaxError) as exc:
        ctx["error"] = str(exc)
        return deps.render(request, "search.html", ctx, status_code=400)
    if response.jumped_to_id and n == 1:
        return RedirectResponse(f"/papers/{response.jumped_to_id}", status_code=303)
    hits = response.hits
    ctx["has_more"] = len(hits) > PAGE_SIZE
    hits = hits[:PAGE_SIZE]
    ctx["cards"] = cards(request, [h.paper for h in hits], [h.score for h in hits])
    ctx["mode"] = response.mode
    return deps.render(request, "search.html", ctx)


def _listing(request: Request, title: str, kind: str, query: PaperQuery, page: int) -> HTMLResponse:
    store = request.app.state.store
    total = store.count_papers(query)
    if total == 0:
        raise HTTPException(404, f"no papers for the {kind} {title!r}")
    query.limit, query.offset = PAGE_SIZE + 1, (page - 1) * PAGE_SIZE
    papers = store.list_papers(query)
    return deps.render(
        request, "listing.html",
        {"title": title, "kind": kind, "total": total, "cards": cards(request, papers[:PAGE_SIZE]),
         "page": page, "has_more": len(papers) > PAGE_SIZE},
    )  # fmt: skip


@router.get("/orgs/{name:path}", response_class=HTMLResponse)
@shared_with_visitors
def organization(request: Request, name: str, page: Annotated[int | None, Query(ge=1, le=10_000)] = None):
    return _listing(request, name, "organization", PaperQuery(organization=name, sort="date"), page_number(page))


@router.get("/authors/{name:path}", response_class=HTMLResponse)
@shared_with_visitors
def author(request: Request, name: str, page: Annotated[int | None, Query(ge=1, le=10_000)] = None):
    return _listing(request, name, "author", PaperQuery(author=name, sort="date"), page_number(page))
