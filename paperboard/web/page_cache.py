"""Pages answered to visitors who are not logged in, kept for a second and shared.

Why: a visitor who is not logged in sees the same feed, trending list, paper page or search
result as every other such visitor, and on a public site they are most of the traffic. Kept
for ``Settings.page_cache_seconds`` (default 1 s), a page costs one rendering per second per
web worker however many people open it, the standard "micro-cache" of a reverse proxy, built
in so that a site without one gets it. Staleness is bounded by that second and concerns only
visitors who cannot vote or comment; anyone logged in (session cookie) or calling the API
with a token is answered fresh, so a user's own write always shows on their next page.

The one per-visitor string in such a page is the CSRF token of its forms (log-in link forms,
no-JavaScript vote buttons): it is kept as a placeholder and each visitor gets their own,
with their cookie when it is new. Only complete 200 answers without other cookies are kept.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from fastapi import Request, Response

from . import csrf, sessions

SLOT = b"pb-page-csrf-slot-5e0b"
MAX_BODY = 512 * 1024


@dataclass(frozen=True, slots=True)
class Kept:
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    until: float
    has_token: bool


class PageCache:
    """Answers by URL, each kept ``seconds``; at most ``size`` of them (oldest out first)."""

    def __init__(self, seconds: float, size: int = 256, clock=time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._pages: OrderedDict[str, Kept] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: str) -> Kept | None:
        kept = self._pages.get(key)
        return kept if kept is not None and kept.until > self.clock() else None

    def put(self, key: str, body: bytes, headers: tuple[tuple[bytes, bytes], ...]) -> None:
        now = self.clock()
        with self._lock:
            self._pages.pop(key, None)
            self._pages[key] = Kept(body, headers, now + self.seconds, SLOT in body)
            # Kept in the order they were made, so the expired ones are at the front.
            while self._pages:
                first = next(iter(self._pages.values()))
                if first.until > now and len(self._pages) <= self.size:
                    break
                self._pages.popitem(last=False)


def _is_visitor(request: Request) -> bool:
    """No session cookie and no API token: the answer does not depend on who asks."""
    return sessions.COOKIE not in request.cookies and "authorization" not in request.headers


def _keepable(response: Response) -> bool:
    if response.status_code != 200 or not isinstance(getattr(response, "body", None), bytes):
        return False
    if len(response.body) > MAX_BODY:
        return False
    for name, value in response.raw_headers:
        if name == b"set-cookie" and not value.startswith(csrf.COOKIE.encode() + b"="):
            return False
    return True


def shared_with_visitors(route):
    """Serve this GET route's answers to visitors from the page cache (see the module)."""

    @functools.wraps(route)
    def wrapper(request: Request, *args, **kwargs):
        cache: PageCache | None = getattr(request.app.state, "page_cache", None)
        if cache is None or cache.seconds <= 0 or not _is_visitor(request):
            return route(request, *args, **kwargs)
        key = request.url.path + "?" + request.url.query
        kept = cache.get(key)
        if kept is None:
            response = route(request, *args, **kwargs)
            if _keepable(response):
                body = response.body
                if request.cookies.get(csrf.COOKIE) or getattr(request.state, "new_csrf_cookie", None):
                    body = body.replace(csrf.csrf_token(request).encode(), SLOT)
                headers = tuple(
                    (name, value) for name, value in response.raw_headers
                    if name not in (b"set-cookie", b"content-length")
                )  # fmt: skip
                cache.put(key, body, headers)
            return response
        body = kept.body
        if kept.has_token:
            body = body.replace(SLOT, csrf.csrf_token(request).encode())
        response = Response(body, status_code=200)
        response.raw_headers = [(b"content-length", str(len(body)).encode()), *kept.headers]
        csrf.attach_cookie(request, response, secure=sessions.is_secure(request))
        return response

    return wrapper
