"""The application factory: one FastAPI app per (Settings, Store).

``create_app`` takes its store from the caller (tests pass a temp store) or opens the one
the settings name; ``app_from_env`` is what ``uvicorn --factory`` (``paperboard serve``) calls
in every worker process.
"""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..config import Settings
from ..search.searcher import Searcher
from ..store import Store, open_store
from . import deps
from .head import HeadAsGet
from .page_cache import PageCache
from .proxies import TrustedProxies, parse_networks
from .request_log import RequestContext, configure_logging
from .security import SecurityHeaders
from .templating import make_templates

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_BODY = 1_000_000

API_DESCRIPTION = """\
Paperboard's JSON API. The paper and daily-paper shapes follow the Hugging Face papers API
(`/api/daily_papers`, `/api/papers/{id}`, `/api/papers/search`), so its clients work here.
Write calls take a session cookie plus an `X-CSRF-Token` header, or an API token
(`paperboard tokens create`) as `Authorization: Bearer <token>`.
"""


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/feeds/")) or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


def create_app(
    settings: Settings, store: Store | None = None, *, freeze_gc: bool = False, warm_indexes: bool = False
) -> FastAPI:
    """``freeze_gc``: exempt startup objects from garbage collection once started (the
    server's processes, see gc_tuning; not a test process that makes many apps).
    ``warm_indexes``: load the search indexes in the background at start (search/warm.py)."""
    owns_store = store is None
    if store is None:
        settings.ensure_data_dir()
        store = open_store(settings.resolved_database_url, read_pool_size=settings.read_pool_size,
                           replica_urls=settings.database_replica_urls,
                           replica_max_lag=settings.replica_max_lag_seconds)  # fmt: skip

    from .gc_tuning import freeze_startup_objects, limit_malloc_arenas

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Per event loop, so set here (each worker process runs its own): see Settings.web_threads.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        if freeze_gc:  # a server process (app_from_env): its memory tuned for the long run
            freeze_startup_objects()
            limit_malloc_arenas()
        if warm_indexes and settings.warm_indexes:
            from ..search.warm import start_warming

            start_warming(app.state.searcher)
        yield
        if owns_store:
            store.close()

    app = FastAPI(
        title="Paperboard",
        version=__version__,
        description=API_DESCRIPTION,
        docs_url=None,  # Swagger UI loads from a CDN; /docs is a local page (routes/docs.py)
        redoc_url=None,
        lifespan=lifespan,
        max_body_size=MAX_BODY,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.secret_key = settings.resolved_secret_key()
    app.state.templates = make_templates()
    app.state.page_cache = PageCache(settings.page_cache_seconds)
    # One searcher per app: it caches the model and vector index it loads.
    app.state.searcher = Searcher.for_settings(store, settings)

    # Outermost last: the request id and log see every answer, the proxy rewrite comes before
    # anything reads the client address, and HEAD runs as GET inside the security headers.
    trusted = parse_networks(settings.trusted_proxies)
    if getattr(store, "replica_status", list)():  # each user reads their own writes
        from .read_your_writes import ReadYourWrites

        app.add_middleware(ReadYourWrites, max_lag=store.replica_max_lag,  # type: ignore[attr-defined]
                           https=settings.public_base_url.startswith("https://"))  # fmt: skip
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedProxies, networks=trusted)
    app.add_middleware(RequestContext, trusted=trusted, error_page=_error_response)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    _install_error_handlers(app)

    from . import health, metrics
    from .api import papers as api_papers
    from .routes import accounts, admin, docs, feeds, pages, paper, stats, submit

    for module in (health, metrics, api_papers, accounts, submit, feeds, stats, docs, admin, pages, paper):
        app.include_router(module.router)
    for optional in ("subscriptions", "library", "foryou", "map"):
        _include_optional(app, f"paperboard.web.routes.{optional}")
    _include_optional(app, "paperboard.web.api.library")
    return app


def _include_optional(app: FastAPI, module_name: str) -> None:
    """Routers from other parts of the product join when their module exists."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return
    app.include_router(module.router)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(deps.LoginRequired)
    async def login_required(request: Request, exc: deps.LoginRequired) -> Response:
        target = request.url.path
        if request.method == "GET" and request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
            )
        return error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            from fastapi.encoders import jsonable_encoder

            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        reasons = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(x) for x in err.get("loc", ())[1:]) or "request"
            reasons.append(f"{loc}: {err.get('msg', 'invalid')}")
        return error_page(request, 400, "; ".join(reasons) or "invalid request")


_TITLES = {400: "Bad request", 401: "Log in required", 403: "Not allowed", 404: "Not found",
           405: "Method not allowed", 413: "Too large", 429: "Too many attempts",
           500: "Something went wrong", 503: "Service unavailable"}  # fmt: skip


def error_page(request: Request, status: int, message: str) -> Response:
    return deps.render(
        request, "error.html",
        {"status": status, "title": _TITLES.get(status, "Error"), "message": message,
         "request_id": getattr(request.state, "request_id", None)},
        status_code=status,
    )  # fmt: skip


def _error_response(request: Request, status: int, message: str) -> Response:
    """An unhandled exception's answer (request_log.py): JSON for the API, else the page."""
    if _wants_json(request):
        return JSONResponse({"detail": message, "request_id": getattr(request.state, "request_id", None)},
                            status_code=status)  # fmt: skip
    return error_page(request, status, message)


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory paperboard.web.app:app_from_env``: settings from PAPERBOARD_*."""
    configure_logging()
    return create_app(Settings(), freeze_gc=True, warm_indexes=True)
