"""The worker's background backfill of the vectors the default search uses.

Why a thread in the worker: the stronger model embeds ~25 abstracts/s on 2 cores, so a
corpus ingested in bulk (75k papers: about 50 minutes; all of arXiv: a day) cannot wait for
it, and the daily digests must not either. The thread embeds small committed batches (the
store is the progress record, so a killed worker resumes where it stopped), yields between
them, and saves each model's index when that model is complete, so serving processes load a
finished graph instead of building one. Search uses the static vectors until the stronger
ones cover the corpus (searcher.py).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .embedding import default_search_vectors, embed_missing

log = logging.getLogger(__name__)

BATCH = 256
"""Papers per committed step: ~10 s of the stronger model, so a stop is never far away."""
WARM_DAYS = 2
WARM_PAPERS = 3000
"""The newest days whose papers get their similar papers scored first (then the rest)."""
WARM_TERMS = 150_000
"""Papers whose tokenised text the worker keeps while it scores every paper's similar list
(~100 MB): each paper is a candidate of ~100 others, so a pass over the corpus tokenises
most abstracts once (similar.TermVectors)."""


class VectorBackfill:
    def __init__(self, store, index_dir: Path | None, *, idle_seconds: float = 60.0, batch: int = BATCH) -> None:
        self.store = store
        self.index_dir = index_dir
        self.idle_seconds = idle_seconds
        self.batch = batch
        self.embedded = 0
        self.warmed = 0
        self._searcher = None
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> int:
        """Embed one batch of the first kind that is missing vectors; 0 when nothing is."""
        from .embedder import load_embedder

        for model, view in default_search_vectors():
            embedder = load_embedder(model)
            done = embed_missing(self.store, embedder, view=view, limit=self.batch)
            if done.embedded:
                self.embedded += done.embedded
                if done.remaining == 0 and view is None:
                    self._save_index(model)
                return done.embedded
        return self.warm_similar()

    def warm_similar(self) -> int:
        """Once every vector is there: score the similar papers of the papers that have none
        kept, and rescore the kept lists marked dirty, a batch per step; 0 when none is left.
        The newest days come first (the pages most visited; scoring them marks the lists
        their papers now belong in dirty), then the dirty lists, then the rest of the corpus
        newest first, so that opening an old paper reads a kept list instead of scoring ~100
        candidates while its visitor waits (a first visit at 75k took ~0.2 s, p99 1.8 s)."""
        from ..store.base import PaperQuery
        from .searcher import Searcher

        days = self.store.feed_days(limit=WARM_DAYS)
        if not days:
            return 0
        if self._searcher is None:
            self._searcher = Searcher(self.store, index_dir=self.index_dir)
            self._searcher.similar_terms.max_papers = WARM_TERMS
        keeper = self._searcher.similar_keeper
        papers = self.store.list_papers(PaperQuery(start=min(days), end=max(days), limit=WARM_PAPERS))
        done = keeper.warm(self.store.paper_keys([p.id for p in papers]).values(), limit=self.batch)
        if done == 0:
            done = keeper.refresh_dirty(self.batch)
        if done == 0:
            done = keeper.warm(self.store.unkept_similar_keys(self.batch))
        self.warmed += done
        return done

    def _save_index(self, model: str) -> None:
        from .searcher import shared_index

        try:
            index = shared_index(self.store, model, self.index_dir)
            index.refresh(force=True)
            index.save()
        except Exception:  # noqa: BLE001 - serving processes build it themselves if need be
            log.exception("could not save the %s index after the backfill", model)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                n = self.step()
            except Exception:  # noqa: BLE001 - a bad batch must not end the worker; retried later
                log.exception("vector backfill failed; retrying in %.0f s", self.idle_seconds)
                n = 0
            if n == 0:
                self._idle.set()
                self._stop.wait(self.idle_seconds)
            else:
                self._idle.clear()

    def start(self) -> VectorBackfill:
        self._thread = threading.Thread(target=self.run, name="vector-backfill", daemon=True)
        self._thread.start()
        return self

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once a pass found nothing left to embed (tests, and a clean shutdown)."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
