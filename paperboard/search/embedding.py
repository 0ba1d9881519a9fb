"""Embed the papers that have no vector yet, in committed batches.

Progress lives in the store itself (a paper either has its vector or not), so an embed run
killed at any moment resumes where it stopped and never embeds a paper twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..store.vectors import VectorStore
from .embedder import Embedder, paper_text
from .similar import TITLE_VIEW, view_name


@dataclass(slots=True)
class EmbedSummary:
    model: str
    embedded: int = 0
    remaining: int = 0


VIEWS = {
    None: lambda t: paper_text(t.title, t.abstract),
    TITLE_VIEW: lambda t: t.title or "",
}
"""What a vector encodes: the whole title + abstract text (the default), or the title alone,
which similar papers compare separately (search/similar.py)."""


def views_of(model: str) -> list[str | None]:
    """The views a model's vectors are kept for: the re-ranking model also embeds titles
    alone (cheap, ~15 words), which similar papers compare; other models the whole text."""
    from .embedder import DEFAULT_RERANKER

    return [None, TITLE_VIEW] if model == DEFAULT_RERANKER else [None]


def embed_missing(
    store: VectorStore,
    embedder: Embedder,
    *,
    batch_size: int = 512,
    limit: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    view: str | None = None,
) -> EmbedSummary:
    """Embed every paper lacking a vector for ``embedder.name`` (and ``view``);
    ``on_batch(done, total)``."""
    name = view_name(embedder.name, view)
    text_of = VIEWS[view]
    total = store.count_without_vectors(name)
    if limit is not None:
        total = min(total, limit)
    summary = EmbedSummary(name)
    after = 0
    while summary.embedded < total:
        tasks = store.papers_without_vectors(name, limit=min(batch_size, total - summary.embedded), after_key=after)
        if not tasks:
            break
        # The store batch is not the model batch: the model picks its own (32 for the
        # transformer), or 512 abstracts padded to 256 tokens hold ~15 GB of activations.
        vectors = embedder.encode([text_of(t) for t in tasks])
        store.put_vectors(name, [t.key for t in tasks], vectors)
        after = tasks[-1].key
        summary.embedded += len(tasks)
        if on_batch:
            on_batch(summary.embedded, total)
    summary.remaining = store.count_without_vectors(name)
    return summary


def embed_papers(store: VectorStore, embedder: Embedder, paper_ids: list[str], *, view: str | None = None) -> int:
    """Embed these papers now (a submitted paper is searchable by meaning at once)."""
    from ..store.base import PaperStore

    keys = store.paper_keys(paper_ids)
    if not keys or not isinstance(store, PaperStore):
        return 0
    papers = store.get_papers(list(keys))
    todo = [(keys[pid], p) for pid, p in papers.items()]
    if not todo:
        return 0
    vectors = embedder.encode([VIEWS[view](p) for _, p in todo])
    store.put_vectors(view_name(embedder.name, view), [k for k, _ in todo], vectors)
    return len(todo)


def default_search_vectors() -> list[tuple[str, str | None]]:
    """Every (model, view) the default search and similar papers use, in the order a
    backfill computes them: the static model first (a whole corpus in a minute, so search by
    meaning works at once), then the transformer's (~25 abstracts/s on 2 cores: the first
    stage's dense retriever once it covers the corpus, see searcher.py), then its title
    vectors (similar papers)."""
    from .embedder import DEFAULT_EMBEDDER, DEFAULT_RERANKER

    return [(DEFAULT_EMBEDDER, None), *((DEFAULT_RERANKER, view) for view in views_of(DEFAULT_RERANKER))]


def vector_counts(store: VectorStore) -> dict[str, int]:
    """How many papers have each kind of vector the default search uses (``stats``)."""
    return {view_name(m, v): store.vector_stats(view_name(m, v))[0] for m, v in default_search_vectors()}


def strong_vectors_wanted(store: VectorStore) -> bool:
    """The installation opted in to the stronger model (``paperboard embed --model
    minilm-l6-int8`` has run): from then on new papers get its vectors too, so re-ranking and
    similar papers keep covering the newest papers."""
    from .embedder import DEFAULT_RERANKER

    return store.vector_stats(DEFAULT_RERANKER)[0] > 0
