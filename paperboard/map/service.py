"""Keeping the map file in step with the store, for the CLI, the worker and the web.

One file per data dir (``<data>/index/map.bin``), many processes: a build or a placement
takes an exclusive lock on ``map.lock`` beside it, writes the file atomically and lets go;
readers never lock (they see the old file or the new one). A missing, corrupt or stale file
(its vectors were rebuilt, it belongs to another database, or the search moved to the
stronger model) is rebuilt; the web shows a clear message meanwhile instead of a map.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..store.base import Store
from .build import PlaceResult, build_map, map_model, place_new
from .projection import DEFAULT_METHOD
from .storage import MapData, MapFileError, load, map_path, save

log = logging.getLogger(__name__)

PLACE_EVERY = 30.0
"""Seconds a serving process waits between looks for papers whose vectors arrived."""


class MapBusy(RuntimeError):
    """Another process is building or placing right now."""


@contextmanager
def map_lock(data_dir: Path, *, wait: bool = True) -> Iterator[None]:
    path = map_path(data_dir).with_name("map.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise MapBusy("another process is building the map") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def stale_reason(store: Store, data: MapData) -> str | None:
    """Why this map no longer describes the store, or None."""
    _, epoch = store.vector_head(data.model)
    if epoch != data.epoch:
        return "the vectors were rebuilt or the map belongs to another database"
    model = map_model(store)
    if model != data.model:
        return f"search now uses {model} vectors (the map has {data.model})"
    return None


def rebuild(
    store: Store, data_dir: Path, *, method: str = DEFAULT_METHOD, wait: bool = True,
    progress: Callable[[str], None] | None = None,
) -> MapData:  # fmt: skip
    with map_lock(data_dir, wait=wait):
        data = build_map(store, method=method, progress=progress)
        save(data, map_path(data_dir))
    return data


@dataclass(slots=True)
class PlaceOutcome:
    data: MapData
    placed: int
    rebuilt: str | None = None
    """Why the whole map was built instead (no file, corrupt, stale), if it was."""


def place_pending(
    store: Store,
    data_dir: Path,
    *,
    wait: bool = True,
    progress: Callable[[str], None] | None = None,
) -> PlaceOutcome:
    """Place papers whose vectors arrived since the map was written; build the map instead
    when there is no usable one."""
    with map_lock(data_dir, wait=wait):
        path = map_path(data_dir)
        try:
            data = load(path)
            reason = stale_reason(store, data)
        except MapFileError as exc:
            data, reason = None, str(exc)
        if reason is not None:
            log.warning("map: %s; building it", reason)
            data = build_map(store, progress=progress)
            save(data, path)
            return PlaceOutcome(data, 0, rebuilt=reason)
        result: PlaceResult = place_new(store, data, index_dir=Path(data_dir) / "index")
        if result.placed or result.data.max_seq != data.max_seq:
            save(result.data, path)
        return PlaceOutcome(result.data, result.placed)


@dataclass(slots=True)
class MapView:
    """What the web shows: the map, or why there is none yet."""

    data: MapData | None
    status: str  # "ready" | "empty" | "building"
    message: str = ""
    version: str = ""
    """Changes whenever the file does: the page refetches its points when it changes."""


class MapService:
    """A serving process's view of the map file: loaded once per change of the file; a
    missing, corrupt or stale file is rebuilt in a background thread while the page says
    so; papers whose vectors arrived are placed every PLACE_EVERY seconds."""

    def __init__(self, store: Store, data_dir: Path, *, background: bool = True) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self.background = background
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._data: MapData | None = None
        self._problem = ""
        self._worker: threading.Thread | None = None
        self._placed_at = 0.0

    @property
    def path(self) -> Path:
        return map_path(self.data_dir)

    def view(self, *, build: bool = True) -> MapView:
        """``build``: start a rebuild when there is no usable map (the /map page does; the
        data endpoints and a paper page's inset only report)."""
        with self._lock:
            self._reload()
            data = self._data
            if data is not None and not self._problem:
                self._maybe_place(data)
                return MapView(data, "ready", version=self._version())
            if self.store.count_papers() == 0:
                return MapView(
                    None, "empty", "No papers yet: the map appears once papers are ingested."
                )
            if build:
                self._start(self._rebuild_job)
            if self._data is not None and not self._problem:  # built right here (background=False)
                return MapView(self._data, "ready", version=self._version())
            busy = self._worker is not None and self._worker.is_alive()
            why = self._problem or "there is no map yet"
            verb = "is being rebuilt" if busy else "will be rebuilt"
            return MapView(
                None, "building", f"The map {verb} ({why}). Reload the page in a minute."
            )

    def wait_idle(self, timeout: float = 120.0) -> bool:
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    # -- internals ---------------------------------------------------------------------------
    def _version(self) -> str:
        return "-".join(str(x) for x in (self._stamp or ()))

    def _reload(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._data, self._problem = None, None, "no map file"
            return
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            data = load(self.path)
            reason = stale_reason(self.store, data)
        except MapFileError as exc:
            log.warning("%s; rebuilding it", exc)
            self._data, self._problem = None, "the map file was corrupt"
            return
        if reason is not None:
            self._data, self._problem = None, f"the map is out of date: {reason}"
            return
        self._data, self._problem = data, ""

    def _maybe_place(self, data: MapData) -> None:
        now = time.monotonic()
        if now - self._placed_at < PLACE_EVERY:
            return
        self._placed_at = now
        head, _ = self.store.vector_head(data.model)
        if head > data.max_seq:
            self._start(self._place_job)

    def _start(self, job: Callable[[], None]) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        if not self.background:
            job()
            self._stamp = None
            self._reload()
            return
        self._worker = threading.Thread(target=job, name="map-refresh", daemon=True)
        self._worker.start()

    def _rebuild_job(self) -> None:
        try:
            place_pending(self.store, self.data_dir, wait=False)
        except MapBusy:
            pass  # another process builds it; the next view loads its file
        except Exception:  # noqa: BLE001 - the page keeps saying so; the next view retries
            log.exception("map rebuild failed")

    def _place_job(self) -> None:
        try:
            outcome = place_pending(self.store, self.data_dir, wait=False)
            if outcome.placed:
                log.info("map: placed %d new papers", outcome.placed)
        except MapBusy:
            pass
        except Exception:  # noqa: BLE001
            log.exception("placing new papers on the map failed")


class MapRefresher:
    """The worker's map thread: places papers whose vectors arrived (the backfill writes
    them in the background) every ``interval`` seconds, and rebuilds the whole map once a
    day, so the layout takes in everything placed since."""

    CHECKPOINT = "map.worker.last_build"

    def __init__(self, store: Store, data_dir: Path, *, interval: float = 60.0,
                 today: Callable[[], str] | None = None) -> None:  # fmt: skip
        self.store = store
        self.data_dir = Path(data_dir)
        self.interval = interval
        self.today = today or (lambda: datetime.now(UTC).date().isoformat())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> str:
        """One pass; says what it did."""
        if self.store.count_papers() == 0:
            return "no papers"
        today = self.today()
        if self.store.get_checkpoint(self.CHECKPOINT) != today:
            data = rebuild(self.store, self.data_dir)
            self.store.set_checkpoint(self.CHECKPOINT, today)
            return f"rebuilt: {len(data)} papers"
        outcome = place_pending(self.store, self.data_dir)
        return f"rebuilt ({outcome.rebuilt})" if outcome.rebuilt else f"placed {outcome.placed}"

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # noqa: BLE001 - the worker goes on; retried next interval
                log.exception("map refresh failed")
            self._stop.wait(self.interval)

    def start(self) -> MapRefresher:
        self._thread = threading.Thread(target=self.run, name="map-refresh", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
