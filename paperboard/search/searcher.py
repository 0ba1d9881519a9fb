"""The one entry point every interface (CLI, web, API, digest) uses to search.

Today it runs the store's BM25 keyword search; the semantic stages plug in behind the same
``search()`` call, so callers never change when the ranking does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..ids import InvalidId, parse_arxiv_id
from ..store.base import PaperQuery, SearchHit, Store
from .query import ParsedQuery, parse_query

Mode = Literal["hybrid", "bm25", "dense"]


@dataclass(slots=True)
class SearchResponse:
    query: ParsedQuery
    hits: list[SearchHit] = field(default_factory=list)
    mode: str = "bm25"
    jumped_to_id: str | None = None
    """Set when the query was an arXiv id or URL and named a paper we have."""


class Searcher:
    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def for_settings(cls, store: Store, settings: object | None = None) -> Searcher:
        """The searcher configured for this installation (the CLI and web call this)."""
        return cls(store)

    def search(
        self,
        text: str,
        *,
        filters: PaperQuery | None = None,
        limit: int = 20,
        offset: int = 0,
        mode: Mode = "hybrid",
    ) -> SearchResponse:
        """Raises ``QueryError`` (too long) or ``QuerySyntaxError`` (nothing to search for)."""
        parsed = parse_query(text)
        jumped = self._jump_to_id(parsed.text)
        if jumped is not None:
            return SearchResponse(parsed, [SearchHit(jumped, 1.0, {"id": 1.0})], "id", jumped.id)
        hits = self.store.keyword_search(parsed, filters, limit=limit, offset=offset, match="all")
        if len(hits) < limit and offset == 0 and len(parsed.positive) > 1:
            # A vague multi-word question rarely matches every word: widen to any word.
            seen = {h.paper.id for h in hits}
            extra = self.store.keyword_search(parsed, filters, limit=limit, match="any")
            hits += [h for h in extra if h.paper.id not in seen][: limit - len(hits)]
        return SearchResponse(parsed, hits, "bm25")

    def similar(self, paper_id: str, *, limit: int = 10) -> list[SearchHit]:
        """Nearest papers by meaning; empty until the vector index exists."""
        return []

    def _jump_to_id(self, text: str):
        if not text or " " in text.strip():
            return None
        try:
            aid = parse_arxiv_id(text)
        except InvalidId:
            return None
        return self.store.get_paper(aid.id)
