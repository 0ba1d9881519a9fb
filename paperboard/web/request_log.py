"""One JSON line per request, a request id on every response, and the request metrics.

The id ties a user's report ("error page, id 3f2a…") to the log line and traceback of that
request: it is in the ``X-Request-ID`` response header, on every error page, and in each log
line. A trusted proxy's own ``X-Request-ID`` is kept (so its logs and ours share ids); anyone
else's is replaced, so a client cannot make its requests look like someone else's.

Query strings are never logged: confirmation and unsubscribe links carry their signed token
there, and search queries are the reader's business.

Pure ASGI (no BaseHTTPMiddleware task per request). An exception that escapes the app gets the
site's error page with the id here, then goes on to the server, which logs it as before.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .proxies import Network, is_trusted
from .security import HEADERS as SECURITY_HEADERS

access_log = logging.getLogger("paperboard.access")
error_log = logging.getLogger("paperboard.errors")
HEADER = b"x-request-id"
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

ErrorPage = Callable[[Request, int, str], Response]


def new_request_id() -> str:
    return secrets.token_hex(8)


def configure_logging() -> None:
    """For the server (``app_from_env``): access lines to stderr as they are (already JSON).
    Tests leave it alone and read the records through pytest's log capture."""
    if access_log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


class RequestContext:
    def __init__(self, app: ASGIApp, *, trusted: tuple[Network, ...] = (), error_page: ErrorPage | None = None) -> None:
        self.app = app
        self.trusted = trusted
        self.error_page = error_page

    def _incoming_id(self, scope: Scope) -> str | None:
        peer = scope.get("client")
        if not (peer and is_trusted(peer[0], self.trusted)):
            return None
        for name, value in scope.get("headers", ()):
            if name == HEADER:
                candidate = value.decode("latin-1").strip()
                return candidate if _GOOD_ID.match(candidate) else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._incoming_id(scope) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        method = scope["method"]
        start = time.perf_counter()
        status = 500
        sent = 0
        started = recorded = False
        error: BaseException | None = None

        def record() -> None:
            nonlocal recorded
            recorded = True
            elapsed = time.perf_counter() - start
            route = metrics.route_label(scope)
            metrics.observe_request(route, method, status, elapsed)
            self._log(scope, request_id, method, route, status, elapsed, sent, error)

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message["headers"] = [*headers, (HEADER, request_id.encode())]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
                if not message.get("more_body", False) and not recorded:
                    # Counted before the last byte leaves: a client that reads /metrics right
                    # after its own request finds it there.
                    record()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            error = exc
            error_log.error("request %s failed: %s %s", request_id, method, scope.get("path"), exc_info=True)
            if not started:
                await self._send_error_page(scope, receive, send_with_id, request_id)
            raise
        finally:
            if not recorded:
                record()

    async def _send_error_page(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        message = f"Something went wrong on our side. If you report it, quote request id {request_id}."
        response: Response
        try:
            if self.error_page is None:
                raise RuntimeError("no error page")
            response = self.error_page(Request(scope, receive), 500, message)
        except Exception:  # noqa: BLE001 - the page itself failed (the store is down): plain text
            response = PlainTextResponse(message, status_code=500)
        for key, value in SECURITY_HEADERS:
            response.headers.setdefault(key.decode(), value.decode())
        await response(scope, receive, send)

    @staticmethod
    def _log(scope: Scope, request_id: str, method: str, route: str, status: int, elapsed: float,
             sent: int, error: BaseException | None) -> None:  # fmt: skip
        if not access_log.isEnabledFor(logging.INFO):
            return
        client = scope.get("client")
        line = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": request_id,
            "method": method,
            "path": scope.get("path", ""),
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "bytes": sent,
            "client": client[0] if client else None,
        }
        if error is not None:
            line["error"] = f"{type(error).__name__}: {error}"[:300]
        access_log.info(json.dumps(line, ensure_ascii=False))
