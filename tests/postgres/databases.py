"""Fresh PostgreSQL databases for tests, cloned from one migrated template per session.

Why a template: running every migration for each of hundreds of tests costs seconds;
``CREATE DATABASE … TEMPLATE`` copies a migrated, empty database in a few milliseconds.
The server comes from ``PAPERBOARD_TEST_POSTGRES_URL`` (the Makefile starts a throwaway
cluster with scripts/pg-test-cluster.sh); names carry the pid, so parallel runs never collide.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "PAPERBOARD_TEST_POSTGRES_URL"
_counter = itertools.count()


def server_url() -> str | None:
    return os.environ.get(ENV) or None


def with_database(url: str, name: str) -> str:
    import psycopg.conninfo

    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    params = {k: v for k, v in info.items() if k != "dbname"}
    user = params.pop("user", "postgres")
    password = params.pop("password", None)
    host = params.pop("host", "127.0.0.1")
    port = params.pop("port", "5432")
    auth = user + (f":{password}" if password else "")
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"postgresql://{auth}@{host}:{port}/{name}" + (f"?{extra}" if extra else "")


def _admin(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


class TemplateDatabases:
    """One migrated template; ``fresh()`` clones it, ``drop()`` removes a clone."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"pbtest_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self._ready = False

    def _ensure_template(self) -> None:
        if self._ready:
            return
        from paperboard.store.postgres import PostgresStore

        with _admin(self.url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.template}"')
        store = PostgresStore(with_database(self.url, self.template))
        try:
            store.migrate()
        finally:
            store.close()
        self._ready = True

    def fresh(self) -> str:
        self._ensure_template()
        name = f"{self.prefix}_{next(_counter)}"
        with _admin(self.url) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return with_database(self.url, name)

    def empty(self) -> str:
        """An unmigrated database (for migration tests)."""
        name = f"{self.prefix}_{next(_counter)}"
        with _admin(self.url) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return with_database(self.url, name)

    def drop(self, url: str) -> None:
        import psycopg.conninfo

        name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        with _admin(self.url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all(self) -> None:
        with _admin(self.url) as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s", (self.prefix + "\\_%",)
                )
            ]
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextmanager
    def database(self, *, migrated: bool = True) -> Iterator[str]:
        url = self.fresh() if migrated else self.empty()
        try:
            yield url
        finally:
            self.drop(url)
