"""CSRF protection: a signed double-submit token plus an Origin check.

Every browser gets a random ``pb_csrf`` cookie (HttpOnly, SameSite=Lax); forms carry
``HMAC(secret, cookie)`` in the ``csrf_token`` field, JavaScript sends it in ``X-CSRF-Token``.
A cross-site page can neither read the cookie nor compute the HMAC, and the check works for
anonymous visitors too (log-in, sign-up and subscribe forms), with no server-side state.
Requests authenticated by an ``Authorization: Bearer`` token carry no ambient credential, so
they need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

COOKIE = "pb_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfError(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status_code=403, detail=detail)


def _sign(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + value.encode(), hashlib.sha256).hexdigest()


def _secret(request: Request) -> str:
    return request.app.state.secret_key


def csrf_token(request: Request) -> str:
    """The token for forms on this page; creates the browser's cookie on first use."""
    value = request.cookies.get(COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if not value or len(value) > 100:
        value = secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = value
    return _sign(_secret(request), value)


def same_origin(request: Request) -> bool:
    """False only when the browser says the request came from another site."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin != "null"
    allowed = {
        request.headers.get("host", "").lower(),
        urlsplit(request.app.state.settings.public_base_url).netloc.lower(),
    }
    try:
        return urlsplit(origin).netloc.lower() in allowed
    except ValueError:
        return False


async def check_csrf(request: Request) -> None:
    """Raise 403 unless a state-changing request carries a valid token for its cookie."""
    if request.method in SAFE_METHODS:
        return
    if getattr(request.state, "auth", None) == "token":
        return
    if not same_origin(request):
        raise CsrfError("cross-site request refused")
    cookie = request.cookies.get(COOKIE)
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not cookie or not sent or not hmac.compare_digest(_sign(_secret(request), cookie), sent):
        raise CsrfError(
            "the form expired or came from another site: reload the page and try again"
        )


def attach_cookie(request: Request, response, *, secure: bool) -> None:
    """Set the CSRF cookie if this request created one."""
    value = getattr(request.state, "new_csrf_cookie", None)
    if value:
        response.set_cookie(
            COOKIE, value, max_age=60 * 60 * 24 * 365, httponly=True, samesite="lax",
            secure=secure, path="/",
        )  # fmt: skip
