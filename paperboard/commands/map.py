"""``paperboard map build`` and ``paperboard map place``: the map of the field (``/map``)."""

from __future__ import annotations

import json
import time

import click

from .context import AppContext, fail, pass_app


@click.group("map")
def map_group() -> None:
    """The 2-D map of every paper (the /map page): build it, or place new papers into it."""


def _summary(data, *, seconds: float, path, **extra) -> dict:
    return {
        "papers": len(data), "model": data.model, "method": data.method,
        "levels": [len(level) for level in data.labels], "seconds": round(seconds, 2),
        "file": str(path), "bytes": path.stat().st_size if path.exists() else 0, **extra,
    }  # fmt: skip


@map_group.command("build")
@click.option("--method", type=click.Choice(["opentsne", "umap", "pacmap", "pca"]), default=None,
              help="Projection (default: the measured choice, see bench/map.py).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def build(app: AppContext, method: str | None, as_json: bool) -> None:
    """Build the whole map from the store's vectors (replaces the file atomically)."""
    from ..map.projection import DEFAULT_METHOD, ProjectionUnavailable
    from ..map.service import MapBusy, rebuild
    from ..map.storage import map_path

    store = app.store
    quiet = as_json
    t = time.perf_counter()
    try:
        data = rebuild(store, app.settings.data_dir, method=method or DEFAULT_METHOD, wait=False,
                       progress=None if quiet else (lambda msg: click.echo(f"map: {msg}", err=True)))  # fmt: skip
    except MapBusy as exc:
        fail(f"{exc}; try again when it is done")
    except ProjectionUnavailable as exc:
        fail(str(exc))
    summary = _summary(data, seconds=time.perf_counter() - t, path=map_path(app.settings.data_dir))
    if as_json:
        click.echo(json.dumps(summary))
        return
    without = store.count_papers() - summary["papers"]
    click.echo(f"map: {summary['papers']:,} papers placed ({summary['method']} on {summary['model']} vectors), "
               f"regions per zoom level {summary['levels']}, {summary['seconds']:.1f} s, {summary['file']}")  # fmt: skip
    if without > 0:
        click.echo(f"map: {without:,} papers have no {data.model} vector yet; `paperboard map place` adds them "
                   "once `paperboard embed` has computed it", err=True)  # fmt: skip


@map_group.command("place")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def place(app: AppContext, as_json: bool) -> None:
    """Place papers whose vectors arrived since the map was built, without rebuilding it
    (a missing, corrupt or out-of-date map is built instead)."""
    from ..map.service import MapBusy, place_pending
    from ..map.storage import map_path

    t = time.perf_counter()
    try:
        outcome = place_pending(app.store, app.settings.data_dir, wait=False)
    except MapBusy as exc:
        fail(f"{exc}; try again when it is done")
    summary = _summary(outcome.data, seconds=time.perf_counter() - t, path=map_path(app.settings.data_dir),
                       placed=outcome.placed, rebuilt=outcome.rebuilt)  # fmt: skip
    if as_json:
        click.echo(json.dumps(summary))
        return
    if outcome.rebuilt:
        click.echo(f"map: built the whole map instead ({outcome.rebuilt})", err=True)
    click.echo(
        f"map: {outcome.placed:,} new papers placed; {summary['papers']:,} on the map ({summary['seconds']:.1f} s)"
    )


def register(main: click.Group) -> None:
    main.add_command(map_group)
