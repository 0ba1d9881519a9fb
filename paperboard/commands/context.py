"""What every command shares: settings, a lazily opened store, the error convention."""

from __future__ import annotations

import sys

import click

from ..config import Settings


class AppContext:
    """Settings plus a store opened on first use and closed when the command ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from ..store import StoreError, open_store

            try:
                self.settings.ensure_data_dir()
                self._store = open_store(self.settings.resolved_database_url)
            except StoreError as exc:
                fail(str(exc))
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def fail(message: str) -> None:
    """Print a user-facing error to stderr and exit with status 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


pass_app = click.make_pass_decorator(AppContext)
