"""Run one Ray task per chunk of work and write each result on the driver, in chunk order.

Why a bounded window of tasks in flight (twice the cluster's CPUs) instead of submitting
everything: the driver reads the store lazily, so a 2-million-paper backfill never holds the
whole corpus in the driver's memory or Ray's object store. Why writes on the driver: one
writer suits SQLite, and a task that Ray retries after its worker died still reaches the store
once (its result is written when the retry returns; a lost attempt returns nothing). Why in
chunk order: what a killed driver leaves written is a prefix of the chunks, so its re-run
lists the very chunks an uninterrupted run would have; the transformer's vector of a paper
varies slightly (cosine ~0.996) with the other papers in its batch (int8 activations are
quantised per batch), so the same chunks mean the same vectors.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

C = TypeVar("C")
R = TypeVar("R")

TASK_RETRIES = 3
"""Times Ray runs a task again when its worker process or node dies mid-task."""


class ChunkFailed(RuntimeError):
    """A chunk's task raised, or its worker died more than ``TASK_RETRIES`` times."""


def tasks_in_flight(ray) -> int:
    """Enough queued work to keep every CPU busy while the driver writes a result."""
    return max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))


def run_chunks(
    ray,
    task,
    chunks: Iterable[tuple[C, tuple[Any, ...]]],
    write: Callable[[C, R], None],
    *,
    in_flight: int | None = None,
) -> None:
    """For each ``(context, args)`` of ``chunks``: ``task.remote(*args)`` on the cluster, then
    ``write(context, result)`` here, in the order of ``chunks``. The context (store keys, rows
    read) stays on the driver; only ``args`` travel."""
    window = in_flight or tasks_in_flight(ray)
    pending: deque[tuple[Any, C]] = deque()
    source = iter(chunks)
    try:
        while True:
            while len(pending) < window and (item := next(source, None)) is not None:
                context, args = item
                pending.append((task.remote(*args), context))
            if not pending:
                return
            ref, context = pending.popleft()
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as exc:
                raise ChunkFailed(f"a Ray task failed (after {TASK_RETRIES} retries if its worker died): {exc}") from exc
            write(context, result)
    finally:
        for ref, _ in pending:
            ray.cancel(ref, force=True)
