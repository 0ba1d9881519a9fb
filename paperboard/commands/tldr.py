"""``paperboard tldr backfill``: TL;DRs for papers stored before they existed (resumable)."""

from __future__ import annotations

import json
import sys
from functools import partial

import click

from .context import AppContext, fail, pass_app


@click.group("tldr")
def tldr_group() -> None:
    """One-sentence TL;DRs of papers (computed on ingest; this fills in older papers)."""


@tldr_group.command("backfill")
@click.option("--rebuild", is_flag=True, help="Recompute every paper's TL;DR (after retraining the model).")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--ray", "ray_address", default=None, metavar="HOST:PORT|auto",
              help="Compute the TL;DRs on this Ray cluster, one task per batch (pip install 'paperboard[ray]').")  # fmt: skip
@pass_app
def backfill_command(app: AppContext, rebuild: bool, batch_size: int, as_json: bool, ray_address: str | None) -> None:
    """Compute the TL;DR of every paper that lacks one, batch by batch (a killed run resumes
    where it stopped)."""
    from ..summarize.backfill import backfill

    if ray_address is not None:
        backfill = partial(backfill_on_cluster, ray_address)
    store = app.store
    show = not as_json and sys.stderr.isatty()
    if show:
        total = store.count_papers() if rebuild else store.count_without_tldr()

        def progress(r) -> None:
            click.echo(f"\r{r.read:,} / {total:,} papers", err=True, nl=False)
    else:
        progress = None
    result = backfill(store, rebuild=rebuild, batch_size=batch_size, on_batch=progress)
    if show:
        click.echo("", err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    rate = f" ({result.read / result.seconds:,.0f} papers/s)" if result.seconds > 0 and result.read else ""
    click.echo(
        f"read {result.read:,} · wrote {result.written:,} TL;DRs{rate} · {result.remaining:,} papers without one",
        err=True,
    )


def backfill_on_cluster(address: str, store, **options):
    """``summarize.backfill.backfill`` with the TL;DRs computed by Ray tasks."""
    from ..scale.ray_chunks import ChunkFailed
    from ..scale.ray_connect import RayUnavailable, ray_cluster
    from ..scale.ray_tldr import backfill_on_ray

    try:
        with ray_cluster(address) as ray:
            return backfill_on_ray(ray, store, **options)
    except RayUnavailable as exc:
        fail(str(exc))
    except ChunkFailed as exc:
        fail(f"{exc}; the TL;DRs written so far are kept: re-run to resume")


def register(main: click.Group) -> None:
    main.add_command(tldr_group)
