"""Give stored papers their TL;DR: those stored before TL;DRs existed, or all of them after
the model was retrained (``rebuild``).

Batch by batch in key order, each batch one transaction: a run killed at any moment leaves
every committed batch filled, and the next run starts with what is still missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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


def backfill(
    store,
    *,
    rebuild: bool = False,
    batch_size: int = 1000,
    on_batch: Callable[[BackfillResult], None] | None = None,
) -> BackfillResult:
    result = BackfillResult()
    start = time.perf_counter()
    after = 0
    while True:
        tasks = store.papers_for_tldr(after_key=after, limit=batch_size, missing_only=not rebuild)
        if not tasks:
            break
        result.read += len(tasks)
        changed = [(t, text) for t in tasks if (text := tldr(t.title, t.abstract)) != t.tldr]
        result.written += store.set_tldrs(changed)
        after = tasks[-1].key
        if on_batch:
            on_batch(result)
    result.seconds = time.perf_counter() - start
    result.remaining = store.count_without_tldr()
    return result
