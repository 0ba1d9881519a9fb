"""The ``paperboard`` command: wires sources, store, search and web together.

Command modules live in ``paperboard/commands/``; this file owns the group, the shared
context (settings + a lazily opened store) and the error convention: a user error prints
one line to stderr and exits 2.
"""

from __future__ import annotations

import click

from .commands.context import AppContext, fail, pass_app
from .config import Settings

__all__ = ["main", "AppContext", "fail", "pass_app"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="paperboard")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Paperboard: a self-hosted daily-papers hub.

    The store is chosen by PAPERBOARD_DATABASE_URL (sqlite:///path or postgresql://…);
    by default it is a SQLite file in PAPERBOARD_DATA_DIR.
    """
    app = AppContext(Settings())
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    from .commands import db, ingest, papers, serve

    for module in (ingest, papers, db, serve):
        module.register(main)
    # Optional command modules from other parts of the product; each registers itself.
    import importlib

    for name in ("users", "tokens", "digest", "embed", "db_copy", "library", "map", "tldr"):
        try:
            mod = importlib.import_module(f"paperboard.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"paperboard.commands.{name}":
                raise
            continue
        mod.register(main)


_register()
