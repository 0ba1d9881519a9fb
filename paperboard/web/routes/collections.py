"""Collections (reading lists): create, rename, make public or private, delete, and the pages
and feeds of a public one.

A collection is private until its owner makes it public. A private collection answers 404
to everyone else, by id and by share link alike, so its existence does not leak; making it
private again kills its link and feeds at once (they are looked up on every request).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...store.accounts import User
from ...store.library import MAX_COLLECTION_NAME, Collection
from .. import deps
from ..views import cards
from .feeds import FEED_SIZE, build_feed
from .library_forms import ExportFormat, back, download, refusals, slug

router = APIRouter(include_in_schema=False)

CurrentUser = Annotated[User, Depends(deps.require_user)]
Name = Annotated[str, Form(max_length=MAX_COLLECTION_NAME * 4)]
Next = Annotated[str, Form(max_length=2000)]
PAGE_LIMIT = 500
"""Papers shown on a collection's page (its export has them all)."""


def _flag(value: str | None) -> bool:
    """A checkbox or a true/false field."""
    return (value or "").strip().lower() in ("on", "true", "1", "yes")


@router.post("/collections", dependencies=[Depends(deps.verify_csrf)])
def create(
    request: Request, user: CurrentUser, name: Name = "",
    public: Annotated[str | None, Form(max_length=8)] = None, next: Next = "",
):  # fmt: skip
    with refusals():
        coll = request.app.state.store.create_collection(user.id, name, public=_flag(public))
    return RedirectResponse(back(next, f"/library?collection={coll.id}"), status_code=303)


@router.post("/collections/{cid}/rename", dependencies=[Depends(deps.verify_csrf)])
def rename(request: Request, cid: int, user: CurrentUser, name: Name = "", next: Next = ""):
    with refusals():
        request.app.state.store.update_collection(user.id, cid, name=name)
    return RedirectResponse(back(next, f"/collections/{cid}"), status_code=303)


@router.post("/collections/{cid}/visibility", dependencies=[Depends(deps.verify_csrf)])
def visibility(
    request: Request, cid: int, user: CurrentUser,
    public: Annotated[str, Form(max_length=8)] = "false", next: Next = "",
):  # fmt: skip
    with refusals():
        request.app.state.store.update_collection(user.id, cid, public=_flag(public))
    return RedirectResponse(back(next, f"/collections/{cid}"), status_code=303)


@router.post("/collections/{cid}/delete", dependencies=[Depends(deps.verify_csrf)])
def delete(request: Request, cid: int, user: CurrentUser):
    """The collection goes; its papers stay in the library."""
    with refusals():
        request.app.state.store.delete_collection(user.id, cid)
    return RedirectResponse("/library", status_code=303)


@router.post("/collections/{cid}/remove", dependencies=[Depends(deps.verify_csrf)])
def remove_paper(
    request: Request, cid: int, user: CurrentUser,
    paper_id: Annotated[str, Form(min_length=1, max_length=300)], next: Next = "",
):  # fmt: skip
    """Take a paper out of a collection (it stays saved)."""
    with refusals():
        request.app.state.store.remove_from_collection(user.id, cid, paper_id)
    return RedirectResponse(back(next, f"/library?collection={cid}"), status_code=303)


def _page(request: Request, coll: Collection) -> HTMLResponse:
    store = request.app.state.store
    user = deps.current_user(request)
    owner = store.get_user(coll.user_id)
    papers = store.collection_papers(coll.id, viewer_id=user.id if user else None, limit=PAGE_LIMIT)
    return deps.render(
        request, "library/collection.html",
        {"collection": coll, "owner": owner, "is_owner": bool(user and user.id == coll.user_id),
         "cards": cards(request, papers), "nav": "library" if user and user.id == coll.user_id else None},
    )  # fmt: skip


@router.get("/collections/{cid}", response_class=HTMLResponse)
def collection_page(request: Request, cid: int):
    """The owner's view (with its settings), or anyone's view of a public collection."""
    user = deps.current_user(request)
    with refusals():
        coll = request.app.state.store.get_collection(cid, viewer_id=user.id if user else None)
    return _page(request, coll)


def _shared(request: Request, token: str) -> Collection:
    if len(token) > 64:
        raise HTTPException(404, "no such collection")
    with refusals():
        return request.app.state.store.collection_by_token(token)


@router.get("/c/{token}", response_class=HTMLResponse)
def shared_page(request: Request, token: str):
    """A public collection's share link; a private one's is dead (404)."""
    return _page(request, _shared(request, token))


def _feed(request: Request, token: str, fmt: str) -> Response:
    coll = _shared(request, token)
    owner = request.app.state.store.get_user(coll.user_id)
    papers = request.app.state.store.collection_papers(coll.id, viewer_id=None, limit=FEED_SIZE)
    by = f" by {owner.username}" if owner else ""
    return build_feed(
        request, f"Paperboard — {coll.name}", f"A reading list{by} on Paperboard", f"/c/{coll.share_token}", papers, fmt
    )


@router.get("/c/{token}/feed.xml")
def shared_rss(request: Request, token: str):
    return _feed(request, token, "rss")


@router.get("/c/{token}/feed.atom")
def shared_atom(request: Request, token: str):
    return _feed(request, token, "atom")


@router.get("/c/{token}/export")
def shared_export(
    request: Request, token: str, fmt: Annotated[ExportFormat, Query(alias="format")] = "bibtex"
):
    """A public collection as a citation file, for anyone with its link."""
    coll = _shared(request, token)
    papers = request.app.state.store.collection_papers(coll.id, viewer_id=None, limit=20_000)
    return download(papers, fmt, f"paperboard-{slug(coll.name)}")
