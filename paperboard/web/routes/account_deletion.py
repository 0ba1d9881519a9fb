"""Leaving: download everything the account holds as JSON, then delete it.

Deletion asks for the password (a session left open is not enough to destroy an account)
and for what becomes of the comments: they stay, signed "deleted user", or they go. Votes
always go, and each paper's count drops by exactly the vote removed (the store recounts).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...store.accounts import User
from .. import deps, ratelimit, sessions
from ..passwords import DUMMY_HASH, verify_password

router = APIRouter(include_in_schema=False)


@router.get("/account/export")
def export(request: Request, user: Annotated[User, Depends(deps.require_user)]):
    data = deps.get_store(request).export_account(user.id)
    document = {"exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "site": deps.get_settings(request).public_base_url, **(data or {})}  # fmt: skip
    name = f"paperboard-{user.username}-{datetime.now(UTC):%Y-%m-%d}.json"
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _page(request: Request, status: int = 200, **ctx) -> HTMLResponse:
    ctx.setdefault("error", None)
    ctx.setdefault("comments", "keep")
    return deps.render(request, "account/delete.html", ctx, status_code=status)


@router.get("/account/delete", response_class=HTMLResponse)
def delete_form(request: Request, user: Annotated[User, Depends(deps.require_user)]):
    return _page(request)


@router.post(
    "/account/delete", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)]
)
def delete(
    request: Request,
    user: Annotated[User, Depends(deps.require_user)],
    password: Annotated[str, Form(max_length=4000)] = "",
    comments: Annotated[str, Form(max_length=20)] = "",
):
    if comments not in ("keep", "delete"):
        return _page(request, 400, error="Choose whether your comments stay or go.")
    if ratelimit.blocked(request, user.username):
        return _page(
            request,
            429,
            comments=comments,
            error="Too many failed attempts. Wait 15 minutes and try again.",
        )
    store = deps.get_store(request)
    if not verify_password(store.get_password_hash(user.id) or DUMMY_HASH, password):
        ratelimit.record_failure(request, user.username)
        return _page(
            request, 400, comments=comments, error="The password is wrong. Nothing was deleted."
        )
    done = store.delete_account(user.id, keep_comments=comments == "keep")
    request.state.user = None  # the page below is rendered logged out
    response = deps.render(
        request, "account/deleted.html", {"done": done, "username": user.username}
    )
    sessions.end_session(request, response)
    return response
