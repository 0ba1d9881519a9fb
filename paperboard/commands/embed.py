"""``paperboard embed``: give every paper its vector, incrementally and resumably."""

from __future__ import annotations

import sys

import click

from .context import AppContext, fail, pass_app


def embed_and_index(app: AppContext, *, model: str | None = None, rebuild: bool = False, quiet: bool = False) -> None:
    """Embed what is missing, then bring the saved index up to date (also used by ingest)."""
    from ..search.embedder import ModelFilesMissing, load_embedder
    from ..search.embedding import embed_missing, views_of
    from ..search.keyword_index import shared_keyword_index
    from ..search.searcher import shared_index
    from ..search.similar import view_name

    try:
        embedder = load_embedder(model)
    except (KeyError, ModelFilesMissing) as exc:
        fail(str(exc))
    store = app.store
    index_dir = app.settings.data_dir / "index"
    views = views_of(embedder.name)
    if rebuild:
        for view in views:
            store.delete_vectors(view_name(embedder.name, view))
        for old in index_dir.glob(f"{embedder.name}*"):
            old.unlink()
    for view in views:
        label = view_name(embedder.name, view)
        total = store.count_without_vectors(label)
        if not quiet and sys.stderr.isatty() and total > 0:
            from rich.console import Console
            from rich.progress import Progress

            with Progress(transient=True, console=Console(stderr=True)) as progress:
                task = progress.add_task(f"embedding ({label})", total=total)
                done = embed_missing(store, embedder, view=view, on_batch=lambda n, _, t=task: progress.update(t, completed=n))
        else:
            done = embed_missing(store, embedder, view=view)
        if view is None:
            summary = done
    index = shared_index(store, embedder.name, index_dir)
    index.refresh(force=True)
    index.save()
    keywords = shared_keyword_index(store, index_dir)
    if keywords is not None:
        keywords.refresh(force=True)  # large corpora: the keyword index, built now, not on a first search
    if not quiet:
        click.echo(
            f"embedded {summary.embedded:,} papers with {embedder.name}; {len(index):,} in the index"
            + (f"; {summary.remaining:,} left" if summary.remaining else ""),
            err=True,
        )


@click.command("embed")
@click.option("--rebuild", is_flag=True, help="Drop this model's vectors and index and embed everything again.")
@click.option("--model", default=None, help="Embedding model (default: the corpus model).")
@pass_app
def embed(app: AppContext, rebuild: bool, model: str | None) -> None:
    """Embed papers that have no vector yet (resumes after a crash), then update the index."""
    embed_and_index(app, model=model, rebuild=rebuild)


def register(main: click.Group) -> None:
    main.add_command(embed)
