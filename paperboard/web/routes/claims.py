"""Authorship claims: "I am an author of this paper", the admin queue that decides them, and
the public profile page that lists what was approved.

A claim is offered only when the user's display name matches one of the paper's authors
(``library.claims.matching_author``: diacritics, order and initials folded), and the same
check guards the POST, so a forged request is refused with a reason. An admin still
approves every claim: a matching name is a hint, not proof of identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...library.claims import matching_author
from ...models import Paper
from ...store.accounts import User
from ...store.audit import Actor
from ...store.library import Claim
from .. import deps
from ..views import cards
from .library_forms import refusals

router = APIRouter(include_in_schema=False)

CurrentUser = Annotated[User, Depends(deps.require_user)]


@dataclass(slots=True)
class Authorship:
    """What the paper page shows about claims: who is confirmed as which author, and what
    this viewer may do."""

    by_author: dict[str, list[str]] = field(default_factory=dict)
    """Author spelling on the paper -> usernames with an approved claim to it."""
    mine: Claim | None = None
    claimable_as: str | None = None
    """The author the viewer's display name matches, when a claim can be made."""


def authorship(store, user: User | None, paper: Paper) -> Authorship:
    out = Authorship()
    for claim in store.claims(paper_id=paper.id, status="approved"):
        out.by_author.setdefault(claim.author_name, []).append(claim.username)
    if user is None:
        return out
    out.mine = next(iter(store.claims(user_id=user.id, paper_id=paper.id)), None)
    if out.mine is None or out.mine.status == "refused":
        out.claimable_as = matching_author(store.display_name(user.id), paper.authors)
    return out


@router.post("/papers/{paper_id:path}/claim", dependencies=[Depends(deps.verify_csrf)])
def claim(request: Request, paper_id: str, user: CurrentUser):
    store = request.app.state.store
    paper = store.get_paper(paper_id)
    if paper is None:
        raise HTTPException(404, f"no paper {paper_id[:80]!r} here")
    name = store.display_name(user.id)
    if not name:
        raise HTTPException(403, "set your display name on your account page before claiming a paper")
    author = matching_author(name, paper.authors)
    if author is None:
        raise HTTPException(403, f"your display name ({name}) matches none of this paper's authors")
    with refusals():
        store.add_claim(user.id, paper.id, author)
    return RedirectResponse(f"/papers/{paper.id}?claimed=1#authorship", status_code=303)


def _admin_or_404(request: Request) -> User:
    """The queue is not advertised: anyone but an admin finds nothing there."""
    user = deps.current_user(request)
    if user is None or not user.is_admin:
        raise HTTPException(404, "not found")
    return user


@router.get("/admin/claims", response_class=HTMLResponse)
def claim_queue(request: Request):
    _admin_or_404(request)
    store = request.app.state.store
    decided = [c for c in store.claims() if c.status != "pending"]
    decided.sort(key=lambda c: c.decided_at or c.created_at, reverse=True)
    return deps.render(
        request, "library/admin_claims.html",
        {"pending": store.claims(status="pending"), "decided": decided[:50],
         "done": request.query_params.get("done")},
    )  # fmt: skip


def _decide(request: Request, claim_id: int, approve: bool) -> RedirectResponse:
    admin = _admin_or_404(request)
    with refusals():
        request.app.state.store.decide_claim_as(Actor.of(admin), claim_id, approve=approve)
    return RedirectResponse(f"/admin/claims?done={'approved' if approve else 'refused'}", status_code=303)


@router.post("/admin/claims/{claim_id}/approve", dependencies=[Depends(deps.verify_csrf)])
def approve(request: Request, claim_id: int):
    return _decide(request, claim_id, True)


@router.post("/admin/claims/{claim_id}/refuse", dependencies=[Depends(deps.verify_csrf)])
def refuse(request: Request, claim_id: int):
    return _decide(request, claim_id, False)


@router.get("/u/{username}", response_class=HTMLResponse)
def profile(request: Request, username: str):
    """A user's public face: approved papers and public collections, nothing private."""
    store = request.app.state.store
    person = store.get_user_by_name(username) if len(username) <= 64 else None
    if person is None:
        raise HTTPException(404, "no such user")
    ids = [c.paper_id for c in store.claims(user_id=person.id, status="approved")]
    found = store.get_papers(ids)
    papers = sorted((found[i] for i in ids if i in found), key=lambda p: (p.feed_day, p.id), reverse=True)
    return deps.render(
        request, "library/profile.html",
        {"person": person, "display_name": store.display_name(person.id), "cards": cards(request, papers),
         "collections": [c for c in store.collections(person.id) if c.is_public]},
    )  # fmt: skip
