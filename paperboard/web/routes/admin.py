"""The admin page: the audit log of every admin action, newest first, and the way to the claims
queue. Like the queue it is not advertised: anyone but an admin gets a 404, as for a page that
does not exist (the query is read only after that check, so a bad one reveals nothing either)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from ...store.audit import PAGE
from ...store.library import MAX_ID
from .. import deps
from .claims import _admin_or_404

router = APIRouter(include_in_schema=False)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request):
    _admin_or_404(request)
    before = request.query_params.get("before")
    if before is not None and not (before.isdigit() and 0 < int(before) < MAX_ID):
        raise HTTPException(400, "before: a positive entry number")
    store = deps.get_store(request)
    entries = store.audit_log(limit=PAGE + 1, before_id=int(before) if before else None)
    older = entries[PAGE - 1].id if len(entries) > PAGE else None
    return deps.render(
        request, "admin/index.html",
        {"entries": entries[:PAGE], "older": older, "pending_claims": len(store.claims(status="pending")),
         "nav": "admin"},
    )  # fmt: skip
