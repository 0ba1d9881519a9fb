"""Load a serving process's search indexes when it starts, not at its first search.

Why: every index loads lazily, at the first search that reads it. At 1M papers that is the
vector graph (~8.6 s from its file), the keyword index and the filter columns (~1.6 s), so the
first visitor to search after a restart waited ~10 s, once in each worker process. A server
process starts loading them in a background thread at once; requests meanwhile are answered as
before (the database ranks while an index is not ready, and /readyz says which are loaded).
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


def warm_indexes(searcher) -> None:
    """Load the model, the vector index, the keyword index and its filter columns."""
    from .keyword_index import KeywordIndexUnavailable, shared_keyword_index

    try:
        index = searcher.index()  # the model first, then its index
        if index is not None:
            index.refresh()
        keywords = shared_keyword_index(searcher.store, searcher.index_dir)
        if keywords is not None:
            try:
                keywords.load()
            except KeywordIndexUnavailable as exc:  # small corpus, or another process builds it
                log.info("keyword index not loaded at start: %s", exc)
    except Exception:  # never fatal: the first search loads what is missing, as before
        log.exception("loading the search indexes at start failed")


def start_warming(searcher) -> threading.Thread:
    thread = threading.Thread(target=warm_indexes, args=(searcher,), name="warm-indexes", daemon=True)
    thread.start()
    return thread
