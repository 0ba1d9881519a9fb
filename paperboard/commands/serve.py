"""``paperboard serve``: the web site and API.

With ``--workers N`` above one, the workers share a fresh ``PROMETHEUS_MULTIPROC_DIR`` (one
the operator set is emptied first, as prometheus_client requires), so ``/metrics`` from any
worker counts the requests of all of them (web/metrics.py). Uvicorn's own proxy-header
handling is off: it would believe ``X-Forwarded-For`` from 127.0.0.1 whatever the settings say;
the app believes it only from ``PAPERBOARD_TRUSTED_PROXIES`` (web/proxies.py). Its access log
is off too: the app writes one JSON line per request with its request id (web/request_log.py).
"""

from __future__ import annotations

import click

from .context import AppContext, pass_app


@click.command("serve")
@click.option("--host", default=None, help="Interface to bind (default PAPERBOARD_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default PAPERBOARD_PORT or 8000).")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--load-demo-if-empty", is_flag=True, help="Load the shipped demo corpus into an empty store first.")
@pass_app
def serve(app: AppContext, host: str | None, port: int | None, workers: int, load_demo_if_empty: bool) -> None:
    """Serve the site on http://HOST:PORT."""
    import os

    import uvicorn

    settings = app.settings
    settings.ensure_data_dir()
    store = app.store  # migrate before workers start, so they never race on it
    if load_demo_if_empty and store.count_papers() == 0:
        from ..ingest import ingest
        from ..sources import demo

        summary = ingest(store, demo.read())
        click.echo(f"loaded the demo corpus: {summary.line()}", err=True)
        from ..search.embedder import DEFAULT_RERANKER
        from .embed import embed_and_index

        embed_and_index(app, quiet=True)
        # A few seconds for the demo's papers, and similar papers use the stronger model at once.
        embed_and_index(app, model=DEFAULT_RERANKER, quiet=True)
    app.close()
    os.environ["PAPERBOARD_DATABASE_URL"] = settings.resolved_database_url
    os.environ["PAPERBOARD_DATA_DIR"] = str(settings.data_dir)
    metrics_dir = _metrics_dir() if workers > 1 else None
    try:
        uvicorn.run(
            "paperboard.web.app:app_from_env",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_level="info",
            proxy_headers=False,
            access_log=False,
        )
    finally:
        if metrics_dir is not None and metrics_dir[1]:
            import shutil

            shutil.rmtree(metrics_dir[0], ignore_errors=True)


def _metrics_dir() -> tuple[str, bool]:
    """The shared directory of the workers' metric files, and whether we made it (and remove it).
    Files left by an earlier run would be added to this one's counts: they are removed first."""
    import os
    import tempfile
    from pathlib import Path

    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        for stale in Path(chosen).glob("*.db"):
            stale.unlink(missing_ok=True)
        return chosen, False
    made = tempfile.mkdtemp(prefix="paperboard-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made, True


def register(main: click.Group) -> None:
    main.add_command(serve)
