"""Read-your-writes over read replicas: a cookie with the WAL position of the user's last write.

With replicas (store/postgres/replicas.py) a user's next request may land on another worker
or host, and a replica may not have replayed their vote yet: an in-process memory would miss
both. So each request runs in ``read_your_writes(position from the cookie)``; when it writes,
the response sets the cookie to the primary's position after the write, and the reads of
every request that carries it go to a replica only once that replica has replayed it (else to
the primary). The cookie needs no signature: a forged position only sends its sender's own
reads to the primary. It lives a little longer than the lag bound, past which every replica
still in use has replayed the write anyway. API clients that keep cookies get the same.
"""

from __future__ import annotations

import math

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..store.postgres.replicas import format_lsn, parse_lsn, read_your_writes

COOKIE = "pb_wal"


class ReadYourWrites:
    """Pure ASGI, inside the proxy rewrite (so the scheme is the client's)."""

    def __init__(self, app: ASGIApp, *, max_lag: float, https: bool = False) -> None:
        self.app = app
        self.max_age = math.ceil(max_lag) + 10
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = _cookie_position(scope)
        with read_your_writes(seen) as consistency:

            async def send_with_position(message: Message) -> None:
                if message["type"] == "http.response.start" and consistency.lsn > seen:
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", self._cookie(scope, consistency.lsn))]
                await send(message)

            await self.app(scope, receive, send_with_position)

    def _cookie(self, scope: Scope, lsn: int) -> bytes:
        secure = "; Secure" if self.https or scope.get("scheme") == "https" else ""
        return f"{COOKIE}={format_lsn(lsn)}; Max-Age={self.max_age}; Path=/; HttpOnly; SameSite=Lax{secure}".encode()


def _cookie_position(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_lsn(cookie_parser(value.decode("latin-1")).get(COOKIE))
    return 0
