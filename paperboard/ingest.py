"""Run a source into the store: batches in transactions, per-record errors, a summary.

Each batch is one transaction, and the store's upsert is idempotent and order-independent,
so a run killed at any moment and re-run ends with exactly the store an uninterrupted run
gives: committed batches are unchanged by the re-run, the rest are written then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
    errors: list[RecordError] = field(default_factory=list)

    def add(self, result: UpsertResult) -> None:
        self.stored += result.inserted
        self.updated += result.updated
        self.unchanged += result.unchanged

    def line(self) -> str:
        return (
            f"read {self.read:,} · stored {self.stored:,} · updated {self.updated:,}"
            f" · unchanged {self.unchanged:,} · rejected {self.rejected:,}"
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "read": self.read,
            "stored": self.stored,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
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
