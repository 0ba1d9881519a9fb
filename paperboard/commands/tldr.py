"""``paperboard tldr backfill``: TL;DRs for papers stored before they existed (resumable)."""

from __future__ import annotations

import json
import sys

import click

from .context import AppContext, pass_app


@click.group("tldr")
def tldr_group() -> None:
    """One-sentence TL;DRs of papers (computed on ingest; this fills in older papers)."""


@tldr_group.command("backfill")
@click.option("--rebuild", is_flag=True, help="Recompute every paper's TL;DR (after retraining the model).")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def backfill_command(app: AppContext, rebuild: bool, batch_size: int, as_json: bool) -> None:
    """Compute the TL;DR of every paper that lacks one, batch by batch (a killed run resumes
    where it stopped)."""
    from ..summarize.backfill import backfill

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


def register(main: click.Group) -> None:
    main.add_command(tldr_group)
