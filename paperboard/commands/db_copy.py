"""``paperboard db copy``: move an installation from SQLite to PostgreSQL without loss.

Registered under the ``db`` group. The copy is one transaction on the target, so an
interrupted run changes nothing and can simply be run again; afterwards each table's row
count and checksum are read back from PostgreSQL and compared with the source's.
"""

from __future__ import annotations

import click

from .context import fail


@click.command("copy")
@click.option("--from", "source_url", required=True, help="The store to copy: sqlite:///path/to/paperboard.db")
@click.option("--to", "target_url", required=True, help="An empty PostgreSQL database: postgresql://user@host/db")
@click.option("--replace", is_flag=True, help="Overwrite a target that already has data (re-running a copy).")
@click.option("--batch-size", type=click.IntRange(100, 1_000_000), default=5_000, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only the final table.")
def copy(source_url: str, target_url: str, replace: bool, batch_size: int, quiet: bool) -> None:
    """Copy every table (papers, accounts, votes, digests, vectors…) and verify it."""
    from pathlib import Path

    from ..store import StoreError, open_store
    from ..store.postgres.copy import copy_store

    if source_url.startswith("sqlite:") and not Path(source_url.removeprefix("sqlite:///")).exists():
        fail(f"no SQLite store at {source_url}")
    try:
        with open_store(source_url) as source, open_store(target_url) as target:
            reports = copy_store(
                source, target, replace=replace, batch_size=batch_size,
                progress=(lambda _: None) if quiet else (lambda line: click.echo(line, err=True)),
            )  # fmt: skip
    except StoreError as exc:
        fail(str(exc))
    width = max(len(r.table) for r in reports)
    click.echo(f"{'table':<{width}}  {'source rows':>11}  {'target rows':>11}  {'source sum':>16}  {'target sum':>16}")
    for r in reports:
        click.echo(
            f"{r.table:<{width}}  {r.source_rows:>11}  {r.target_rows:>11}  {r.source_checksum:>16}"
            f"  {r.target_checksum:>16}  {'ok' if r.ok else 'MISMATCH'}"
        )
    bad = [r.table for r in reports if not r.ok]
    if bad:
        fail(f"the copy does not match the source in: {', '.join(bad)}")
    click.echo(f"copied {sum(r.source_rows for r in reports)} rows in {len(reports)} tables; all match")


def register(main: click.Group) -> None:
    group = main.commands.get("db")
    if not isinstance(group, click.Group):
        raise RuntimeError("db copy needs the db command group")
    group.add_command(copy)
