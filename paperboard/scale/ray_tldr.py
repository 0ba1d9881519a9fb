"""``paperboard tldr backfill --ray``: TL;DRs computed by Ray tasks, written by the driver.

The summariser runs thousands of papers/s in one process, so this pays only for corpora of
millions; it shares ``summarize.backfill``'s contract: batches in key order, each written in
one transaction (``set_tldrs`` skips a paper whose text changed since it was read), and a
re-run starts with what is still missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from ..summarize.backfill import BackfillResult, pending_batches
from .ray_chunks import TASK_RETRIES, run_chunks


def tldr_chunk(texts: list[tuple[str, str]]) -> list[str]:
    """One Ray task: the TL;DR of each (title, abstract)."""
    from ..summarize.summarizer import tldr

    return [tldr(title, abstract) for title, abstract in texts]


def backfill_on_ray(
    ray,
    store,
    *,
    rebuild: bool = False,
    batch_size: int = 1000,
    on_batch: Callable[[BackfillResult], None] | None = None,
) -> BackfillResult:
    result = BackfillResult()
    start = time.perf_counter()
    task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(tldr_chunk)

    def chunks() -> Iterator[tuple[list, tuple[Any, ...]]]:
        for rows in pending_batches(store, rebuild=rebuild, batch_size=batch_size):
            yield rows, ([(r.title, r.abstract) for r in rows],)

    def write(rows: list, texts: list[str]) -> None:
        result.read += len(rows)
        result.written += store.set_tldrs([(r, text) for r, text in zip(rows, texts, strict=True) if text != r.tldr])
        if on_batch:
            on_batch(result)

    run_chunks(ray, task, chunks(), write)
    result.seconds = time.perf_counter() - start
    result.remaining = store.count_without_tldr()
    return result
