"""PostgreSQL connections: one pool per process, a transaction per ``with``.

Why per process: ``serve --workers N`` may fork after the store was opened (migrations run in
the parent). A pool's connections are sockets; a child that used, or even closed, its parent's
sockets would corrupt the parent's sessions. So the pool is created lazily and re-created
when the process id changes; the inherited pool is kept referenced (never closed, never
garbage-collected) because closing a libpq connection sends a Terminate message on a socket
the parent still uses.

Why the idle check: after a server restart every pooled connection is dead. A connection
idle for over a second is checked (one round trip) before use, so a restart costs callers
no error; one returned a moment ago is used directly, saving that round trip on busy paths.

With replica URLs, reads outside a transaction go to a streaming replica fit to answer them
and everything else to the primary (replicas.py says when a replica is fit, and how a user
reads their own writes).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from ..base import StoreError
from . import replicas as replica_routing

T = TypeVar("T")
Conn = psycopg.Connection[dict[str, Any]]

CONNECT_TIMEOUT_S = 10
IDLE_CHECK_S = 1.0
RETRYABLE = (errors.SerializationFailure, errors.DeadlockDetected)


def _configure(conn: psycopg.Connection[Any]) -> None:
    # Timestamps come back in UTC, like the SQLite backend's ISO strings.
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()


def redact(url: str) -> str:
    """The URL without its password, for error messages and logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid URL>"
    host = info.get("host", "localhost")
    return f"postgresql://{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, replica_urls: tuple[str, ...] = (),
                 replica_max_lag: float = 5.0) -> None:  # fmt: skip
        self.url = url
        self.pool_size = max(2, pool_size)
        self._pool: ConnectionPool[Conn] | None = None
        self._pid = 0
        self._inherited: list[ConnectionPool[Conn]] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        self._returned: weakref.WeakKeyDictionary[Conn, float] = weakref.WeakKeyDictionary()
        self.replicas = (
            replica_routing.Replicas(
                replica_urls, primary_url=url, max_lag=replica_max_lag,
                pool_kwargs={"max_size": self.pool_size, "kwargs": self._connect_kwargs(), "configure": _configure,
                             "check": self._check, "reset": self._mark_returned},
            )
            if replica_urls else None
        )  # fmt: skip

    # -- pool -------------------------------------------------------------------------
    def _get_pool(self) -> ConnectionPool[Conn]:
        pool, pid = self._pool, os.getpid()
        if pool is not None and self._pid == pid:
            return pool
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            if self._pool is not None and self._pid == pid:
                return self._pool
            if self._pool is not None:  # forked: leave the parent's sockets alone
                self._inherited.append(self._pool)
                self._local = threading.local()
            self._pool = self._open_pool()
            self._pid = pid
            return self._pool

    def _open_pool(self) -> ConnectionPool[Conn]:
        # One direct attempt first: a refused or misnamed server fails at once with its own
        # reason, where the pool would retry quietly until its timeout (15 s) and hide it.
        try:
            psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {redact(self.url)}: {str(exc).strip()}") from None
        pool: ConnectionPool[Conn] = ConnectionPool(
            self.url,
            min_size=1,
            max_size=self.pool_size,
            kwargs=self._connect_kwargs(),
            configure=_configure,
            check=self._check,
            reset=self._mark_returned,
            open=False,
            name=f"paperboard-{os.getpid()}",
        )
        try:
            pool.open(wait=True, timeout=CONNECT_TIMEOUT_S + 5)
        except PoolTimeout:
            pool.close(timeout=0)
            reason = "timed out"
            try:  # the pool hides the cause; one direct attempt shows it to the user
                psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S).close()
            except psycopg.Error as exc:
                reason = str(exc).strip()
            raise StoreError(f"cannot connect to PostgreSQL at {redact(self.url)}: {reason}") from None
        return pool

    @staticmethod
    def _connect_kwargs() -> dict[str, Any]:
        return {"row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT_S}

    def _mark_returned(self, conn: Conn) -> None:
        self._returned[conn] = time.monotonic()

    def _check(self, conn: Conn) -> None:
        if time.monotonic() - self._returned.get(conn, 0.0) > IDLE_CHECK_S:
            ConnectionPool.check_connection(conn)

    # -- transactions -----------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """A transaction: committed on success, rolled back on error.

        Re-entrant per thread: a nested ``transaction()`` (or ``reader()``) joins the outer
        one, so a mixin method can call another inside its transaction and see its writes.
        """
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._get_pool().connection() as conn:
            conn.autocommit = False
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None
            if self.replicas is not None and replica_routing.tracking():
                conn.commit()
                try:
                    conn.autocommit = True
                    lsn = replica_routing.parse_lsn(conn.execute(replica_routing.WRITTEN_SQL).fetchone()["lsn"])
                except psycopg.Error:  # committed, position unknown: the primary answers this writer
                    lsn = replica_routing.UNKNOWN_POSITION
                replica_routing.note_write(lsn)

    writer = transaction

    @contextmanager
    def reader(self) -> Iterator[Conn]:
        """A pooled connection in autocommit mode, for reads.

        Under READ COMMITTED every statement takes its own snapshot even inside a
        transaction, so wrapping reads in BEGIN/COMMIT buys no consistency and costs a
        round trip per call; inside a ``transaction()`` the reads join it (and see its writes).
        Outside one, a fit replica answers when there are replicas.
        """
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        lease = self.replicas.lease(self._get_pool) if self.replicas is not None else None
        if lease is not None:
            try:
                yield lease.conn
            except BaseException as exc:
                lease.release(exc)
                raise
            lease.release(None)
            return
        with self._get_pool().connection() as conn:
            conn.autocommit = True
            yield conn

    def run(self, fn: Callable[[Conn], T], *, attempts: int = 5) -> T:
        """``fn`` in a transaction, retried on serialization failures and deadlocks.

        Only for callers not already inside a transaction (a retry must restart the whole
        unit of work, which an inner call cannot do).
        """
        for attempt in range(attempts):
            try:
                with self.transaction() as conn:
                    return fn(conn)
            except RETRYABLE:
                if attempt == attempts - 1 or getattr(self._local, "conn", None) is not None:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pool, self._pool = self._pool, None
        if self.replicas is not None:
            self.replicas.close()
        if pool is not None and self._pid == os.getpid():
            pool.close()

    def replica_status(self) -> list[dict[str, Any]]:
        """Each replica's state as this process last saw it (for /readyz and /metrics)."""
        return self.replicas.status() if self.replicas is not None else []


IDENTITY_SQL = (
    "((SELECT id FROM database_identity) || '.'"
    " || (SELECT oid FROM pg_database WHERE datname = current_database())::text)"
)
"""The database's identity: its own id (migration 0009), and its oid, because a database
cloned with CREATE DATABASE … TEMPLATE copies every row, the id included."""
