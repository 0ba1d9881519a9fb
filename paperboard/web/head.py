"""``HEAD`` answered wherever ``GET`` is (RFC 9110 §9.3.2), for every route at once.

FastAPI registers only the methods a route names, so ``HEAD /`` answered 405 and uptime
monitors, which probe with HEAD, reported the site down. Rather than list HEAD on every route
(it would also appear as an operation in the OpenAPI document), a HEAD request is run as the
GET it stands for and the body is dropped; the headers, ``Content-Length`` included, are the
GET's. A route that accepts no GET still answers 405.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server must still see HEAD (uvicorn then expects no body). The matched
        # route is handed back for the request log and metrics, which read it from this scope.
        as_get = {**scope, "method": "GET"}

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.start" and "route" in as_get:
                scope["route"] = as_get["route"]
            elif message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        try:
            await self.app(as_get, receive, without_body)
        finally:
            if "route" in as_get:
                scope["route"] = as_get["route"]
