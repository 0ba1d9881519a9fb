"""``paperboard db …``: schema management."""

from __future__ import annotations

import click

from .context import AppContext, pass_app


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


def register(main: click.Group) -> None:
    main.add_command(db_group)
