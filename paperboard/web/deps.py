"""FastAPI dependencies every router uses: the store, settings, templates, the user, CSRF.

Routers built by other parts of the product (e.g. ``routes/subscriptions.py``) use only
these, so they render inside the site's layout and share its security rules:

    from fastapi import APIRouter, Depends, Request
    from paperboard.web import deps

    router = APIRouter()

    @router.post("/subscribe", dependencies=[Depends(deps.verify_csrf)])
    async def subscribe(request: Request, store=Depends(deps.get_store)):
        ...
        return deps.render(request, "subscriptions/thanks.html", {"email": email})

Templates extend ``base.html`` (``{% block title %}``, ``{% block content %}``); put yours in
``paperboard/web/templates/<your-area>/``. Every page gets ``user``, ``csrf_token``, ``here``
(this page's path and query) and ``settings`` in its context; a form includes ``{{ csrf_input() }}`` (the hidden field).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ..config import Settings
from ..search.searcher import Searcher
from ..store.accounts import User
from ..store.base import Store
from . import csrf, sessions


class LoginRequired(HTTPException):
    """Raised by ``require_user`` for a page; the app redirects to /login?next=…"""

    def __init__(self) -> None:
        super().__init__(status_code=401, detail="log in first")


def get_settings(request: Request) -> Settings:
    """The one Settings object the app was created with."""
    return request.app.state.settings


def get_store(request: Request) -> Store:
    """The app's store (thread-safe; open for the app's lifetime)."""
    return request.app.state.store


def get_templates(request: Request) -> Jinja2Templates:
    """Jinja2Templates with the site layout (``base.html``) and filters; autoescaping on."""
    return request.app.state.templates


def get_searcher(request: Request) -> Searcher:
    """The app's one ``Searcher`` (hybrid search; keeps its model and index loaded)."""
    return request.app.state.searcher


def current_user(request: Request) -> User | None:
    """The logged-in user (session cookie or ``Authorization: Bearer`` token), or None."""
    return sessions.authenticate(request)


def require_user(request: Request) -> User:
    """The logged-in user; otherwise pages redirect to the login form, the API answers 401."""
    user = sessions.authenticate(request)
    if user is None:
        if request.url.path.startswith("/api/"):
            raise HTTPException(
                status_code=401, detail="authentication required",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        raise LoginRequired()
    return user


def require_admin(request: Request) -> User:
    """An admin; 403 for anyone else."""
    user = require_user(request)
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="only an admin can do this")
    return user


async def verify_csrf(request: Request) -> None:
    """Refuse (403) a state-changing request without a valid CSRF token.

    Forms send the hidden ``csrf_token`` field (``{{ csrf_input() }}``), scripts the
    ``X-CSRF-Token`` header; bearer-token API calls are exempt. Use as
    ``dependencies=[Depends(deps.verify_csrf)]`` on every POST route.
    """
    sessions.authenticate(request)
    await csrf.check_csrf(request)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page template with the common context, setting the CSRF cookie if new."""
    ctx: dict[str, Any] = {
        "user": sessions.authenticate(request),
        "csrf_token": csrf.csrf_token(request),
        "settings": request.app.state.settings,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "nav": None,
        "q": "",
    }
    if context:
        ctx.update(context)
    response = request.app.state.templates.TemplateResponse(
        request, name, ctx, status_code=status_code, headers=headers
    )
    csrf.attach_cookie(request, response, secure=sessions.is_secure(request))
    return response
