"""One paper: its page (with Save and, for its authors, a claim), BibTeX, upvote, comments,
and admin hiding."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse

from ...ids import InvalidId, parse_arxiv_id
from ...library.citations import to_bibtex as _bibtex
from ...store.accounts import User
from ...store.audit import Actor
from .. import deps
from ..page_cache import shared_with_visitors
from ..views import cards
from .claims import authorship

router = APIRouter(include_in_schema=False)

MAX_COMMENT = 5_000


def _paper_or_404(request: Request, paper_id: str, *, include_hidden: bool = False):
    """By id or alias; a versioned id or an arXiv URL finds the paper too."""
    store = request.app.state.store
    paper = store.get_paper(paper_id, include_hidden=include_hidden)
    if paper is None and len(paper_id) < 300:
        try:
            paper = store.get_paper(parse_arxiv_id(paper_id).id, include_hidden=include_hidden)
        except InvalidId:
            paper = None
    if paper is None:
        raise HTTPException(404, f"no paper {paper_id[:80]!r} here")
    return paper


def _back(request: Request, fallback: str) -> str:
    """Where to return after a form: a local path only (no open redirect)."""
    target = request.query_params.get("next") or fallback
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.get("/papers/{paper_id:path}/cite.bib", response_class=PlainTextResponse)
def cite(request: Request, paper_id: str):
    paper = _paper_or_404(request, paper_id)
    return PlainTextResponse(
        _bibtex([paper], abstracts=False), media_type="application/x-bibtex; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{paper.id.replace("/", "_")}.bib"'},
    )  # fmt: skip


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse)
@shared_with_visitors
def paper_page(request: Request, paper_id: str):
    user = deps.current_user(request)
    is_admin = bool(user and user.is_admin)
    paper = _paper_or_404(request, paper_id, include_hidden=is_admin)
    if paper.id != paper_id:
        return RedirectResponse(f"/papers/{paper.id}", status_code=301)
    store = request.app.state.store
    hidden = store.get_paper(paper.id) is None
    comments = store.list_comments(paper.id, include_hidden=is_admin)
    similar = request.app.state.searcher.similar(paper.id, limit=6)
    card = cards(request, [paper])[0]
    return deps.render(
        request, "paper.html",
        {"pcard": card, "paper": paper, "comments": comments, "hidden": hidden,
         "similar": cards(request, [h.paper for h in similar if h.paper.id != paper.id]),
         "bibtex": _bibtex([paper], abstracts=False), "max_comment": MAX_COMMENT,
         "authorship": authorship(store, user, paper)},
    )  # fmt: skip


@router.post("/papers/{paper_id:path}/upvote", dependencies=[Depends(deps.verify_csrf)])
def upvote(request: Request, paper_id: str, user: Annotated[User, Depends(deps.require_user)]):
    result = request.app.state.store.set_vote(user.id, paper_id)
    if result is None:
        raise HTTPException(404, f"no paper {paper_id[:80]!r} here")
    if _wants_json(request):
        return JSONResponse({"paper_id": paper_id, "upvoted": result.voted, "upvotes": result.upvotes})
    return RedirectResponse(_back(request, f"/papers/{paper_id}"), status_code=303)


@router.post("/papers/{paper_id:path}/comments", dependencies=[Depends(deps.verify_csrf)])
def add_comment(
    request: Request,
    paper_id: str,
    user: Annotated[User, Depends(deps.require_user)],
    body: Annotated[str, Form(max_length=MAX_COMMENT * 2)] = "",
):
    paper = _paper_or_404(request, paper_id)
    text = body.replace("\r\n", "\n").replace("\x00", "").strip()
    if not text or len(text) > MAX_COMMENT:
        raise HTTPException(400, f"a comment needs 1 to {MAX_COMMENT} characters")
    comment = request.app.state.store.add_comment(paper.id, user.id, text)
    if comment is None:
        raise HTTPException(404, "the paper is gone")
    return RedirectResponse(f"/papers/{paper.id}#c{comment.id}", status_code=303)


@router.post("/comments/{comment_id}/delete", dependencies=[Depends(deps.verify_csrf)])
def delete_comment(request: Request, comment_id: int, user: Annotated[User, Depends(deps.require_user)]):
    store = request.app.state.store
    comment = store.get_comment(comment_id)
    if comment is None:
        raise HTTPException(404, "no such comment")
    if comment.user_id != user.id and not user.is_admin:
        raise HTTPException(403, "you can delete only your own comments")
    if comment.user_id == user.id:
        store.delete_comment(comment_id)
    else:  # an admin removing someone else's words: on the audit log
        store.delete_comment_as(Actor.of(user), comment_id)
    return RedirectResponse(f"/papers/{comment.paper_id}#comments", status_code=303)


@router.post("/comments/{comment_id}/hide", dependencies=[Depends(deps.verify_csrf)])
def hide_comment(
    request: Request, comment_id: int, admin: Annotated[User, Depends(deps.require_admin)],
    hidden: Annotated[bool, Form()] = True,
):  # fmt: skip
    store = request.app.state.store
    comment = store.get_comment(comment_id)
    if comment is None:
        raise HTTPException(404, "no such comment")
    store.hide_comment_as(Actor.of(admin), comment_id, hidden)
    return RedirectResponse(f"/papers/{comment.paper_id}#c{comment_id}", status_code=303)


@router.post("/papers/{paper_id:path}/hide", dependencies=[Depends(deps.verify_csrf)])
def hide_paper(
    request: Request, paper_id: str, admin: Annotated[User, Depends(deps.require_admin)],
    hidden: Annotated[bool, Form()] = True,
):  # fmt: skip
    paper = _paper_or_404(request, paper_id, include_hidden=True)
    request.app.state.store.hide_paper_as(Actor.of(admin), paper.id, hidden)
    return RedirectResponse(f"/papers/{paper.id}", status_code=303)
