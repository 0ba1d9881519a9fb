"""``paperboard embed``: give every paper every vector the default search uses, resumably."""

from __future__ import annotations

import sys

import click

from .context import AppContext, fail, pass_app


def embed_and_index(
    app: AppContext,
    *,
    model: str | None = None,
    rebuild: bool = False,
    quiet: bool = False,
    ray=None,
    batch_size: int | None = None,
) -> None:
    """Embed what is missing for one model (all its views), then bring the saved indexes up
    to date (also used by ingest and serve). ``ray``: the connected module (``--ray``), which
    computes the vectors on the cluster instead of in this process."""
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
    show = not quiet and sys.stderr.isatty()
    sizes = {} if batch_size is None else {"batch_size": batch_size}

    def embed_view(view: str | None, on_batch=None):
        if ray is None:
            return embed_missing(store, embedder, view=view, on_batch=on_batch, **sizes)
        from ..scale.ray_chunks import ChunkFailed
        from ..scale.ray_embed import embed_missing_on_ray

        try:
            return embed_missing_on_ray(ray, store, embedder.name, view=view, on_batch=on_batch, **sizes)
        except ChunkFailed as exc:
            fail(f"{exc}; the vectors written so far are kept: re-run to resume")

    for view in views:
        label = view_name(embedder.name, view)
        total = store.count_without_vectors(label)
        if show and total > 0:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
                task = bar.add_task(f"embedding ({label})", total=total)
                done = embed_view(view, on_batch=lambda n, _, t=task: bar.update(t, completed=n))
        else:
            done = embed_view(view)
        if not quiet:
            click.echo(
                f"embedded {done.embedded:,} papers with {label}" + (f"; {done.remaining:,} left" if done.remaining else ""),
                err=True,
            )
    index = shared_index(store, embedder.name, index_dir)
    index.refresh(force=True)
    index.save()
    keywords = shared_keyword_index(store, index_dir)
    if keywords is not None:
        keywords.refresh(force=True)  # large corpora: the keyword index, built now, not on a first search
    if not quiet:
        click.echo(f"{len(index):,} papers in the {embedder.name} index", err=True)


def embed_everything(app: AppContext, *, rebuild: bool = False, quiet: bool = False, **options) -> None:
    """Every vector the default search uses (search/embedding.default_search_vectors)."""
    from ..search.embedding import default_search_vectors

    for model in dict.fromkeys(m for m, _ in default_search_vectors()):
        embed_and_index(app, model=model, rebuild=rebuild, quiet=quiet, **options)


@click.command("embed")
@click.option("--rebuild", is_flag=True, help="Drop the vectors and indexes and embed everything again.")
@click.option("--model", default=None, help="Only this model (default: every model the search uses).")
@click.option("--ray", "ray_address", default=None, metavar="HOST:PORT|auto",
              help="Compute the vectors on this Ray cluster (pip install 'paperboard[ray]'); 'auto': $RAY_ADDRESS or the one started here.")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=None,
              help="Papers per committed write (and per Ray task).  [default: 512]")  # fmt: skip
@pass_app
def embed(app: AppContext, rebuild: bool, model: str | None, ray_address: str | None, batch_size: int | None) -> None:
    """Compute the vectors papers lack (resumes after a crash), then update the indexes.

    Without --model: the fast corpus model first (search by meaning works at once), then the
    stronger model's text and title vectors, which the default search retrieves with once
    they cover the corpus (about 50 minutes per 75,000 papers on 2 cores; --ray spreads them
    over a cluster's nodes)."""
    options = {"rebuild": rebuild, "batch_size": batch_size}
    if ray_address is None:
        embed_models(app, model, **options)
        return
    from ..scale.ray_connect import RayUnavailable, ray_cluster

    try:
        with ray_cluster(ray_address) as ray:
            embed_models(app, model, ray=ray, **options)
    except RayUnavailable as exc:
        fail(str(exc))


def embed_models(app: AppContext, model: str | None, **options) -> None:
    if model is None:
        embed_everything(app, **options)
    else:
        embed_and_index(app, model=model, **options)


def register(main: click.Group) -> None:
    main.add_command(embed)
