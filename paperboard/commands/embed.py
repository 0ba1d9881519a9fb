"""``paperboard embed``: give every paper its vector, incrementally and resumably."""

from __future__ import annotations

import sys

import click

from .context import AppContext, fail, pass_app


def embed_and_index(app: AppContext, *, model: str | None = None, rebuild: bool = False, quiet: bool = False) -> None:
    """Embed what is missing, then bring the saved index up to date (also used by ingest)."""
    from ..search.embedder import ModelFilesMissing, load_embedder
    from ..search.embedding import embed_missing
    from ..search.keyword_index import shared_keyword_index
    from ..search.searcher import shared_index

    try:
        embedder = load_embedder(model)
    except (KeyError, ModelFilesMissing) as exc:
        fail(str(exc))
    store = app.store
    index_dir = app.settings.data_dir / "index"
    if rebuild:
        store.delete_vectors(embedder.name)
        for old in index_dir.glob(f"{embedder.name}*"):
            old.unlink()
    total = store.count_without_vectors(embedder.name)
    show = not quiet and sys.stderr.isatty() and total > 0
    if show:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(transient=True, console=Console(stderr=True)) as progress:
            task = progress.add_task(f"embedding ({embedder.name})", total=total)
            summary = embed_missing(store, embedder, on_batch=lambda done, _: progress.update(task, completed=done))
    else:
        summary = embed_missing(store, embedder)
    index = shared_index(store, embedder.name, index_dir)
    index.refresh(force=True)
    index.save()
    keywords = shared_keyword_index(store, index_dir)
    if keywords is not None:
        keywords.refresh(force=True)  # large SQLite corpora: the keyword index, built now, not on a first search
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
