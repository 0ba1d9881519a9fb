"""Login throttling, kept in the store so every worker process sees the same counts.

Failures are counted per account name and per client address over a sliding window; a
correct password clears the account's count. The per-address limit is higher because many
people can share one address (a lab behind NAT).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import Request

WINDOW = timedelta(minutes=15)
MAX_PER_USER = 5
MAX_PER_ADDRESS = 30


def client_address(request: Request) -> str:
    """The peer, or the client a trusted proxy names (``proxies.TrustedProxies`` rewrote it):
    a forged ``X-Forwarded-For`` from anyone else never changes the key."""
    return request.client.host if request.client else "unknown"


def _keys(request: Request, username: str) -> list[tuple[str, int]]:
    return [("user:" + username.lower(), MAX_PER_USER), ("ip:" + client_address(request), MAX_PER_ADDRESS)]


def blocked(request: Request, username: str) -> bool:
    store = request.app.state.store
    since = datetime.now(UTC) - WINDOW
    return any(store.count_login_failures(key, since) >= limit for key, limit in _keys(request, username))


def record_failure(request: Request, username: str) -> None:
    store = request.app.state.store
    now = datetime.now(UTC)
    for key, _ in _keys(request, username):
        store.record_login_failure(key, now)


def record_success(request: Request, username: str) -> None:
    request.app.state.store.clear_login_failures("user:" + username.lower())


def attempts_exceeded(request: Request, key: str, limit: int, window: timedelta = WINDOW) -> bool:
    """Whether ``key`` (e.g. ``"reset-ip:" + address``) has had ``limit`` attempts in the
    window: the same shared counter as logins, for forms that send mail or cost CPU."""
    return request.app.state.store.count_login_failures(key, datetime.now(UTC) - window) >= limit


def record_attempt(request: Request, key: str) -> None:
    request.app.state.store.record_login_failure(key, datetime.now(UTC))
