"""Server-side sessions and bearer tokens: who is making this request.

The cookie holds a random token; the store keeps only its hash, so sessions can be revoked
(log out, password change) and a copied database cannot be used to log in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import Request, Response

from ..store.accounts import User
from .tokens import new_secret, token_hash

COOKIE = "pb_session"
SESSION_DAYS = 30


def is_secure(request: Request) -> bool:
    """Secure cookies when the site is served over https (directly or behind a proxy)."""
    settings = request.app.state.settings
    return request.url.scheme == "https" or settings.public_base_url.startswith("https://")


def start_session(request: Request, response: Response, user: User) -> None:
    store = request.app.state.store
    token = new_secret()
    expires = datetime.now(UTC) + timedelta(days=SESSION_DAYS)
    old = request.cookies.get(COOKIE)
    if old:  # a fresh token at log-in: a planted session id is never promoted
        store.delete_session(token_hash(old))
    store.create_session(user.id, token_hash(token), expires)
    response.set_cookie(
        COOKIE, token, max_age=SESSION_DAYS * 86400, httponly=True, samesite="lax",
        secure=is_secure(request), path="/",
    )  # fmt: skip


def end_session(request: Request, response: Response) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        request.app.state.store.delete_session(token_hash(token))
    response.delete_cookie(COOKIE, path="/")


def session_hash(request: Request) -> str | None:
    token = request.cookies.get(COOKIE)
    return token_hash(token) if token else None


def authenticate(request: Request) -> User | None:
    """The user of this request (bearer token first, then session cookie), cached per request.

    Sets ``request.state.auth`` to "token", "session" or None; CSRF checks depend on it.
    """
    if hasattr(request.state, "user"):
        return request.state.user
    store = request.app.state.store
    user: User | None = None
    auth = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        user = store.get_token_user(token_hash(token)) if token else None
        auth = "token" if user else "bad-token"
    elif COOKIE in request.cookies:
        user = store.get_session_user(token_hash(request.cookies[COOKIE]), datetime.now(UTC))
        auth = "session" if user else None
    request.state.user = user
    request.state.auth = auth
    return user
