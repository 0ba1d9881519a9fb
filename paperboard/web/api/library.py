"""/api/library, /api/collections and /api/recommendations: the caller's own "For you" data.

Every route acts for the authenticated caller only (a token reads its owner's data and
nothing else); another user's collection answers 404 exactly like a missing one, so ids
reveal nothing. Writes with a session cookie need the CSRF header, as in the papers API.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ...library.citations import FORMATS
from ...periods import PeriodError, parse_month, parse_week
from ...ranking.trending import effective_now
from ...store.accounts import User
from ...store.library import MAX_COLLECTION_NAME, MAX_NOTE, Collection, LibraryError, NotFound
from .links import FIRST_PAPER, links, to
from .models import ErrorOut, PaperOut, paper_out
from .papers import E400, E401, E403, MONTH, WEEK, api_user

router = APIRouter(prefix="/api", tags=["library"])
E404 = {404: {"model": ErrorOut, "description": "No such paper or collection (or not yours)"}}
Caller = Annotated[User, Depends(api_user)]
COLLECTION = "/api/collections/{collection_id}"


def _collection_links(collection_id: str) -> dict:
    """What a client does next with a collection whose id is at ``collection_id``."""
    return {
        "GetCollection": to("GET", COLLECTION, "The collection and its papers", collection_id=collection_id),
        "UpdateCollection": to("PATCH", COLLECTION, "Rename it or change who sees it", collection_id=collection_id),
        "DeleteCollection": to("DELETE", COLLECTION, "Delete it (its papers stay saved)", collection_id=collection_id),
        "FilePaper": to("POST", COLLECTION + "/papers", "File a paper in it", collection_id=collection_id),
        "ItsLibrary": to("GET", "/api/library", "Only its papers", collection=collection_id),
        "Export": to("GET", "/api/library/export", "Export its papers", collection=collection_id),
    }


class SaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paper_id: str = Field(min_length=1, max_length=300)
    note: str | None = Field(None, max_length=MAX_NOTE, description="Private; replaces an existing note")
    collection_id: int | None = Field(None, description="Also file the paper in this collection")


class PaperRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paper_id: str = Field(min_length=1, max_length=300)


class SaveOut(BaseModel):
    paper_id: str
    created: bool = Field(description="False when it was already saved (nothing changed but the note)")


class Changed(BaseModel):
    paper_id: str
    changed: bool


class LibraryEntry(BaseModel):
    paper: PaperOut
    note: str | None
    saved_at: dt.datetime
    collections: list[str]


class CollectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_COLLECTION_NAME)
    public: bool = False


class CollectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=MAX_COLLECTION_NAME)
    public: bool | None = None


class CollectionOut(BaseModel):
    id: int
    name: str
    public: bool
    size: int
    created_at: dt.datetime
    share_url: str | None = Field(description="The public link (public collections only)")


class CollectionDetail(CollectionOut):
    papers: list[PaperOut]


class RecommendationOut(BaseModel):
    paper: PaperOut
    score: float | None = Field(description="The model's score (None for trending picks at cold start)")
    reason: str = Field(description='Why it is here, e.g. "because you saved …"')
    because: str | None = Field(description="Id of the paper the reason names")


def _papers_out(request: Request, papers, user: User) -> list[PaperOut]:
    store = request.app.state.store
    now = effective_now(store)
    counts = store.comment_counts([p.id for p in papers])
    ids = [p.id for p in papers]
    saved, dismissed = store.saved_ids(user.id, ids), store.dismissed_ids(user.id, ids)
    out = []
    for p in papers:
        o = paper_out(p, counts.get(p.id, 0), now)
        o.saved, o.dismissed = p.id in saved, p.id in dismissed
        out.append(o)
    return out


def _collection_out(request: Request, c: Collection) -> CollectionOut:
    share = str(request.base_url).rstrip("/") + f"/c/{c.share_token}" if c.is_public else None
    return CollectionOut(id=c.id, name=c.name, public=c.is_public, size=c.size, created_at=c.created_at, share_url=share)


def _library_error(exc: LibraryError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, NotFound) else 400, str(exc))


# -- the library --------------------------------------------------------------------------
@router.get(
    "/library", response_model=list[LibraryEntry], responses={**E401, **E404},
    openapi_extra=links(200, Unsave=to("DELETE", "/api/library/{paper_id}", "Unsave the newest", paper_id=FIRST_PAPER),
                        GetPaper=to("GET", "/api/papers/{paper_id}", "The newest saved paper", paper_id=FIRST_PAPER)),
)  # fmt: skip
def get_library(
    request: Request,
    user: Caller,
    collection: Annotated[int | None, Query(description="Only this collection's papers")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    """The caller's saved papers, newest first."""
    try:
        items = request.app.state.store.library(user.id, collection_id=collection, limit=limit, offset=offset)
    except LibraryError as exc:
        raise _library_error(exc) from None
    papers = _papers_out(request, [i.paper for i in items], user)
    return [
        LibraryEntry(paper=p, note=i.note, saved_at=i.saved_at, collections=list(i.collections))
        for p, i in zip(papers, items, strict=True)
    ]


@router.post(
    "/library", response_model=SaveOut, responses={**E400, **E401, **E403, **E404},
    openapi_extra=links(200, Unsave=to("DELETE", "/api/library/{paper_id}", "Unsave it", paper_id="$response.body#/paper_id"),
                        GetPaper=to("GET", "/api/papers/{paper_id}", "The paper, now saved", paper_id="$response.body#/paper_id"),
                        Library=to("GET", "/api/library", "The library, newest first")),
)  # fmt: skip
def save(request: Request, user: Caller, body: Annotated[SaveRequest, Body()]):
    """Save a paper (idempotent), optionally with a note and into a collection."""
    try:
        created = request.app.state.store.save_paper(user.id, body.paper_id, note=body.note, collection_id=body.collection_id)
    except LibraryError as exc:
        raise _library_error(exc) from None
    return SaveOut(paper_id=body.paper_id, created=created)


@router.delete(
    "/library/{paper_id:path}", response_model=Changed, responses={**E401, **E403, **E404},
    openapi_extra=links(200, SaveAgain=to("POST", "/api/library", "Save it again", body={"paper_id": "$request.path.paper_id"})),
)  # fmt: skip
def unsave(request: Request, paper_id: str, user: Caller):
    """Unsave a paper (it leaves every collection too)."""
    return Changed(paper_id=paper_id, changed=request.app.state.store.unsave_paper(user.id, paper_id))


@router.get(
    "/dismissals", response_model=list[PaperOut], responses={**E401, **E404},
    openapi_extra=links(200, Undismiss=to("DELETE", "/api/dismissals/{paper_id}", "Undo the newest", paper_id="$response.body#/0/id")),
)  # fmt: skip
def get_dismissals(request: Request, user: Caller):
    """Papers the caller marked "not interested", newest first."""
    return _papers_out(request, request.app.state.store.dismissed(user.id), user)


@router.post(
    "/dismissals", response_model=Changed, responses={**E400, **E401, **E403, **E404},
    openapi_extra=links(200, Undismiss=to("DELETE", "/api/dismissals/{paper_id}", "Undo it", paper_id="$response.body#/paper_id"),
                        Dismissals=to("GET", "/api/dismissals", "Everything marked not interested")),
)  # fmt: skip
def dismiss(request: Request, user: Caller, body: Annotated[PaperRef, Body()]):
    """Not interested: the paper leaves the caller's recommendations and papers like it move down."""
    try:
        changed = request.app.state.store.dismiss_paper(user.id, body.paper_id)
    except LibraryError as exc:
        raise _library_error(exc) from None
    return Changed(paper_id=body.paper_id, changed=changed)


@router.delete(
    "/dismissals/{paper_id:path}", response_model=Changed, responses={**E401, **E403, **E404},
    openapi_extra=links(200, Dismissals=to("GET", "/api/dismissals", "Everything still marked not interested")),
)  # fmt: skip
def undismiss(request: Request, paper_id: str, user: Caller):
    return Changed(paper_id=paper_id, changed=request.app.state.store.undismiss_paper(user.id, paper_id))


# -- collections ----------------------------------------------------------------------------
@router.get(
    "/collections", response_model=list[CollectionOut], responses={**E401, **E404},
    openapi_extra=links(200, **_collection_links("$response.body#/0/id")),
)  # fmt: skip
def list_collections(request: Request, user: Caller):
    return [_collection_out(request, c) for c in request.app.state.store.collections(user.id)]


@router.post(
    "/collections", response_model=CollectionOut, status_code=201, responses={**E400, **E401, **E403},
    openapi_extra=links(201, **_collection_links("$response.body#/id")),
)  # fmt: skip
def create_collection(request: Request, user: Caller, body: Annotated[CollectionIn, Body()]):
    try:
        c = request.app.state.store.create_collection(user.id, body.name, public=body.public)
    except LibraryError as exc:
        raise _library_error(exc) from None
    return _collection_out(request, c)


def _own(request: Request, user: User, collection_id: int) -> Collection:
    try:
        c = request.app.state.store.get_collection(collection_id, viewer_id=user.id)
    except NotFound:
        raise HTTPException(404, "no such collection") from None
    if c.user_id != user.id:  # a public collection of someone else: readable on the web, not here
        raise HTTPException(404, "no such collection")
    return c


@router.get(
    "/collections/{collection_id}", response_model=CollectionDetail, responses={**E401, **E404},
    openapi_extra=links(200, **{n: v for n, v in _collection_links("$response.body#/id").items() if n != "GetCollection"},
                        UnfilePaper=to("DELETE", COLLECTION + "/papers/{paper_id}", "Take its first paper out",
                                       collection_id="$response.body#/id", paper_id="$response.body#/papers/0/id")),
)  # fmt: skip
def get_collection(request: Request, collection_id: int, user: Caller):
    c = _own(request, user, collection_id)
    papers = request.app.state.store.collection_papers(c.id, viewer_id=user.id)
    return CollectionDetail(**_collection_out(request, c).model_dump(), papers=_papers_out(request, papers, user))


@router.patch(
    "/collections/{collection_id}", response_model=CollectionOut, responses={**E400, **E401, **E403, **E404},
    openapi_extra=links(200, GetCollection=to("GET", COLLECTION, "The collection as changed", collection_id="$response.body#/id")),
)  # fmt: skip
def update_collection(request: Request, collection_id: int, user: Caller, body: Annotated[CollectionPatch, Body()]):
    try:
        c = request.app.state.store.update_collection(user.id, collection_id, name=body.name, public=body.public)
    except LibraryError as exc:
        raise _library_error(exc) from None
    return _collection_out(request, c)


@router.delete(
    "/collections/{collection_id}", status_code=204, responses={**E401, **E403, **E404},
    openapi_extra=links(204, GetCollection=to("GET", COLLECTION, "Gone: answers 404", collection_id="$request.path.collection_id")),
)  # fmt: skip
def delete_collection(request: Request, collection_id: int, user: Caller):
    """The collection goes; its papers stay saved."""
    try:
        request.app.state.store.delete_collection(user.id, collection_id)
    except LibraryError as exc:
        raise _library_error(exc) from None
    return Response(status_code=204)


@router.post(
    "/collections/{collection_id}/papers", response_model=SaveOut, responses={**E400, **E401, **E403, **E404},
    openapi_extra=links(200, UnfilePaper=to("DELETE", COLLECTION + "/papers/{paper_id}", "Take it out again",
                                            collection_id="$request.path.collection_id", paper_id="$response.body#/paper_id"),
                        GetCollection=to("GET", COLLECTION, "The collection with it", collection_id="$request.path.collection_id")),
)  # fmt: skip
def file_paper(request: Request, collection_id: int, user: Caller, body: Annotated[PaperRef, Body()]):
    """File a paper in the collection (saving it if needed)."""
    store = request.app.state.store
    try:
        created = store.save_paper(user.id, body.paper_id, collection_id=collection_id)
    except LibraryError as exc:
        raise _library_error(exc) from None
    return SaveOut(paper_id=body.paper_id, created=created)


@router.delete(
    "/collections/{collection_id}/papers/{paper_id:path}", response_model=Changed, responses={**E401, **E403, **E404},
    openapi_extra=links(200, GetCollection=to("GET", COLLECTION, "The collection without it", collection_id="$request.path.collection_id")),
)  # fmt: skip
def unfile_paper(request: Request, collection_id: int, paper_id: str, user: Caller):
    try:
        changed = request.app.state.store.remove_from_collection(user.id, collection_id, paper_id)
    except LibraryError as exc:
        raise _library_error(exc) from None
    return Changed(paper_id=paper_id, changed=changed)


@router.get(
    "/library/export",
    responses={**E401, **E404, 200: {"description": "The file", "content": {
        info.media_type.split(";")[0]: {"schema": {"type": "array", "items": {"type": "object"}} if fmt == "csljson"
                                        else {"type": "string"}} for fmt, info in FORMATS.items()}}},
)  # fmt: skip
def export_library(
    request: Request,
    user: Caller,
    format: Annotated[Literal["bibtex", "ris", "csljson"], Query()] = "bibtex",
    collection: Annotated[int | None, Query()] = None,
):
    """The library (or one collection) as BibTeX, RIS or CSL-JSON."""
    from ...library.citations import export

    try:
        items = request.app.state.store.library(user.id, collection_id=collection, limit=100_000)
    except LibraryError as exc:
        raise _library_error(exc) from None
    text, media = export([i.paper for i in items], format)[:2]
    return Response(text, media_type=media)


# -- recommendations ------------------------------------------------------------------------
@router.get(
    "/recommendations", response_model=list[RecommendationOut],
    openapi_extra=links(200, GetPaper=to("GET", "/api/papers/{paper_id}", "The best pick", paper_id=FIRST_PAPER),
                        Save=to("POST", "/api/library", "Save the best pick", body={"paper_id": FIRST_PAPER}),
                        Dismiss=to("POST", "/api/dismissals", "Not interested in it", body={"paper_id": FIRST_PAPER})),
    responses={**E401, 400: {"model": ErrorOut, "description": "More than one period"},
               404: {"model": ErrorOut, "description": "No such ISO week"}},
)  # fmt: skip
def recommendations(
    request: Request,
    user: Caller,
    date: Annotated[dt.date | None, Query(description="One feed day")] = None,
    week: Annotated[str | None, Query(pattern=WEEK)] = None,
    month: Annotated[str | None, Query(pattern=MONTH)] = None,
    since: Annotated[dt.date | None, Query(description="Every feed day from this one on")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 30,
):
    """The caller's personal picks for a period (default: the latest feed day), best first,
    each with its reason. Until the caller has 3 saves/upvotes/claims: trending papers,
    with a reason that says so. Saved and dismissed papers never appear."""
    from ...ranking.foryou import for_you, latest_day

    if sum(x is not None for x in (date, week, month, since)) > 1:
        raise HTTPException(400, "give only one of date, week, month, since")
    store = request.app.state.store
    try:
        if week is not None or month is not None:
            period = parse_week(week) if week is not None else parse_month(month)
            start, end = period.start, period.end
        elif since is not None:
            start, end = since, max(latest_day(store) or since, since)
        else:
            start = end = date or latest_day(store) or dt.date.today()
    except PeriodError as exc:
        raise HTTPException(404, str(exc)) from None
    result = for_you(store, user.id, start=start, end=end, limit=limit)
    papers = _papers_out(request, [p.paper for p in result.picks], user)
    return [
        RecommendationOut(paper=o, score=p.score, reason=p.reason, because=p.because)
        for o, p in zip(papers, result.picks, strict=True)
    ]
