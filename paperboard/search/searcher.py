"""The one entry point every interface (CLI, web, API, digest) uses to search.

Stages, each switchable so the benchmark can show what it adds:
1. keyword: BM25 over title/abstract/authors, all words first, widened to any word when that
   finds too little. The database ranks (FTS5 or tsvector), or on a large corpus a Tantivy
   index kept next to the database (keyword_index.py), which holds the filter fields too;
   the database answers what the index cannot (hidden papers, an index behind or missing);
2. dense: the query embedded, nearest papers from the vector index. The transformer once its
   vectors cover the corpus (a described paper is found by its meaning far more often:
   bench/search_quality.py's known-item table), the static model until then;
3. fusion: z-score fusion of the two candidate lists (reciprocal rank fusion on request);
4. re-ranking, only while the static model retrieves: where the transformer has stored
   vectors, the top 50 by BM25 fused with its cosine.
Filters (dates, category, organization, author), exclusions and field terms constrain every
stage. With the Tantivy index, it tells the dense stage which papers pass: a filter that
leaves few papers is searched exactly among their vectors, a broader one by the graph with
more candidates, of which those that pass are kept (``_dense_filtered``). An arXiv id or URL as the query jumps straight to that paper. ``similar`` serves a
paper page's similar papers (similar.py).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

from ..ids import InvalidId, parse_arxiv_id
from ..models import Paper
from ..store.base import PaperQuery, SearchHit, Store
from .fusion import rrf, score_fusion
from .keyword_index import KeywordIndexUnavailable, shared_keyword_index
from .query import MAX_TERMS, ParsedQuery, Term, parse_query, words_of
from .timing import timed

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense"]
CANDIDATES = 100
"""How many papers each stage proposes to the fusion."""
FUSION = "zscore"
DENSE_WEIGHT = 0.5
"""The static model's weight against BM25's (1) in the fusion."""
STRONG_DENSE_WEIGHT = 3.0
"""The stronger model's weight against BM25's (1) when it is the dense retriever."""
STRONG_COVERAGE = 0.95
"""The stronger model becomes the dense retriever once this share of papers has its vectors
(``paperboard embed``, the worker's backfill); until then the static model serves."""
COVERAGE_TTL = 60.0
"""Seconds a process trusts its last coverage count (a COUNT over the vectors)."""
RRF_K = 60
FILTER_EXACT_MAX = 5_000
"""A filter that leaves at most this many papers is searched exactly among their vectors (their
keys from the keyword index, their fp16 codes read in place); a broader one by the graph."""
FILTER_SCAN_MAX = 50_000
"""A filter of days or categories that leaves at most this many papers is searched exactly by
a scan of the vector storage restricted to them (``search_mask``): at 1M papers ~5-7 ms for a
week's 16-20k papers, ~0.17 us a passing paper beyond (a 400-500k category: 87 ms); above it,
the graph (bench/search_speed.py)."""
FILTER_MASK_FETCH = (3.0, 1_600)
"""(x the candidates expected to pass, at most) the graph proposes for a broad day or category
filter, checked on the filter columns for free. Measured at 1M papers on 30 queries with a
150-500k category: 1.2x/800 recall@10 0.71 (dense 3 ms), 3x/1,600 0.78 (6 ms), 3x/3,000 0.82
(up to 32 ms); the graph's own unfiltered recall@10 there is 0.80."""
EXCLUDED_WANT_MAX = 6_400
"""With exclusions (``-word``) and a day or category filter, the dense stage takes the nearest
passing papers 2k, 8k... at a time until k of them are free of the excluded words (this many at most)."""
FILTER_FETCH_MAX = 800
"""The most candidates the graph proposes for a broad filter (expected to pass: this x the
filter's share of the corpus); more costs more than the filter saves (bench/search_speed.py)."""
RERANK_TOP = 50
RERANK_WEIGHTS = (1.0, 3.0)
"""(BM25, MiniLM) in the re-ranking fusion: the best global setting on both judged sets."""
MAX_CHARS = 1_000
"""A pasted sentence of an abstract is a fair query; the HTTP API keeps HF's 250 limit."""


@dataclass(slots=True)
class SearchResponse:
    query: ParsedQuery
    hits: list[SearchHit] = field(default_factory=list)
    mode: str = "bm25"
    jumped_to_id: str | None = None
    """Set when the query was an arXiv id or URL and named a paper we have."""


_indexes: dict[tuple[str, str], object] = {}
_indexes_lock = threading.Lock()
_dense_models: dict[str, tuple[float, str]] = {}
_recounting: set[str] = set()


def dense_model(store: Store) -> str:
    """The model whose vectors the dense stage retrieves with: the stronger one once its
    vectors cover the corpus, else the static one. Counting takes 0.1 s at 1M papers, so
    only the first answer waits for it; after COVERAGE_TTL a thread recounts while the
    known answer serves."""
    cached = _dense_models.get(store.url)
    if cached is None:
        return _count_dense_model(store)
    if time.monotonic() - cached[0] >= COVERAGE_TTL:
        with _indexes_lock:
            start = store.url not in _recounting
            _recounting.add(store.url)
        if start:
            threading.Thread(target=_recount, args=(store,), name="dense-model-coverage", daemon=True).start()
    return cached[1]


def _count_dense_model(store: Store) -> str:
    from .embedder import DEFAULT_EMBEDDER, DEFAULT_RERANKER

    now = time.monotonic()
    papers = store.count_papers()
    strong = store.vector_stats(DEFAULT_RERANKER)[0]
    model = DEFAULT_RERANKER if papers and strong >= STRONG_COVERAGE * papers else DEFAULT_EMBEDDER
    _dense_models[store.url] = (now, model)
    return model


def _recount(store: Store) -> None:
    try:
        _count_dense_model(store)
    except Exception as exc:  # the store closed or failed: the next search asks again
        log.debug("coverage recount failed: %s", exc)
    finally:
        with _indexes_lock:
            _recounting.discard(store.url)


class DatabaseIndex:
    """The vector index of a database that has its own (PostgreSQL + pgvector HNSW): both
    search stages then run inside the database, and every worker shares one index."""

    in_process = False
    """The vectors are not in this process: no scan of a bitmap of them (``_dense_masked``)."""

    def __init__(self, store: Store, model: str) -> None:
        self.store, self.model = store, model

    def __len__(self) -> int:
        return self.store.vector_stats(self.model)[0]

    def refresh(self, *, force: bool = False) -> None:
        """Nothing to catch up: the database maintains its index on every write."""

    def save(self) -> None:
        """Nothing to save: the index lives in the database."""

    def search(self, query, k: int) -> list[tuple[int, float]]:
        from .index import HNSW_EF_SEARCH

        found = self.store.nearest_vectors(self.model, query, k, ef_search=max(HNSW_EF_SEARCH, 2 * k))
        return [(key, 1.0 - distance) for key, distance in found]

    def search_among(self, query, k: int, keys) -> list[tuple[int, float]]:
        """Exact top-k (key, cosine) among these papers' stored vectors, best first."""
        vectors = self.store.get_vectors(self.model, keys)
        return sorted(((key, float(v @ query)) for key, v in vectors.items()), key=lambda t: -t[1])[:k]


def shared_index(store: Store, model: str, index_dir: Path | None):
    """One vector index per (database, model) per process: building one costs seconds."""
    from .index import VectorIndex

    if hasattr(store, "nearest_vectors"):
        return DatabaseIndex(store, model)
    key = (store.url, model)
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = VectorIndex(store, model, index_dir)
        index.store = store  # same database, maybe a newer store object: keep what is built
        return index


SIMILAR_TERMS_SERVING = 5_000
"""Papers whose tokenised text a serving process keeps for scoring similar papers (~4 MB)."""


class Searcher:
    def __init__(
        self, store: Store, *, index_dir: Path | None = None, model: str | None = None, rerank: bool = False
    ) -> None:
        self.store = store
        self.index_dir = index_dir
        self._model_name = model
        self._embedder = None
        self._embedder_failed = False
        self.rerank_enabled = rerank

    @classmethod
    def for_settings(cls, store: Store, settings: object | None = None) -> Searcher:
        """The searcher configured for this installation (the CLI and web call this)."""
        data_dir = getattr(settings, "data_dir", None)
        return cls(
            store,
            index_dir=Path(data_dir) / "index" if data_dir else None,
            rerank=bool(getattr(settings, "search_rerank", False)),
        )

    # -- the pieces --------------------------------------------------------------------
    @property
    def embedder(self):
        """The corpus model, or None when its files are missing (keyword search still works)."""
        if self._embedder is None and not self._embedder_failed:
            from .embedder import ModelFilesMissing, load_embedder

            try:
                self._embedder = load_embedder(self._model_name or dense_model(self.store))
            except (ModelFilesMissing, ImportError, OSError) as exc:
                log.warning("semantic search unavailable: %s", exc)
                self._embedder_failed = True
        return self._embedder

    def _follow_coverage(self) -> None:
        """A serving process moves to the stronger model once the worker's backfill covers
        the corpus, without a restart (the entry points call this, so that one search never
        mixes the two models' vectors)."""
        if self._model_name is None and self._embedder is not None and self._embedder.name != dense_model(self.store):
            self._embedder = None

    def index(self):
        emb = self.embedder
        return shared_index(self.store, emb.name, self.index_dir) if emb is not None else None

    def keyword(self, parsed: ParsedQuery, filters: PaperQuery | None, k: int) -> list[SearchHit]:
        index = shared_keyword_index(self.store, self.index_dir)
        if index is not None and parsed.positive:
            try:
                return self._keyword_from_index(index, parsed, k, filters)
            except KeywordIndexUnavailable:
                pass  # the database answers the same query, only slower
        hits = self.store.keyword_search(parsed, filters, limit=k, match="all")
        if len(hits) < k and len(parsed.positive) > 1:
            # A vague multi-word question rarely has every word in one paper: widen to any.
            seen = {h.paper.id for h in hits}
            extra = self.store.keyword_search(parsed, filters, limit=k, match="any")
            hits += [h for h in extra if h.paper.id not in seen][: k - len(hits)]
        return hits

    def _keyword_from_index(self, index, parsed: ParsedQuery, k: int, filters: PaperQuery | None = None) -> list[SearchHit]:
        found = self._keyword_keys(index, parsed, k, filters)
        papers = self.store.papers_by_keys([key for key, _ in found])
        return [
            SearchHit(papers[key], s, {"bm25": s})
            for key, s in found if key in papers and _passes_filters(papers[key], parsed, filters)
        ]  # fmt: skip

    def _keyword_keys(
        self, index, parsed: ParsedQuery, k: int, filters: PaperQuery | None = None
    ) -> list[tuple[int, float]]:
        cats = parsed.categories
        found = index.search(parsed, limit=k, match="all", filters=filters, categories=cats)
        if len(found) < k and len(parsed.positive) > 1:
            # A described paper rarely has every word of the description: widen to any word,
            # every word of it. Tantivy's top-k union skips what cannot enter the top k, so
            # common words cost little, and each keeps its BM25 weight (measured on
            # paraphrased questions over 75k papers: R@50 0.60 with the rarest words only,
            # 0.97 with all of them; bench/search_quality.py).
            seen = {key for key, _ in found}
            widened = index.search(parsed, limit=k, match="any", filters=filters, categories=cats)
            widened = [(key, s) for key, s in widened if key not in seen]
            if found and widened:
                # Papers with every word stay a tier above, as in the keyword ranking alone: the
                # fusion reads scores, so lift theirs above the widened ones (the first
                # sentence of a demo abstract finds its paper in the top 3 in 71/71 cases, 56/71 without).
                lift = max(s for _, s in widened)
                found = [(key, s + lift) for key, s in found]
            found += widened[: k - len(found)]
        return found

    def dense(
        self, parsed: ParsedQuery, filters: PaperQuery | None, k: int, query_vector=None
    ) -> list[SearchHit]:
        index = self.index()
        text = parsed.free_text
        if index is None or not text.strip():
            return []
        if query_vector is None:
            query_vector = self.embedder.encode_query(text)
        constrained = _has_constraints(parsed, filters)
        found = self._dense_filtered(index, parsed, filters, query_vector, k) if constrained else None
        if found is not None:
            papers = self.store.papers_by_keys([key for key, _ in found])
            return [
                SearchHit(papers[key], float(score), {"dense": float(score)})
                for key, score in found if key in papers and _passes_filters(papers[key], parsed, filters)
            ]  # fmt: skip
        # No keyword index to say which papers pass: the graph's neighbours, checked one by one.
        found = index.search(query_vector, k * 5 if constrained else k)
        papers = self.store.papers_by_keys([key for key, _ in found])
        hits = []
        for key, score in found:
            paper = papers.get(key)
            if paper is not None and _passes(paper, parsed, filters):
                hits.append(SearchHit(paper, float(score), {"dense": float(score)}))
        return hits[:k]

    def _dense_filtered(
        self, index, parsed: ParsedQuery, filters: PaperQuery | None, query_vector, k: int
    ) -> list[tuple[int, float]] | None:
        """The nearest (key, cosine) among the papers that pass the filters and exclusions,
        as the keyword index tells; None when it cannot (missing, behind, hidden papers
        asked for). Few papers: exact, among their vectors. Many: the graph's nearest, as
        many more as the filter's share of the corpus calls for (up to FILTER_FETCH_MAX),
        of which those that pass."""
        keywords = shared_keyword_index(self.store, self.index_dir)
        if keywords is None:
            return None
        cats = parsed.categories
        try:
            columns = keywords.filter_mask(None, filters, cats)  # days and categories; exclusions below
            if columns is not None:
                if not parsed.negative:
                    return _dense_masked(index, *columns, query_vector, k)
                # The nearest passing papers, then those without an excluded word (the index's
                # postings, for these few keys), more of them while too many were excluded.
                want = 2 * k
                while True:
                    found = _dense_masked(index, *columns, query_vector, want)
                    among = [key for key, _ in found]
                    kept = set(keywords.passing_keys(parsed, filters, cats, among=among, limit=len(among)))
                    out = [(key, score) for key, score in found if key in kept]
                    if len(out) >= k or len(found) < want or want >= EXCLUDED_WANT_MAX:
                        return out[:k]
                    want *= 4
            keys, share = keywords.filter_plan(parsed, filters, cats, exact_max=FILTER_EXACT_MAX)
            if keys is not None:
                if not keys:
                    return []
                return index.search_among(query_vector, k, keys)
            fetch = min(FILTER_FETCH_MAX, max(k, int(k / max(share, 1e-9) * 1.2)))
            found = index.search(query_vector, fetch)
            kept = set(keywords.passing_keys(parsed, filters, cats, among=[key for key, _ in found], limit=len(found)))
        except KeywordIndexUnavailable:
            return None
        return [(key, score) for key, score in found if key in kept][:k]

    # -- the entry points --------------------------------------------------------------
    def search(
        self,
        text: str,
        *,
        filters: PaperQuery | None = None,
        limit: int = 20,
        offset: int = 0,
        mode: Mode = "hybrid",
        max_chars: int = MAX_CHARS,
    ) -> SearchResponse:
        """Raises ``QueryError`` (too long) or ``QuerySyntaxError`` (nothing to search for)."""
        parsed = parse_query(text, max_chars=max_chars)
        self._follow_coverage()
        jumped = self._jump_to_id(parsed.text)
        if jumped is not None:
            return SearchResponse(parsed, [SearchHit(jumped, 1.0, {"id": 1.0})], "id", jumped.id)
        want = offset + limit
        k = max(CANDIDATES, want)
        if mode == "bm25":
            with timed("keyword"):
                found = self.keyword(parsed, filters, want)
            return SearchResponse(parsed, found[offset:want], "bm25")
        if mode == "dense":
            if parsed.is_empty:
                from ..store.base import QuerySyntaxError

                raise QuerySyntaxError("the query has no words to search for (only exclusions or punctuation)")
            with timed("dense"):
                found = self.dense(parsed, filters, want)
            return SearchResponse(parsed, found[offset:want], "dense")
        by_keys = self._hybrid_by_keys(parsed, filters, k, offset, want)
        if by_keys is not None:
            return by_keys
        with timed("keyword"):
            keyword = self.keyword(parsed, filters, k)
        query_vector = None
        dense: list[SearchHit] = []
        if not _needs_exact_match(parsed) and self.index() is not None and parsed.free_text.strip():
            with timed("embed"):
                query_vector = self.embedder.encode_query(parsed.free_text)
            with timed("dense"):
                dense = self.dense(parsed, filters, k, query_vector)
        if not dense:
            return SearchResponse(parsed, keyword[offset:want], "bm25")
        with timed("fusion"):
            dense = self._with_dense_scores(query_vector, keyword, dense)
            fused = fuse(keyword, dense, dense_weight=self._dense_weight())
        if self._reranks() and offset < RERANK_TOP:
            with timed("rerank"):
                reranked = self.rerank(parsed, fused)
            if reranked is not None:
                return SearchResponse(parsed, reranked[offset:want], "hybrid+rerank")
        return SearchResponse(parsed, fused[offset:want], "hybrid")

    def _hybrid_by_keys(
        self, parsed: ParsedQuery, filters: PaperQuery | None, k: int, offset: int, want: int
    ) -> SearchResponse | None:
        """The common case (words, filters the keyword index can apply, both in-process
        indexes) on keys alone: the stages and the fusion never read a paper, only the page's
        papers are loaded (and checked against the filters once more). None when the general
        path must answer."""
        if not parsed.positive or not parsed.free_text.strip() or _needs_exact_match(parsed):
            return None
        if filters is not None and filters.include_hidden:
            return None  # hidden papers are in no index
        stages = self.stage_scores(parsed, k, filters)
        if stages is None:
            return None
        keyword, dense_ranked = stages
        with timed("fusion"):
            fused = fuse_scores(keyword, dense_ranked, dense_weight=self._dense_weight())
        mode = "hybrid"
        if self._reranks() and offset < RERANK_TOP:
            top = fused[:RERANK_TOP]
            with timed("rerank"):
                order = self._rerank_order(parsed, [key for key, _, _ in top], {k: p["bm25"] for k, _, p in top if "bm25" in p})
            if order is not None:
                fused, mode = _reordered(top, order) + fused[RERANK_TOP:], "hybrid+rerank"
        hits: list[SearchHit] = []
        start = 0
        while len(hits) < want and start < len(fused):  # hidden papers drop out: read on
            chunk = fused[start : start + max(want - len(hits), 10)]
            with timed("load"):
                papers = self.store.papers_by_keys([key for key, _, _ in chunk])
            hits += [
                SearchHit(papers[key], score, parts)
                for key, score, parts in chunk if key in papers and _passes_filters(papers[key], parsed, filters)
            ]  # fmt: skip
            start += len(chunk)
        return SearchResponse(parsed, hits[offset:want], mode)

    def _retrieves_with_strong_model(self) -> bool:
        from .embedder import DEFAULT_RERANKER

        return self.embedder is not None and self.embedder.name == DEFAULT_RERANKER

    def _dense_weight(self) -> float:
        return STRONG_DENSE_WEIGHT if self._retrieves_with_strong_model() else DENSE_WEIGHT

    def _reranks(self) -> bool:
        """Re-ranking by the stronger model only helps while the dense stage is the static one."""
        return self.rerank_enabled and not self._retrieves_with_strong_model()

    def stage_scores(
        self, parsed: ParsedQuery, k: int, filters: PaperQuery | None = None
    ) -> tuple[dict[int, float], dict[int, float]] | None:
        """Each stage's candidates on keys, best first: (BM25 scores, cosines), where every
        keyword candidate has its cosine too, so fusion compares like with like. Queries the
        in-process indexes answer only (None otherwise: the index cannot apply a filter or is
        behind); the benchmark fuses these with other settings to compare them with the
        product's."""
        keywords = shared_keyword_index(self.store, self.index_dir)
        vectors = self.index()
        if keywords is None or vectors is None or not hasattr(vectors, "vectors"):
            return None
        try:
            with timed("keyword"):
                keyword = self._keyword_keys(keywords, parsed, k, filters)
        except KeywordIndexUnavailable:
            return None
        with timed("embed"):
            query_vector = self.embedder.encode_query(parsed.free_text)
        with timed("dense"):
            if _has_constraints(parsed, filters):
                found = self._dense_filtered(vectors, parsed, filters, query_vector, k)
                if found is None:
                    return None
                dense = dict(found)
            else:
                dense = dict(vectors.search(query_vector, k))
            if not dense:
                return None  # the general path answers (keyword hits alone, if any)
            held = vectors.vectors([key for key, _ in keyword if key not in dense])
            dense.update((key, float(v @ query_vector)) for key, v in held.items())
        return dict(keyword), dict(sorted(dense.items(), key=lambda kv: -kv[1]))

    def rerank(self, parsed: ParsedQuery, hits: list[SearchHit]) -> list[SearchHit] | None:
        """Re-order the top candidates by BM25 fused with the stronger model's cosine.

        Uses the re-ranker's stored vectors (``paperboard embed --model minilm-l6-int8``
        computes them in the background); None when too few candidates have one.
        """
        top = hits[:RERANK_TOP]
        keys = self.store.paper_keys([h.paper.id for h in top])
        by_key = {keys[h.paper.id]: h for h in top if h.paper.id in keys}
        bm25 = {k: h.parts["bm25"] for k, h in by_key.items() if "bm25" in h.parts}
        order = self._rerank_order(parsed, list(by_key), bm25)
        if order is None:
            return None
        ranked = _reordered([(k, h.score, h.parts) for k, h in by_key.items()], order)
        out = [SearchHit(by_key[k].paper, score, parts) for k, score, parts in ranked]
        out += [h for h in top if h.paper.id not in keys]  # vanished meanwhile: keep their order
        return out + hits[RERANK_TOP:]

    def _rerank_order(self, parsed: ParsedQuery, keys: list[int], bm25: dict[int, float]) -> list[tuple[int, float, float]] | None:
        """(key, re-ranked score, the stronger model's cosine) best first, for the keys that
        have either score; None when fewer than 80% have the stronger model's vector."""
        from .embedder import DEFAULT_RERANKER, ModelFilesMissing, load_embedder

        vectors = self.store.get_vectors(DEFAULT_RERANKER, keys)
        if not keys or len(vectors) < 0.8 * len(keys):
            return None
        try:
            query = load_embedder(DEFAULT_RERANKER).encode_query(parsed.free_text)
        except (ModelFilesMissing, ImportError, OSError) as exc:
            log.warning("re-ranking unavailable: %s", exc)
            return None
        strong = {k: float(vectors[k] @ query) for k in keys if k in vectors}
        order = score_fusion([bm25, strong], weights=RERANK_WEIGHTS, method="zscore")
        return [(k, score, strong.get(k, 0.0)) for k, score, _ in order]

    def _with_dense_scores(self, query, keyword: list[SearchHit], dense: list[SearchHit]) -> list[SearchHit]:
        """Give keyword-only candidates their exact cosine too, so fusion compares like with like."""
        have = {h.paper.id for h in dense}
        missing = [h for h in keyword if h.paper.id not in have]
        if not missing:
            return dense
        keys = self.store.paper_keys([h.paper.id for h in missing])
        index = self.index()
        if hasattr(index, "vectors"):  # the in-process index holds them: no database trip
            vectors = index.vectors(list(keys.values()))
        else:
            vectors = self.store.get_vectors(self.embedder.name, list(keys.values()))
        extra = []
        for h in missing:
            vec = vectors.get(keys.get(h.paper.id, -1))
            if vec is not None:
                score = float(vec @ query)
                extra.append(SearchHit(h.paper, score, {"dense": score}))
        return sorted([*dense, *extra], key=lambda h: -h.score)

    def similar(self, paper_id: str, *, limit: int = 10) -> list[SearchHit]:
        """Papers to read next, the paper itself and hidden ones excluded (see ``similar.py``);
        [] for an unknown or hidden paper. Kept per paper once computed (``similar_keeper``)."""
        return self.similar_keeper.similar(paper_id, limit=limit)

    @cached_property
    def similar_terms(self):
        """Candidates' tokenised texts, kept between scorings (``similar.TermVectors``): a
        serving process scores few lists (they are kept), the worker's pass every paper's, and
        it makes this larger."""
        from .similar import TermVectors

        return TermVectors(SIMILAR_TERMS_SERVING)

    @cached_property
    def similar_keeper(self):
        from .similar_keeper import SimilarKeeper

        return SimilarKeeper(self)

    def score_similar(self, key: int, *, limit: int) -> list[SearchHit]:
        """Score the neighbours of the paper with this key, now (what ``similar`` keeps).

        Candidates come from two stages, nearest vectors and a keyword search on the title, so
        a corpus without vectors still gets lexical neighbours."""
        from . import similar as sim
        from .embedder import DEFAULT_RERANKER, paper_text

        self._follow_coverage()
        me = self.store.papers_by_keys([key]).get(key)
        if me is None:
            return []
        found: dict[int, None] = {}
        index = self.index()
        corpus_vectors = self._vectors(index, [key]) if index is not None else {}
        if key in corpus_vectors:
            found.update((k, None) for k, _ in index.search(corpus_vectors[key], sim.CANDIDATES + 1))
        title_query = _title_query(me.title)
        if title_query.positive:
            found.update((k, None) for k in self._keyword_keys_any(title_query, sim.CANDIDATES + 1))
        found.pop(key, None)
        papers = self.store.papers_by_keys(list(found))
        cands = [k for k in found if k in papers]
        if not cands:
            return []
        both = [key, *cands]

        def cosines(vectors) -> dict[int, float] | None:
            mine = vectors.get(key)
            return None if mine is None else {k: float(vectors[k] @ mine) for k in cands if k in vectors}

        strong = cosines(self.store.get_vectors(DEFAULT_RERANKER, both))
        title = cosines(self.store.get_vectors(sim.view_name(DEFAULT_RERANKER, sim.TITLE_VIEW), both)) if strong else None
        corpus = None
        if index is not None and not (strong and sim.covered(strong, cands)):
            corpus = cosines({**corpus_vectors, **self._vectors(index, cands)})
        signals = sim.choose_signals(cands, strong=strong, title=title, corpus=corpus)
        texts = {k: paper_text(papers[k].title, papers[k].abstract) for k in cands}
        terms = self.similar_terms
        lexical = sim.pool_lexical_scores(
            terms.get(key, paper_text(me.title, me.abstract)), {k: terms.get(k, t) for k, t in texts.items()}
        )
        ranked = sim.rank_similar("", texts, signals, lexical=lexical)
        return [SearchHit(papers[k], score, parts) for k, score, parts in ranked[:limit]]

    def _vectors(self, index, keys: list[int]) -> dict:
        """The corpus model's vectors: from the in-process index when it holds them."""
        if hasattr(index, "vectors"):
            return index.vectors(keys)
        return self.store.get_vectors(index.model, keys)

    def _keyword_keys_any(self, parsed: ParsedQuery, k: int) -> list[int]:
        """Keys of the best keyword matches of any of the words (the rarest ones)."""
        index = shared_keyword_index(self.store, self.index_dir)
        if index is not None:
            try:
                kept = index.rarest_terms(parsed.positive)
                return [key for key, _ in index.search(ParsedQuery(parsed.text, kept), limit=k, match="any")]
            except KeywordIndexUnavailable:
                pass  # FTS5 answers the same query, only slower
        hits = self.store.keyword_search(parsed, None, limit=k, match="any")
        return list(self.store.paper_keys([h.paper.id for h in hits]).values())

    def _jump_to_id(self, text: str) -> Paper | None:
        if not text or " " in text.strip():
            return None
        try:
            aid = parse_arxiv_id(text)
        except InvalidId:
            return None
        return self.store.get_paper(aid.id)


def _dense_masked(index, mask, total: int, query_vector, k: int) -> list[tuple[int, float]]:
    """The nearest (key, cosine) among the keys set in ``mask`` (a day or category filter, from
    the filter columns): exact when the in-process index can scan them (up to FILTER_SCAN_MAX
    papers) or they are few enough to list (FILTER_EXACT_MAX), else the graph's candidates,
    as many more as the filter's share calls for, those that pass kept."""
    import numpy as np

    passing = int(np.count_nonzero(mask))
    if not passing:
        return []
    if passing <= FILTER_SCAN_MAX and index.in_process:
        return index.search_mask(query_vector, k, mask)
    if passing <= FILTER_EXACT_MAX:
        return index.search_among(query_vector, k, np.flatnonzero(mask).tolist())
    more, most = FILTER_MASK_FETCH
    fetch = min(most, max(k, int(k / max(passing / max(total, 1), 1e-9) * more)))
    found = index.search(query_vector, fetch)
    return [(key, score) for key, score in found if key < len(mask) and mask[key]][:k]


def _reordered(top: list[tuple], order: list[tuple[int, float, float]]) -> list[tuple]:
    """``top``'s (key, score, parts) in the re-ranked order, each with its re-ranking parts;
    candidates the re-ranker had no score for keep their order after the rest."""
    parts = {key: p for key, _, p in top}
    out = [(key, score, {**parts[key], "rerank": score, "minilm": cos}) for key, score, cos in order if key in parts]
    placed = {key for key, _, _ in out}
    return out + [t for t in top if t[0] not in placed]


def _title_query(title: str) -> ParsedQuery:
    """A paper's title as a keyword query: its distinct content words, no syntax."""
    from .bm25 import STOPWORDS

    words = [w for w in dict.fromkeys(words_of(title or "")) if w not in STOPWORDS and len(w) > 1]
    return ParsedQuery(title or "", [Term((w,)) for w in words[:MAX_TERMS]])


def fuse(
    keyword: list[SearchHit],
    dense: list[SearchHit],
    *,
    method: str = FUSION,
    dense_weight: float = DENSE_WEIGHT,
    k: float = RRF_K,
) -> list[SearchHit]:
    """One ranking from both stages' candidates (see ``fuse_scores``)."""
    by_id: dict[str, SearchHit] = {}
    for hit in (*keyword, *dense):
        by_id.setdefault(hit.paper.id, hit)
    fused = fuse_scores(
        {h.paper.id: h.score for h in keyword}, {h.paper.id: h.score for h in dense},
        method=method, dense_weight=dense_weight, k=k,
    )  # fmt: skip
    return [SearchHit(by_id[pid].paper, score, parts) for pid, score, parts in fused]


def fuse_scores(
    kw_scores: dict,
    dense_scores: dict,
    *,
    method: str = FUSION,
    dense_weight: float = DENSE_WEIGHT,
    k: float = RRF_K,
) -> list[tuple[object, float, dict[str, float]]]:
    """(candidate, fused score, parts) best first, from each stage's scores (dicts in rank order).

    ``zscore`` (default) sums each stage's scores standardised over its own candidates, so a
    keyword hit far ahead of the rest (an exact title) keeps its lead; ``rrf`` uses ranks
    only. The benchmark (bench/search_quality.py) compares them.
    """
    if method == "rrf":
        fused = rrf([list(kw_scores), list(dense_scores)], k=k, weights=(1.0, dense_weight))
    else:
        fused = score_fusion([kw_scores, dense_scores], weights=(1.0, dense_weight), method=method)
    out = []
    for key, score, (kw_rank, dense_rank) in fused:
        parts = {"fused": score}
        if kw_rank is not None:
            parts.update(bm25=kw_scores[key], bm25_rank=kw_rank)
        if key in dense_scores:
            parts.update(dense=dense_scores[key])
            if dense_rank is not None:
                parts["dense_rank"] = dense_rank
        out.append((key, score, parts))
    return out


def _needs_exact_match(parsed: ParsedQuery) -> bool:
    """Field terms and phrases are constraints only the keyword engine can check."""
    return any(t.field or t.is_phrase for t in parsed.positive)


def _has_constraints(parsed: ParsedQuery, filters: PaperQuery | None) -> bool:
    return bool(parsed.negative) or _has_filters(parsed, filters)


def _has_filters(parsed: ParsedQuery, filters: PaperQuery | None) -> bool:
    """Constraints on a paper's metadata (exclusions are words, which every engine checks)."""
    if parsed.categories:
        return True
    if filters is None:
        return False
    return any(
        (filters.start, filters.end, filters.organization, filters.author, filters.category,
         filters.submitted_by, filters.published_from, filters.published_until, filters.include_hidden)
    )  # fmt: skip


def _passes(paper: Paper, parsed: ParsedQuery, filters: PaperQuery | None) -> bool:
    """The keyword engine's filters, applied to a dense candidate."""
    if parsed.negative:
        words = set(words_of(f"{paper.title} {paper.abstract} {' '.join(paper.authors)}"))
        for term in parsed.negative:
            if all(w in words for w in term.words):
                return False
    return _passes_filters(paper, parsed, filters)


def _passes_filters(paper: Paper, parsed: ParsedQuery, filters: PaperQuery | None) -> bool:
    """The metadata filters alone, checked again on each paper the indexes proposed (an index
    follows the store within a second; the paper as loaded is the truth)."""
    if parsed.categories and not set(parsed.categories) & _categories(paper):
        return False
    if filters is None:
        return True
    day: date = paper.feed_day
    if (filters.start and day < filters.start) or (filters.end and day > filters.end):
        return False
    if filters.category and filters.category not in _categories(paper):
        return False
    if filters.organization and (paper.organization or "").lower() != filters.organization.lower():
        return False
    if filters.author and filters.author.strip().lower() not in {a.lower() for a in paper.authors}:
        return False
    if filters.submitted_by and paper.submitted_by != filters.submitted_by:
        return False
    published = paper.published.date() if paper.published else None
    if filters.published_from and (published is None or published < filters.published_from):
        return False
    if filters.published_until and (published is None or published > filters.published_until):
        return False
    return True


def _categories(paper: Paper) -> set[str]:
    """The primary category and the others (the database matches either)."""
    return {*paper.categories, paper.primary_category} if paper.primary_category else set(paper.categories)
