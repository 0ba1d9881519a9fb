"""Read replicas: which PostgreSQL server answers a read.

Reads (``Database.reader()`` outside a transaction) go to a streaming replica fit to answer
them; writes, and reads inside a transaction, go to the primary. Fit means three things:

* **Fresh enough.** Several times per lag bound (at most every second) a thread in each
  process samples the primary's WAL position and each replica's replay position. A replica is
  used while it has replayed what the primary had written at some sample of the last
  ``max_lag`` seconds, so what it answers is at most that old (plus one check interval). Why
  positions and not ``now() - pg_last_xact_replay_timestamp()``: that grows on an idle primary
  whose replicas are perfectly current, and looks fine on a replica whose stream has stopped.
* **Has the user's own writes.** Inside ``read_your_writes()`` (the web layer opens one per
  request) a write records the primary's WAL position after its commit, and reads from then on
  need a replica that has replayed it; the web layer carries the position to the user's next
  requests in a cookie, so it holds whichever worker or host answers them. A read that needs
  position L goes to a replica whose last checked replay position is at least L, else to the
  primary. Why a position and not pinning the user to the primary for a fixed window: it is
  exact, it sends nothing to the primary once the replica has caught up (usually by the next
  check), and no window has to be guessed against a lag that varies.
* **Answers.** A replica whose connection breaks is marked down at once and skipped until a
  check finds it answering again. The statement that met the break (the replica stopped
  mid-read), or one cancelled by a recovery conflict, runs again on the primary: reads run in
  autocommit, each statement with its own snapshot, so running it again there is what the next
  statement would have done anyway. A read never waits on a replica: the checks run in the
  background, and a replica that hands out no connection within ``CHECKOUT_TIMEOUT_S`` is
  passed over for that read.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

CHECKOUT_TIMEOUT_S = 0.25
"""How long a read waits for a replica's connection before it asks the primary instead."""
CHECK_CONNECT_TIMEOUT_S = 2  # libpq's smallest
MAX_CHECK_INTERVAL_S = 1.0
WRITTEN_SQL = (
    "SELECT (CASE current_setting('synchronous_commit') WHEN 'off' THEN pg_current_wal_insert_lsn()"
    " ELSE pg_current_wal_lsn() END)::text AS lsn"
)
"""A position at or past the end of the commit just made, that a replica can reach: after a
commit that waited for its flush (``synchronous_commit`` other than off) the write position;
after one that did not, the insert position, which is past the commit for sure but can point
just beyond a page header no record has filled yet: on an idle primary a replica stops short
of it, so the writer reads from the primary until more is written or the cookie expires."""
UNKNOWN_POSITION = (1 << 64) - 1
"""Past any replica: its writer reads from the primary until the position is forgotten."""
_GONE = frozenset({"57P01", "57P02", "57P03"})  # admin shutdown, crash shutdown, cannot connect now
_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


def parse_lsn(text: str | None) -> int:
    """A WAL position (``16/B374D848``) as a number; 0 for anything else."""
    m = _LSN.match(text or "")
    return (int(m.group(1), 16) << 32) | int(m.group(2), 16) if m else 0


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


# -- read-your-writes ---------------------------------------------------------------------------
@dataclass
class Consistency:
    """The WAL position this unit of work must read back (0: none)."""

    lsn: int = 0


_current: ContextVar[Consistency | None] = ContextVar("paperboard_read_your_writes", default=None)


@contextmanager
def read_your_writes(lsn: int = 0) -> Iterator[Consistency]:
    """Within the block, reads see the block's own writes and everything up to ``lsn``.

    ``lsn`` carries writes made elsewhere (the user's previous request); after the block,
    ``.lsn`` is the position to carry on."""
    consistency = Consistency(lsn)
    token = _current.set(consistency)
    try:
        yield consistency
    finally:
        _current.reset(token)


def tracking() -> bool:
    return _current.get() is not None


def note_write(lsn: int) -> None:
    consistency = _current.get()
    if consistency is not None and lsn > consistency.lsn:
        consistency.lsn = lsn


def wanted_lsn() -> int:
    consistency = _current.get()
    return consistency.lsn if consistency is not None else 0


# -- one replica --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplicaState:
    status: str = "starting"  # in use | lagging | down | not a standby | starting
    replay_lsn: int = 0
    lag_seconds: float | None = None
    checked_at: float = 0.0  # monotonic time of the last check that reached the replica
    error: str = ""


class ReplicaConnection(psycopg.Connection[Any]):
    """A replica's connection: a statement the replica cannot answer runs on the primary."""

    lease: Lease | None = None

    def execute(self, *args: Any, **kwargs: Any) -> psycopg.Cursor[Any]:  # type: ignore[override]
        lease = self.lease
        if lease is None:
            return super().execute(*args, **kwargs)
        if lease.primary is None:
            try:
                return super().execute(*args, **kwargs)
            except psycopg.OperationalError as exc:
                if not lease.fail_over(exc):
                    raise
        assert lease.primary is not None
        return lease.primary.execute(*args, **kwargs)


class Replica:
    def __init__(self, url: str, *, pool_kwargs: dict[str, Any]) -> None:
        from .database import redact

        self.url = url
        self.label = redact(url)
        self.state = ReplicaState()
        self._pool_kwargs = pool_kwargs
        self._pool: ConnectionPool[ReplicaConnection] | None = None
        self._pid = 0
        self._inherited: list[Any] = []  # a parent's pools and connections: never closed here
        self._lock = threading.Lock()
        self.check_conn: psycopg.Connection[Any] | None = None

    def pool(self) -> ConnectionPool[ReplicaConnection]:
        pool = self._pool
        if pool is not None and self._pid == os.getpid():
            return pool
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                if self._pool is not None:
                    self._inherited.append(self._pool)
                self._pool = ConnectionPool(
                    self.url, connection_class=ReplicaConnection, min_size=1, open=False,
                    name=f"paperboard-replica-{os.getpid()}", **self._pool_kwargs,
                )  # fmt: skip
                # Not waiting: a replica that does not answer must never stop the site starting.
                self._pool.open(wait=False)
                self._pid = os.getpid()
            return self._pool

    def mark_down(self, reason: str) -> None:
        """Skipped from now until a check reaches it; its pooled connections are dropped
        (they all broke with it) so the pool stops retrying a server that is gone."""
        with self._lock:
            was_down = self.state.status == "down"
            self.state = replace(self.state, status="down", error=reason[:300])
            pool = self._pool if self._pid == os.getpid() else None
            self._pool = None
        if not was_down:
            log.warning("replica %s skipped: %s", self.label, reason)
        if pool is not None:  # in the background: its workers may be stuck connecting
            threading.Thread(target=pool.close, name="paperboard-replica-close", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close(timeout=1)


class Lease:
    """One read's hold on a replica connection, and on a primary one if it had to fail over."""

    def __init__(self, replica: Replica, pool: ConnectionPool[Any], conn: ReplicaConnection,
                 primary_pool: Callable[[], ConnectionPool[Any]]) -> None:  # fmt: skip
        self.replica = replica
        self.conn = conn
        self.primary: psycopg.Connection[Any] | None = None
        self._pool = pool
        self._primary_pool = primary_pool
        conn.lease = self

    def fail_over(self, exc: psycopg.OperationalError) -> bool:
        """Whether ``exc`` is the replica's doing; then later statements go to the primary."""
        conn, state = self.conn, exc.sqlstate or ""
        if conn.broken or conn.closed or state in _GONE:
            self.replica.mark_down(f"{type(exc).__name__}: {str(exc).strip()}")
        elif not (state.startswith("40") or state == "57P04"):  # 40xxx, 57P04: recovery conflicts
            return False
        primary = self._primary_pool().getconn()
        primary.autocommit = True
        vector = conn.adapters.types.get("vector")  # the one type this store registers per connection
        if vector is not None and primary.adapters.types.get("vector") is None:
            from pgvector.psycopg.vector import register_vector_info

            register_vector_info(primary, vector)
        self.primary = primary
        return True

    def release(self, exc: BaseException | None) -> None:
        conn = self.conn
        conn.lease = None
        if exc is not None and (conn.broken or conn.closed) and self.replica.state.status != "down":
            self.replica.mark_down(f"{type(exc).__name__}: {str(exc).strip()}")
        self._pool.putconn(conn)
        if self.primary is not None:
            self._primary_pool().putconn(self.primary)


# -- the set of replicas ------------------------------------------------------------------------
class Replicas:
    def __init__(self, urls: tuple[str, ...] | list[str], *, primary_url: str, max_lag: float,
                 pool_kwargs: dict[str, Any], check_interval: float | None = None) -> None:  # fmt: skip
        if max_lag <= 0:
            raise ValueError("the replica lag bound must be positive")
        self.replicas = [Replica(url, pool_kwargs=pool_kwargs) for url in urls]
        self.primary_url = primary_url
        self.max_lag = float(max_lag)
        self.interval = check_interval or min(MAX_CHECK_INTERVAL_S, self.max_lag / 4)
        self._samples: deque[tuple[float, int]] = deque()  # (when, the primary's WAL position)
        self._primary_conn: psycopg.Connection[Any] | None = None
        self._inherited: list[Any] = []
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._thread_pid = 0
        self._stop = threading.Event()
        self._turn = itertools.count()

    # -- routing --------------------------------------------------------------------------
    def lease(self, primary_pool: Callable[[], ConnectionPool[Any]]) -> Lease | None:
        """A fit replica's connection for one read, or None: read from the primary."""
        self._ensure_checker()
        replica = self.choose(wanted_lsn())
        if replica is None:
            return None
        try:
            pool = replica.pool()
            conn = pool.getconn(timeout=CHECKOUT_TIMEOUT_S)
        except psycopg.OperationalError:  # PoolTimeout, PoolClosed (marked down meanwhile)
            return None  # busy, or gone and not yet found out: this read goes to the primary
        conn.autocommit = True
        return Lease(replica, pool, conn, primary_pool)

    def choose(self, lsn: int = 0) -> Replica | None:
        now = time.monotonic()
        fit = [
            r for r in self.replicas
            if (s := r.state).status == "in use" and s.replay_lsn >= lsn and now - s.checked_at <= self._stale_after
        ]  # fmt: skip
        return fit[next(self._turn) % len(fit)] if fit else None

    @property
    def _stale_after(self) -> float:
        """A state older than this (a check that hangs) no longer counts."""
        return self.max_lag + 2 * self.interval

    # -- checks ---------------------------------------------------------------------------
    def check(self) -> None:
        """One round: the primary's WAL position, then how far each replica has replayed."""
        with self._check_lock:
            sampled = time.monotonic()
            try:
                if self._primary_conn is None:
                    self._primary_conn = _connect(self.primary_url)
                row = self._primary_conn.execute("SELECT pg_current_wal_lsn()::text AS lsn").fetchone()
                self._samples.append((sampled, parse_lsn(row["lsn"])))
            except psycopg.Error:
                self._primary_conn = _closed(self._primary_conn)  # replicas age into "lagging"
            while self._samples and self._samples[0][0] < sampled - self._stale_after:
                self._samples.popleft()
            for replica in self.replicas:
                self._check_replica(replica)

    def _check_replica(self, replica: Replica) -> None:
        try:
            if replica.check_conn is None:
                replica.check_conn = _connect(replica.url)
            row = replica.check_conn.execute(
                "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn"
            ).fetchone()
        except psycopg.Error as exc:
            replica.check_conn = _closed(replica.check_conn)
            replica.mark_down(f"{type(exc).__name__}: {str(exc).strip()}")
            return
        now = time.monotonic()
        if not row["standby"]:
            replica.state = ReplicaState("not a standby", 0, None, now, "the server is not in recovery")
            return
        replayed = parse_lsn(row["lsn"])
        since = max((t for t, lsn in self._samples if lsn <= replayed), default=None)
        if since is not None:
            lag: float | None = now - since
        else:
            lag = now - self._samples[0][0] if self._samples else None  # at least this much
        fresh = since is not None and now - since <= self.max_lag
        replica.state = ReplicaState("in use" if fresh else "lagging", replayed, lag, now, "")

    def _ensure_checker(self) -> None:
        if self._thread_pid == os.getpid() or self._stop.is_set():
            return
        with self._lock:
            if self._thread_pid == os.getpid():
                return
            if self._thread_pid:  # forked: the parent's check connections are its sockets
                self._inherited.append(self._primary_conn)
                self._primary_conn = None
                for replica in self.replicas:
                    self._inherited.append(replica.check_conn)
                    replica.check_conn = None
            self._thread_pid = os.getpid()
            threading.Thread(target=self._run, name="paperboard-replica-check", daemon=True).start()

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set() and self._thread_pid == pid:
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the checker must outlive any one failure
                log.exception("replica check failed")
            self._stop.wait(self.interval)

    def status(self) -> list[dict[str, Any]]:
        return [
            {"replica": r.label, "state": (s := r.state).status,
             "lag_seconds": None if s.lag_seconds is None else round(s.lag_seconds, 3),
             "replayed": format_lsn(s.replay_lsn) if s.replay_lsn else None, **({"error": s.error} if s.error else {})}
            for r in self.replicas
        ]  # fmt: skip

    def close(self) -> None:
        self._stop.set()
        with self._check_lock:
            conns = [self._primary_conn, *(r.check_conn for r in self.replicas)]
            self._primary_conn = None
            for replica in self.replicas:
                replica.check_conn = None
                replica.close()
            if self._thread_pid == os.getpid():
                for conn in conns:
                    _closed(conn)
            else:  # a parent's sockets
                self._inherited.extend(conns)


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, connect_timeout=CHECK_CONNECT_TIMEOUT_S, row_factory=dict_row)


def _closed(conn: psycopg.Connection[Any] | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except psycopg.Error:
            pass
    return None
