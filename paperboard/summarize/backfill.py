"""Give stored papers their TL;DR: those stored before TL;DRs existed, or all of them after
the model was retrained (``rebuild``).

Batch by batch in key order, each batch one transaction: a run killed at any moment leaves
every committed batch filled, and the next run starts with what is still missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .summarizer import tldr


@dataclass(slots=True)
class BackfillResult:
    read: int = 0
    written: int = 0
    remaining: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "read": self.read,
            "written": self.written,
            "remaining": self.remaining,
            "seconds": round(self.seconds, 3),
            "papers_per_s": round(self.read / self.seconds) if self.seconds > 0 else None,
        }


def pending_batches(store, *, rebuild: bool, batch_size: int) -> Iterator[list]:
    """The papers to (re)summarise, ``batch_size`` at a time in key order (one process, or
    the chunks that Ray tasks summarise: scale/ray_tldr.py)."""
    after = 0
    while rows := store.papers_for_tldr(after_key=after, limit=batch_size, missing_only=not rebuild):
        after = rows[-1].key
        yield rows


def backfill(
    store,
    *,
    rebuild: bool = False,
    batch_size: int = 1000,
    on_batch: Callable[[BackfillResult], None] | None = None,
) -> BackfillResult:
    result = BackfillResult()
    start = time.perf_counter()
    for tasks in pending_batches(store, rebuild=rebuild, batch_size=batch_size):
        result.read += len(tasks)
        changed = [(t, text) for t in tasks if (text := tldr(t.title, t.abstract)) != t.tldr]
        result.written += store.set_tldrs(changed)
        if on_batch:
            on_batch(result)
    result.seconds = time.perf_counter() - start
    result.remaining = store.count_without_tldr()
    return result
