"""Run a source into the store: batches in transactions, per-record errors, a summary.

Each batch is one transaction, and the store's upsert is idempotent and order-independent,
so a run killed at any moment and re-run ends with exactly the store an uninterrupted run
gives: committed batches are unchanged by the re-run, the rest are written then.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from .models import Paper, RecordError
from .store.base import Store, UpsertResult

MAX_ERRORS_KEPT = 1_000


@dataclass(slots=True)
class IngestSummary:
    read: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped_files: int = 0
    errors: list[RecordError] = field(default_factory=list)

    def add(self, result: UpsertResult) -> None:
        self.stored += result.inserted
        self.updated += result.updated
        self.unchanged += result.unchanged

    def line(self) -> str:
        line = (
            f"read {self.read:,} · stored {self.stored:,} · updated {self.updated:,}"
            f" · unchanged {self.unchanged:,} · rejected {self.rejected:,}"
        )
        if self.skipped_files:
            line += f" · skipped {self.skipped_files:,} files already ingested"
        return line

    def to_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "stored": self.stored,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "skipped_files": self.skipped_files,
        }


def ingest(
    store: Store,
    items: Iterable[Paper | RecordError],
    *,
    batch_size: int = 1000,
    on_error: Callable[[RecordError], None] | None = None,
    on_batch: Callable[[IngestSummary], None] | None = None,
    summary: IngestSummary | None = None,
) -> IngestSummary:
    summary = summary or IngestSummary()
    batch: list[Paper] = []

    def flush() -> None:
        if batch:
            summary.add(store.upsert_papers(batch))
            batch.clear()
            if on_batch:
                on_batch(summary)

    for item in items:
        summary.read += 1
        if isinstance(item, RecordError):
            summary.rejected += 1
            if len(summary.errors) < MAX_ERRORS_KEPT:
                summary.errors.append(item)
            if on_error:
                on_error(item)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    flush()
    return summary


@dataclass(frozen=True, slots=True)
class FileUnit:
    """One input file of a source. ``read`` must be picklable (a module-level function or a
    ``functools.partial`` of one) so a worker process can parse it ahead of the writer."""

    source: str
    path: Path
    read: Callable[[], Iterable[Paper | RecordError]]

    @property
    def checkpoint_key(self) -> str:
        return f"file:{self.source}:{self.path.resolve()}"


def fingerprint(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return f"sha1:{digest.hexdigest()}"


def ingest_files(
    store: Store,
    units: list[FileUnit],
    *,
    force: bool = False,
    read_ahead: bool = True,
    batch_size: int = 1000,
    on_error: Callable[[RecordError], None] | None = None,
    on_batch: Callable[[IngestSummary], None] | None = None,
    summary: IngestSummary | None = None,
) -> IngestSummary:
    """Ingest files, skipping those whose content was already fully ingested.

    A file's fingerprint is checkpointed only after its last batch commits, so a crash
    mid-file means that file is read again (harmless: upserts are idempotent). While the
    writer stores one file, a worker process parses the next ones: on two cores, parsing and
    validation overlap with SQLite's work instead of adding to it.
    """
    summary = summary or IngestSummary()
    todo: list[tuple[FileUnit, str]] = []
    for unit in units:
        fp = fingerprint(unit.path)
        if not force and store.get_checkpoint(unit.checkpoint_key) == fp:
            summary.skipped_files += 1
            continue
        todo.append((unit, fp))
    for (unit, fp), items in _parsed(todo, read_ahead and len(todo) > 1):
        ingest(store, items, batch_size=batch_size, on_error=on_error, on_batch=on_batch, summary=summary)
        store.set_checkpoint(unit.checkpoint_key, fp)
    return summary


def _materialize(read: Callable[[], Iterable[Paper | RecordError]]) -> list[Paper | RecordError]:
    return list(read())


def _exit_with_parent(parent_pid: int) -> None:
    """Pool initializer: a parse worker whose ingest was killed (kill -9) exits too, instead
    of lingering as an orphan."""
    import os
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _parsed(
    todo: list[tuple[FileUnit, str]], parallel: bool, ahead: int = 3
) -> Iterator[tuple[tuple[FileUnit, str], Iterable[Paper | RecordError]]]:
    if not parallel:
        for item in todo:
            yield item, item[0].read()
        return
    import os

    with ProcessPoolExecutor(
        max_workers=1, mp_context=get_context("spawn"), initializer=_exit_with_parent, initargs=(os.getpid(),)
    ) as pool:
        pending: deque[tuple[tuple[FileUnit, str], Future]] = deque()
        queue = iter(todo)
        for item in queue:
            pending.append((item, pool.submit(_materialize, item[0].read)))
            if len(pending) >= ahead:
                break
        while pending:
            item, future = pending.popleft()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_materialize, nxt[0].read)))
            yield item, future.result()


LAST_HARVEST = "scheduled-ingest:last-day"


def run_scheduled_ingest(settings, store: Store, *, today=None) -> IngestSummary:
    """The worker's daily step: harvest arXiv's OAI-PMH since the last harvested day, then
    embed the new papers (with the stronger model too once it is in use). Offline, it raises
    ``SourceError`` and changes nothing."""
    from datetime import UTC, date, datetime, timedelta

    from .search.embedder import DEFAULT_RERANKER, load_embedder
    from .search.embedding import embed_missing, strong_vectors_wanted, views_of
    from .sources.oai_pmh import OaiHarvester

    today = today or datetime.now(UTC).date()
    last = store.get_checkpoint(LAST_HARVEST)
    since = date.fromisoformat(last) if last else today - timedelta(days=1)
    harvester = OaiHarvester(
        settings, store, prefix="arXivRaw", from_=since, until=today, set_=settings.oai_set or None
    )
    summary = IngestSummary()
    for page in harvester.pages():
        ingest(store, page.items, batch_size=settings.ingest_batch_size, summary=summary)
        page.commit()
    store.set_checkpoint(LAST_HARVEST, today.isoformat())
    if summary.stored or summary.updated:
        embed_missing(store, load_embedder())
        if strong_vectors_wanted(store):  # as `paperboard ingest` does (commands/ingest.py)
            strong = load_embedder(DEFAULT_RERANKER)
            for view in views_of(strong.name):
                embed_missing(store, strong, view=view)
    return summary
