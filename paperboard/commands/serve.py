"""``paperboard serve``: the web site and API."""

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
    uvicorn.run(
        "paperboard.web.app:app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


def register(main: click.Group) -> None:
    main.add_command(serve)
