"""/api/daily_papers and /api/papers/…: the Hugging Face papers API, served from our store."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pydantic_core
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from ...periods import PeriodError, day, parse_month, parse_week
from ...ranking.trending import effective_now, rank_range, trending_papers
from ...search.query import MAX_QUERY_CHARS, QueryError
from ...store.accounts import User
from ...store.base import PaperQuery, QuerySyntaxError
from .. import csrf, sessions
from ..page_cache import shared_with_visitors
from ..submission import SubmitError, submit
from .links import FIRST_PAPER, links, merged, paper_links, to
from .models import (
    DailyPaper,
    ErrorOut,
    IndexRequest,
    IndexResponse,
    PaperOut,
    SearchResult,
    VoteOut,
    daily_paper_json,
    paper_json,
    paper_out,
)

router = APIRouter(prefix="/api", tags=["papers"])

E400 = {400: {"model": ErrorOut, "description": "Bad input (the message says why)"}}
E401 = {401: {"model": ErrorOut, "description": "No valid session or API token"}}
E403 = {403: {"model": ErrorOut, "description": "Missing CSRF token (cookie sessions only)"}}
E404 = {404: {"model": ErrorOut, "description": "No such paper"}}


async def api_user(request: Request) -> User:
    """The caller: a bearer token, or a session cookie plus the X-CSRF-Token header."""
    user = sessions.authenticate(request)
    if user is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    if request.state.auth == "session":
        await csrf.check_csrf(request)
    return user


def _entries(request: Request, papers, now) -> list[dict]:
    """Feed entries as JSON-ready dicts (``daily_paper_json``), marked for the caller."""
    counts = request.app.state.store.comment_counts([p.id for p in papers])
    entries = [daily_paper_json(p, counts.get(p.id, 0), now) for p in papers]
    mark_for_caller(request, [e["paper"] for e in entries])
    return entries


def mark_for_caller(request: Request, papers: list[dict]) -> None:
    """``saved``/``dismissed`` for the authenticated caller (token or session), one query
    each for the page; left absent for anonymous callers."""
    user = sessions.authenticate(request)
    if user is None or not papers:
        return
    store = request.app.state.store
    ids = [p["id"] for p in papers]
    saved, dismissed = store.saved_ids(user.id, ids), store.dismissed_ids(user.id, ids)
    for p in papers:
        p["saved"], p["dismissed"] = p["id"] in saved, p["id"] in dismissed


def _json(entries: list[dict]) -> Response:
    """Entries built as JSON values already (FastAPI would validate them as models again)."""
    return Response(pydantic_core.to_json(entries), media_type="application/json")


WEEK = r"^[1-9][0-9]{3}-W(0[1-9]|[1-4][0-9]|5[0-3])$"
MONTH = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"
CATEGORY = r"^[A-Za-z][A-Za-z.\-]{0,39}$"


@router.get(
    "/daily_papers", response_model=list[DailyPaper],
    responses={400: {"model": ErrorOut, "description": "More than one of date, week, month"},
               404: {"model": ErrorOut, "description": "No such ISO week (e.g. W53 of a 52-week year)"}},
    openapi_extra=links(200, **paper_links(FIRST_PAPER)),
)  # fmt: skip
@shared_with_visitors
def daily_papers(
    request: Request,
    date: Annotated[dt.date | None, Query(description="A feed day, YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(pattern=WEEK, description="An ISO week, YYYY-Www")] = None,
    month: Annotated[str | None, Query(pattern=MONTH, description="A month, YYYY-MM")] = None,
    sort: Annotated[Literal["publishedAt", "trending"], Query()] = "publishedAt",
    p: Annotated[int, Query(ge=0, le=10_000, description="Page, from 0")] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    category: Annotated[str | None, Query(pattern=CATEGORY, description="arXiv category, e.g. cs.CL")] = None,
    submitter: Annotated[str | None, Query(max_length=64, description="User who submitted")] = None,
):
    """Papers on the daily feed, newest first (``publishedAt``) or by ``trending`` score.

    Give at most one of date, week, month (several are refused: which one was meant is a
    guess). With none: the whole feed (``trending``: the last 30 days).
    """
    if sum(x is not None for x in (date, week, month)) > 1:
        raise HTTPException(400, "give only one of date, week, month")
    store = request.app.state.store
    try:
        period = (
            day(date) if date is not None else parse_week(week) if week is not None
            else parse_month(month) if month is not None else None
        )  # fmt: skip
    except PeriodError as exc:
        raise HTTPException(404, str(exc)) from None
    now = effective_now(store)
    offset = p * limit
    if sort == "trending" and not submitter:
        if period is None:
            entries = trending_papers(store, now=now, limit=limit, offset=offset, category=category)
        else:
            entries = rank_range(
                store, period.start, period.end, now=now, category=category, limit=limit, offset=offset
            )
        return _json(_entries(request, [e.paper for e in entries], now))
    q = PaperQuery(
        start=period.start if period else None, end=period.end if period else None,
        category=category, submitted_by=submitter, sort="date", limit=limit, offset=offset,
    )  # fmt: skip
    papers = store.list_papers(q)
    entries = _entries(request, papers, now)
    if sort == "trending":
        entries.sort(key=lambda e: -e["trending_score"])
    return _json(entries)


@router.get(
    "/papers/search", response_model=list[SearchResult], responses=E400,
    openapi_extra=links(200, **paper_links(FIRST_PAPER)),
)  # fmt: skip
@shared_with_visitors
def search_papers(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="Search text")],
    limit: Annotated[int, Query(ge=1, le=120)] = 20,
    mode: Annotated[Literal["hybrid", "bm25", "dense"], Query(description="Ranking stages")] = "hybrid",
    category: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z][A-Za-z\-]*(\.[A-Za-z\-]+)?$")] = None,
    organization: Annotated[str | None, Query(max_length=200)] = None,
    author: Annotated[str | None, Query(max_length=300)] = None,
    date_from: Annotated[dt.date | None, Query(alias="from", description="Feed day from (inclusive)")] = None,
    date_until: Annotated[dt.date | None, Query(alias="until", description="Feed day until (inclusive)")] = None,
):
    """Search papers (syntax: words, "phrases", -exclude, ti: au: abs: cat:), with filters."""
    filters = PaperQuery(
        start=date_from, end=date_until, category=category, organization=organization, author=author
    )
    try:
        response = request.app.state.searcher.search(q, filters=filters, limit=limit, mode=mode)
    except (QueryError, QuerySyntaxError) as exc:
        raise HTTPException(400, str(exc)) from None
    return _search_results(request, response.hits[:limit])


def _search_results(request: Request, hits) -> Response:
    store = request.app.state.store
    now = effective_now(store)
    counts = store.comment_counts([h.paper.id for h in hits])
    results = [{**daily_paper_json(h.paper, counts.get(h.paper.id, 0), now), "score": h.score} for h in hits]
    mark_for_caller(request, [r["paper"] for r in results])
    return _json(results)


@router.post(
    "/papers/index", response_model=IndexResponse,
    responses={201: {"model": IndexResponse, "description": "Fetched from arXiv and stored"},
               **E400, **E401, **E403, 404: {"model": ErrorOut, "description": "arXiv has no such paper"},
               409: {"model": ErrorOut, "description": "Removed by a moderator"},
               502: {"model": ErrorOut, "description": "arXiv's record was unusable"},
               503: {"model": ErrorOut, "description": "arXiv cannot be reached"}},
    openapi_extra=merged(links(201, **paper_links("$response.body#/paper/id")),
                         links(200, **paper_links("$response.body#/paper/id"))),
)  # fmt: skip
def index_paper(
    request: Request,
    body: Annotated[IndexRequest, Body()],
    user: Annotated[User, Depends(api_user)],
):
    """Fetch a paper from arXiv and put it on today's feed, submitted by the caller.

    A paper that is already here is returned unchanged (``created: false``).
    """
    store = request.app.state.store
    try:
        result = submit(store, request.app.state.settings, body.arxivId, user)
    except SubmitError as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    counts = store.comment_counts([result.paper.id])
    out = IndexResponse(
        created=result.created, paper=paper_out(result.paper, counts.get(result.paper.id, 0), effective_now(store))
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if result.created else 200)


def _vote(request: Request, paper_id: str, user: User, voted: bool) -> VoteOut:
    result = request.app.state.store.set_vote(user.id, paper_id, voted)
    if result is None:
        raise HTTPException(404, f"no paper {paper_id[:80]!r} here")
    return VoteOut(paper_id=paper_id, upvoted=result.voted, upvotes=result.upvotes)


@router.post(
    "/papers/{paper_id:path}/upvote", response_model=VoteOut, responses={**E401, **E403, **E404},
    openapi_extra=links(200, RemoveUpvote=to("DELETE", "/api/papers/{paper_id}/upvote", "Take the upvote back",
                                             paper_id="$response.body#/paper_id"),
                        GetPaper=to("GET", "/api/papers/{paper_id}", "The paper, with its new count",
                                    paper_id="$response.body#/paper_id")),
)  # fmt: skip
def upvote(request: Request, paper_id: str, user: Annotated[User, Depends(api_user)]):
    """Upvote a paper (idempotent: a second upvote by the same user changes nothing)."""
    return _vote(request, paper_id, user, True)


@router.delete(
    "/papers/{paper_id:path}/upvote", response_model=VoteOut, responses={**E401, **E403, **E404},
    openapi_extra=links(200, GetPaper=to("GET", "/api/papers/{paper_id}", "The paper, with its new count",
                                         paper_id="$response.body#/paper_id")),
)  # fmt: skip
def remove_upvote(request: Request, paper_id: str, user: Annotated[User, Depends(api_user)]):
    """Take back your upvote (idempotent)."""
    return _vote(request, paper_id, user, False)


@router.get(
    "/papers/{paper_id:path}/similar", response_model=list[SearchResult], responses=E404,
    openapi_extra=links(200, GetPaper=to("GET", "/api/papers/{paper_id}", "The most similar paper", paper_id=FIRST_PAPER)),
)  # fmt: skip
@shared_with_visitors
def similar_papers(request: Request, paper_id: str, limit: Annotated[int, Query(ge=1, le=50)] = 10):
    """Papers nearest in meaning to this one (itself excluded); empty before embedding."""
    paper = _find_paper(request.app.state.store, paper_id)
    return _search_results(request, request.app.state.searcher.similar(paper.id, limit=limit))


def _find_paper(store, paper_id: str):
    from ...ids import InvalidId, parse_arxiv_id

    paper = store.get_paper(paper_id)
    if paper is None and len(paper_id) < 300:
        try:
            paper = store.get_paper(parse_arxiv_id(paper_id).id)
        except InvalidId:
            paper = None
    if paper is None:
        raise HTTPException(404, f"no paper {paper_id[:80]!r} here")
    return paper


@router.get(
    "/papers/{paper_id:path}", response_model=PaperOut, responses=E404,
    openapi_extra=links(200, **{name: link for name, link in paper_links("$response.body#/id").items() if name != "GetPaper"}),
)  # fmt: skip
def get_paper(request: Request, paper_id: str):
    """One paper by arXiv id (with or without version), arXiv URL, or local id."""
    store = request.app.state.store
    paper = _find_paper(store, paper_id)
    counts = store.comment_counts([paper.id])
    out = paper_json(paper, counts.get(paper.id, 0), effective_now(store))
    mark_for_caller(request, [out])
    return out
