"""``paperboard embed --ray``: the missing vectors of one (model, view), computed by Ray tasks.

The same contract as ``search.embedding.embed_missing`` (which this replaces only when a
cluster is given): papers lacking the vector are listed by key, embedded, and written in
committed batches, so a killed driver's re-run lists only what is still missing. The texts are
made on the driver (``embedding.VIEWS``), so a node embeds exactly what one process would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..search.embedder import ONNX_MODEL, Embedder
from ..search.embedding import VIEWS, EmbedSummary
from ..search.similar import view_name
from ..store.vectors import VectorStore
from .ray_chunks import TASK_RETRIES, run_chunks

BATCH = 512
"""Papers per task and per committed write: the local path's batch (``embed_missing``), so a
task encodes the very papers one process would encode together, and its vectors are that
process's (see ray_chunks). About 35 s of the stronger model on one CPU: a killed worker or
driver loses little, and per-task overhead (milliseconds) stays negligible."""

_models: dict[str, Embedder] = {}


def _task_embedder(model: str) -> Embedder:
    """The model, loaded once per worker process. The transformer gets as many threads as the
    task was given CPUs: onnxruntime would otherwise start one per core of the host, and
    several workers per host would fight over the same cores."""
    if model not in _models:
        from ..search.embedder import MODELS_DIR, OnnxEmbedder, load_embedder

        if model == ONNX_MODEL:
            import ray

            cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
            _models[model] = OnnxEmbedder(MODELS_DIR / model, model, threads=max(1, int(cpus)))
        else:
            _models[model] = load_embedder(model)
    return _models[model]


def embed_chunk(model: str, texts: list[str]) -> np.ndarray:
    """One Ray task: the vectors of ``texts``, one row each."""
    return _task_embedder(model).encode(texts)


def embed_missing_on_ray(
    ray,
    store: VectorStore,
    model: str,
    *,
    view: str | None = None,
    batch_size: int = BATCH,
    on_batch: Callable[[int, int], None] | None = None,
) -> EmbedSummary:
    """Embed every paper lacking a vector for ``model`` (and ``view``) on the cluster;
    ``on_batch(done, total)`` after each committed write."""
    label = view_name(model, view)
    text_of = VIEWS[view]
    total = store.count_without_vectors(label)
    summary = EmbedSummary(label)
    task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(embed_chunk)

    def chunks() -> Iterator[tuple[tuple[list[int], list[str]], tuple[Any, ...]]]:
        after = 0
        while True:
            papers = store.papers_without_vectors(label, limit=batch_size, after_key=after)
            if not papers:
                return
            after = papers[-1].key
            texts = [text_of(p) for p in papers]
            yield ([p.key for p in papers], texts), (model, texts)

    def write(chunk: tuple[list[int], list[str]], vectors: np.ndarray) -> None:
        keys, texts = chunk
        # A chunk is in flight for up to a minute on a big cluster: a paper whose title or
        # abstract changed meanwhile lost its vector (the store drops it with the old text) and
        # must not get one of the old text back; it stays missing for the next run.
        now = store.papers_by_keys(keys)
        keep = [i for i, key in enumerate(keys) if key not in now or text_of(now[key]) == texts[i]]
        if keep:
            store.put_vectors(label, [keys[i] for i in keep], vectors[keep])
        summary.embedded += len(keep)
        if on_batch:
            on_batch(summary.embedded, total)

    run_chunks(ray, task, chunks(), write)
    summary.remaining = store.count_without_vectors(label)
    return summary
