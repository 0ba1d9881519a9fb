"""/submit: a logged-in user puts an arXiv paper on today's feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...store.accounts import User
from .. import deps
from ..submission import SubmitError, submit

router = APIRouter(include_in_schema=False)


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request, user: Annotated[User, Depends(deps.require_user)]):
    return deps.render(request, "submit.html", {"error": None, "value": "", "nav": "submit"})


@router.post("/submit", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)])
async def submit_paper(
    request: Request,
    user: Annotated[User, Depends(deps.require_user)],
    arxiv: Annotated[str, Form(max_length=2000)] = "",
):
    from starlette.concurrency import run_in_threadpool

    try:
        result = await run_in_threadpool(
            submit, request.app.state.store, request.app.state.settings, arxiv, user
        )
    except SubmitError as exc:
        return deps.render(
            request, "submit.html", {"error": exc.message, "value": arxiv, "nav": "submit"},
            status_code=exc.status,
        )  # fmt: skip
    note = "submitted" if result.created else "exists"
    return RedirectResponse(f"/papers/{result.paper.id}?{note}=1", status_code=303)
