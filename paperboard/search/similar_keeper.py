"""Similar papers computed once per paper and kept current, not scored on every page view.

Scoring a paper's neighbours (``similar.py``) costs tens of milliseconds at 75k papers and
hundreds at 1M (three kinds of vectors and ~100 abstracts tokenised), and gives every visitor
the same answer: the paper page was the slowest page of the site because of it. So the answer
is kept in the store (``store.similar_cache``) and read back in one keyed query.

A kept list goes stale when what it was computed from changes:
- the corpus grew or lost papers (the change feed moved) and the list is older than
  ``REFRESH_AFTER``: a day's new papers may hold better neighbours, but recomputing every
  page on every ingest batch would bring the cost back;
- it was scored without the stronger model's vectors and the paper has them now (the
  worker embeds new papers a little after they arrive);
- the scoring itself changed (``VERSION``).
A stale list is still shown, and recomputed in the background of the serving process, so no
visitor waits; a missing one is computed on the spot. Neighbours hidden since are dropped at
read time and trigger a recompute. The worker fills the lists of the newest papers before
anyone asks (``warm``), since those are the pages a daily-papers site serves most.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..store.base import SearchHit
from ..store.similar_cache import KeptSimilar

if TYPE_CHECKING:
    from .searcher import Searcher

log = logging.getLogger(__name__)

VERSION = "1"
"""Bump when the scoring in ``similar.py`` changes: every kept list is then recomputed."""
KEEP = 12
"""Neighbours kept per paper: the page shows 6, the CLI 10 by default; a longer list is
scored on request and not kept."""
REFRESH_AFTER = timedelta(hours=6)
STRONG_SIGNAL = "minilm"


class SimilarKeeper:
    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self._pending: set[int] = set()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._futures: list[Future] = []

    @property
    def store(self):
        return self.searcher.store

    def similar(self, paper_id: str, *, limit: int) -> list[SearchHit]:
        key = self.store.paper_keys([paper_id]).get(paper_id)
        if key is None:
            return []
        if limit > KEEP:
            return self.searcher.score_similar(key, limit=limit)
        kept = self.store.kept_similar(key)
        if kept is None:
            return self.compute(key)[:limit]
        wanted = [k for k, _, _ in kept.neighbours]
        papers = self.store.papers_by_keys([key, *wanted])
        if key not in papers:
            return []  # the paper itself is hidden
        hits = [SearchHit(papers[k], score, parts) for k, score, parts in kept.neighbours if k in papers]
        if len(hits) < len(wanted) or self.stale(kept):
            self.refresh_later(key)
        return hits[:limit]

    def compute(self, key: int) -> list[SearchHit]:
        """Score now and keep the result (the head is read first: a change meanwhile makes
        the kept list look older than it is, never newer)."""
        head = self.store.text_change_stats()[0]
        hits = self.searcher.score_similar(key, limit=KEEP)
        signals = sorted({name for h in hits for name in h.parts})
        keys = self.store.paper_keys([h.paper.id for h in hits])
        neighbours = [(keys[h.paper.id], h.score, h.parts) for h in hits if h.paper.id in keys]
        self.store.keep_similar(key, f"{VERSION}:{'+'.join(signals)}", head, neighbours)
        return hits

    def stale(self, kept: KeptSimilar, *, now: datetime | None = None) -> bool:
        version, _, signals = kept.signature.partition(":")
        if version != VERSION:
            return True
        if STRONG_SIGNAL not in signals.split("+"):
            from .embedder import DEFAULT_RERANKER

            if self.store.get_vectors(DEFAULT_RERANKER, [kept.paper_key]):
                return True
        age = (now or datetime.now(UTC)) - kept.computed_at
        return age > REFRESH_AFTER and str(self.store.text_change_stats()[0]) != kept.head

    def refresh_later(self, key: int) -> None:
        """Recompute in this process's background thread, once however many views ask."""
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="similar-refresh")
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(self._executor.submit(self._refresh, key))

    def _refresh(self, key: int) -> None:
        try:
            self.compute(key)
        except Exception:  # noqa: BLE001 - the kept list stays; the next view asks again
            log.exception("could not recompute the similar papers of paper key %s", key)
        finally:
            with self._lock:
                self._pending.discard(key)

    def wait(self, timeout: float | None = None) -> None:
        """Until the background recomputes asked for so far are done (tests, shutdown)."""
        with self._lock:
            futures = list(self._futures)
        for f in futures:
            f.result(timeout=timeout)

    def warm(self, keys: Iterable[int], *, limit: int | None = None) -> int:
        """Compute the lists these papers lack (at most ``limit``); how many were computed."""
        missing = self.store.papers_without_kept_similar(list(keys))
        done = 0
        for key in missing[:limit] if limit is not None else missing:
            self.compute(key)
            done += 1
        return done
