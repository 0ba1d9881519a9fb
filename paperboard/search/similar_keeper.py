"""Similar papers computed once per paper and kept current, not scored on every page view.

Scoring a paper's neighbours (``similar.py``) costs tens of milliseconds at 75k papers and
hundreds at 1M (three kinds of vectors and ~100 abstracts tokenised), and gives every visitor
the same answer: the paper page was the slowest page of the site because of it. So the answer
is kept in the store (``store.similar_cache``) and read back in one keyed query.

A kept list goes out of date when what it was computed from changes:
- a newer paper may belong in it: when the worker scores a new paper's neighbours, the lists
  of those neighbours that were computed before the paper existed are marked dirty (a paper
  near them arrived; similarity is close to symmetric). Re-scoring every list on a timer
  instead cost the serving processes a full scoring per page view once the timer ran out (a
  soak at 75k papers ran its CPUs flat);
- it was scored without the stronger model's vectors and the paper has them now (the
  worker embeds new papers a little after they arrive), or a neighbour was hidden since;
- the scoring itself changed (``VERSION``).
A dirty list is still shown (hidden neighbours dropped) and the worker recomputes it
(``refresh_dirty``); a serving process steps in only for a list left dirty longer than
``WORKER_GRACE``, the sign that no worker runs. A missing list is computed on the spot. The
worker fills the lists of the newest papers before anyone asks (``warm``), since those are
the pages a daily-papers site serves most, then every other paper's.
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
WORKER_GRACE = timedelta(minutes=15)
"""How long a dirty list waits for the worker before a serving process recomputes it."""
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
        if kept.dirty_since is None:
            if len(hits) < len(wanted) or self.stale(kept):
                self.store.mark_similar_dirty([key])
        elif datetime.now(UTC) - kept.dirty_since > WORKER_GRACE:
            self.refresh_later(key)
        return hits[:limit]

    def compute(self, key: int) -> list[SearchHit]:
        """Score now and keep the result; the lists of the neighbours computed before this
        paper existed are marked dirty (it may belong in them). The newest key is read first: a
        paper added meanwhile makes the list look older than it is, never newer."""
        started = datetime.now(UTC)
        newest = self.store.newest_paper_key()
        hits = self.searcher.score_similar(key, limit=KEEP)
        signals = sorted({name for h in hits for name in h.parts})
        keys = self.store.paper_keys([h.paper.id for h in hits])
        neighbours = [(keys[h.paper.id], h.score, h.parts) for h in hits if h.paper.id in keys]
        self.store.keep_similar(
            key, f"{VERSION}:{'+'.join(signals)}", newest, neighbours, newest_key=newest, started_at=started
        )
        self.store.mark_similar_dirty([k for k, _, _ in neighbours], older_than_key=key)
        return hits

    def stale(self, kept: KeptSimilar) -> bool:
        """Scored by an older ``VERSION``, or without the stronger model's vectors that the
        paper has now."""
        version, _, signals = kept.signature.partition(":")
        if version != VERSION:
            return True
        if STRONG_SIGNAL not in signals.split("+"):
            from .embedder import DEFAULT_RERANKER

            if self.store.get_vectors(DEFAULT_RERANKER, [kept.paper_key]):
                return True
        return False

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

    def refresh_dirty(self, limit: int) -> int:
        """Recompute up to ``limit`` dirty lists, the longest-waiting first (the worker)."""
        keys = self.store.dirty_similar_keys(limit)
        for key in keys:
            self.compute(key)
        return len(keys)

    def warm(self, keys: Iterable[int], *, limit: int | None = None) -> int:
        """Compute the lists these papers lack (at most ``limit``); how many were computed."""
        missing = self.store.papers_without_kept_similar(list(keys))
        done = 0
        for key in missing[:limit] if limit is not None else missing:
            self.compute(key)
            done += 1
        return done
