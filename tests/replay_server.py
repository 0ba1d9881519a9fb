"""A real HTTP server on 127.0.0.1 that replays recorded responses, standing in for arXiv.

Routes match a request's query parameters exactly (so a test also checks what the client
sent, e.g. that a resumption request carries only ``verb`` and ``resumptionToken``). A route
holds replies served in order, the last one repeating; an unmatched request gets a 404 and is
listed in ``unmatched`` so a failing test can say what the client asked for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Path = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/xml; charset=utf-8"


@dataclass
class Route:
    query: dict[str, str]
    replies: list[Reply]
    path: str | None = None
    hits: int = 0

    def next_reply(self) -> Reply:
        reply = self.replies[min(self.hits, len(self.replies) - 1)]
        self.hits += 1
        return reply


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class ReplayServer:
    def __init__(self, fixtures: Path | None = None) -> None:
        self.fixtures = fixtures
        self.routes: list[Route] = []
        self.requests: list[Request] = []
        self.unmatched: list[Request] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, query: dict[str, str], *replies: Reply | str, path: str | None = None) -> Route:
        """Add a route; a plain string reply is a fixture file name served with 200."""

        def as_reply(r: Reply | str) -> Reply:
            if isinstance(r, Reply):
                return r
            return Reply(body=self.fixtures / r if self.fixtures else r)

        route = Route(dict(query), [as_reply(r) for r in replies], path)
        self.routes.append(route)
        return route

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _respond(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            for route in self.routes:
                if route.query == request.query and route.path in (None, request.path):
                    return route.next_reply()
            self.unmatched.append(request)
        return Reply(
            404, f"no recorded response for {request.path} {request.query}", {}, "text/plain"
        )

    def start(self) -> ReplayServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                request = Request(parts.path, dict(parse_qsl(parts.query)), dict(self.headers))
                reply = server._respond(request)
                body = reply.body
                if isinstance(body, Path):
                    body = body.read_bytes()
                elif isinstance(body, str):
                    body = body.encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released), for the offline case."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SleepRecorder:
    """Stands in for ``time.sleep``: records each requested wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
