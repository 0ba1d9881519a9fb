"""SQLite connections: one writer, a small pool of readers (the Datasette pattern).

WAL mode lets readers run while the single writer commits, so a web request never sees
"database is locked"; every write goes through ``writer()``, serialised by a lock in this
process and by ``BEGIN IMMEDIATE`` + ``busy_timeout`` across processes.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000


def _connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    else:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA temp_store = MEMORY")
    # Reads through a memory map of the whole file (SQLite clamps the size to its build's
    # limit, 2 GiB in Python's), not copies in each connection's page cache: the pages are the
    # kernel's file cache, shared by every connection and worker process and given back under
    # memory pressure. With 64 MiB of cache per connection (5 per web worker) over a 256 MiB
    # map, the 75k soak's workers grew 24-26% anon RSS as those caches filled; with the whole
    # file mapped and 16 MiB caches (for what lies past the map: WAL frames, a larger file)
    # a random-page load grew anon RSS by 28 MiB against 64 in the same rounds.
    conn.execute("PRAGMA cache_size = -16384")
    conn.execute("PRAGMA mmap_size = 68719476736")
    conn.row_factory = sqlite3.Row
    return conn


class Database:
    def __init__(self, path: str | Path, *, read_pool_size: int = 4) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()
        self._writer = _connect(self.path)
        self._writer.execute("PRAGMA journal_mode = WAL")
        self._readers: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._read_pool_size = max(1, read_pool_size)
        self._created_readers = 0
        self._readers_lock = threading.Lock()
        self._closed = False

    @contextmanager
    def writer(self) -> Iterator[sqlite3.Connection]:
        """A transaction on the write connection: committed on success, rolled back on error.

        Re-entrant: a nested ``writer()`` joins the outer transaction.
        """
        with self._write_lock:
            conn = self._writer
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A pooled read connection; consistent snapshot for the duration of a ``with``."""
        # A thread that holds the write transaction must read its own uncommitted writes.
        if self._write_lock._is_owned() and self._writer.in_transaction:  # type: ignore[attr-defined]
            yield self._writer
            return
        conn = self._take_reader()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        finally:
            self._readers.put(conn)

    def _take_reader(self) -> sqlite3.Connection:
        try:
            return self._readers.get_nowait()
        except queue.Empty:
            pass
        with self._readers_lock:
            if self._created_readers < self._read_pool_size:
                self._created_readers += 1
                return _connect(self.path)
        return self._readers.get(timeout=60)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                break
        with self._write_lock:
            try:
                self._writer.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
            self._writer.close()
