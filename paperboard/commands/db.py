"""``paperboard db …``: schema management."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .context import AppContext, fail, pass_app


@click.group("db")
def db_group() -> None:
    """Database schema and maintenance."""


@db_group.command("migrate")
@pass_app
def migrate(app: AppContext) -> None:
    """Apply pending schema migrations (also done automatically on open)."""
    from ..store import open_store

    store = open_store(app.settings.resolved_database_url, migrate=False)
    try:
        applied = store.migrate()
        version = store.schema_version()
    finally:
        store.close()
    for name in applied:
        click.echo(f"applied {name}")
    click.echo(f"schema at version {version}")


@db_group.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def backup(app: AppContext, path: Path, as_json: bool) -> None:
    """Take a consistent online backup into the new directory PATH (the site may keep running).

    SQLite: the online backup API; PostgreSQL: pg_dump's custom format. PATH gets the data
    file and manifest.json (row counts, file and per-table checksums) and appears only once
    complete.
    """
    from ..store.backup import take_backup

    report = _run(lambda: take_backup(app.settings.resolved_database_url, path, pg_bin_dir=app.settings.pg_bin_dir))
    summary = report.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for name, info in summary["files"].items():
        click.echo(f"{name}: {info['bytes']:,} bytes, sha256 {info['sha256']}")
    click.echo(
        f"backed up {summary['rows']:,} rows in {len(summary['tables'])} tables (schema {summary['schema_version']})"
        f" to {report.path} in {report.seconds:.1f} s"
    )


@db_group.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def restore(app: AppContext, path: Path, as_json: bool) -> None:
    """Restore the backup at PATH into the configured store, which must be empty.

    The backup's files are checked against its manifest first, and every table of the
    restored store is compared with it before the restore is kept: on any difference the
    store is left as it was. Stop the site while restoring.
    """
    from ..store.backup import restore_backup

    report = _run(lambda: restore_backup(app.settings.resolved_database_url, path, pg_bin_dir=app.settings.pg_bin_dir))
    summary = report.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(
        f"restored {summary['rows']:,} rows in {len(summary['tables'])} tables from {report.path}"
        f" (taken {summary['created_at']}, schema {summary['schema_version']}) in {report.seconds:.1f} s;"
        " every table matches the manifest"
    )


@db_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@pass_app
def check(app: AppContext, as_json: bool) -> None:
    """Run the store's integrity checks and compare the indexes under the data dir with it.

    SQLite: integrity_check, foreign_key_check and FTS5's integrity-check. PostgreSQL:
    amcheck where the role may use it, invalid indexes, unvalidated constraints, every
    foreign key row by row, the full-text table. Indexes: the keyword index's document
    count at the store's change-feed position, the vector graphs' files. Exits 1 when
    anything fails ("note" lines heal themselves).
    """
    from ..search.index_check import check_indexes
    from ..store import open_store
    from ..store.backup import backend_of, check_store, sqlite_path

    url = app.settings.resolved_database_url
    if backend_of(url) == "sqlite" and not sqlite_path(url).is_file():
        fail(f"no SQLite store at {sqlite_path(url)}")
    findings = _run(lambda: check_store(url))
    store = _run(lambda: open_store(url, migrate=False))
    try:
        findings += check_indexes(store, app.settings.data_dir / "index")
    finally:
        store.close()
    failed = [f for f in findings if f.status == "fail"]
    if as_json:
        click.echo(json.dumps({"ok": not failed, "findings": [
            {"check": f.check, "status": f.status, "message": f.message} for f in findings
        ]}, indent=2))  # fmt: skip
    else:
        width = max(len(f.check) for f in findings)
        for f in findings:
            click.echo(f"{f.check:<{width}}  {f.status.upper():<4}  {f.message}")
    if failed:
        if not as_json:
            click.echo(f"error: {len(failed)} check(s) failed: {', '.join(f.check for f in failed)}", err=True)
        sys.exit(1)


@db_group.command("prune-changes")
@click.option("--batch-size", type=click.IntRange(100, 1_000_000), default=5_000, show_default=True,
              help="Changes deleted per transaction.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def prune_changes(app: AppContext, batch_size: int, as_json: bool) -> None:
    """Delete the change-feed rows every index reading the feed has passed (the worker does
    this hourly). Indexes silent for PAPERBOARD_CHANGE_FEED_RETENTION_DAYS no longer hold the
    feed back; one pruned past rebuilds from the store when it next runs."""
    from datetime import UTC, timedelta

    store = app.store
    days = app.settings.change_feed_retention_days
    report = _run(lambda: store.prune_changes(retention=timedelta(days=days), batch_size=batch_size))
    text = store.feed_position_text
    holding = [r.reader for r, status in report.readers if status == "holds" and r.position == report.below]
    if as_json:
        click.echo(json.dumps({
            "deleted": report.deleted, "batches": report.batches, "remaining": report.remaining,
            "below": text(report.below), "head": text(report.head), "retention_days": days, "held_by": holding,
            "readers": [{"reader": r.reader, "label": r.label, "position": text(r.position),
                         "reported_at": r.reported_at.isoformat(), "status": status}
                        for r, status in report.readers],
        }, indent=2))  # fmt: skip
        return
    batches = f"{report.batches} batch" + ("" if report.batches == 1 else "es")
    click.echo(f"pruned {report.deleted:,} changes in {batches}; {report.remaining:,} kept,"
               f" from position {text(report.below)} (head {text(report.head)})")  # fmt: skip
    if not report.readers:
        click.echo("no index reads the feed yet: only the newest change is kept")
    for r, status in report.readers:
        why = {"holds": "holds the feed" + (" back here" if r.reader in holding else ""),
               "stale": f"silent over {days:g} days: no longer holds the feed",
               "other epoch": "for another database or epoch: ignored"}[status]  # fmt: skip
        click.echo(f"{r.reader}  {r.label}  position {text(r.position)}  reported {r.reported_at.astimezone(UTC):%Y-%m-%d %H:%M}Z  {why}")


def _run(action):
    """``action()``, with a store or backup error shown the usual way (stderr, exit 2)."""
    from ..store import StoreError

    try:
        return action()
    except StoreError as exc:
        fail(str(exc))


def register(main: click.Group) -> None:
    main.add_command(db_group)
