"""Recommendations: rank a pool of new papers for one person, from what they saved and dismissed.

The model is fitted when asked (nothing is trained overnight), so a save or a "not interested"
changes the very next ranking. Each pool paper gets two scores, fused as z-scores over the pool:

- **words**: TF-IDF (sublinear tf, words and word pairs, IDF from a background sample of the
  corpus, terms in more than 10 % of it dropped) cosine to each positive paper;
- **meaning**: cosine of the transformer's vectors (MiniLM) to each positive, after *whitening*
  them with the background's mean and covariance: raw sentence vectors are anisotropic (every
  abstract is "somewhat similar" to every other), and whitening makes the cosine measure what
  is distinctive about a paper.

Over the positives, each score is a soft maximum (log-sum-exp with temperature): a researcher has
several interests, and a pool paper close to *one* of them matters more than one vaguely near
the average. Each view then subtracts a paper's *hubness* (its mean similarity to its nearest
background papers): crowded topics are near everyone's saves without being anyone's interest.
A dismissed paper contributes the same soft maximum with the opposite sign, so papers like it
sink; saved and dismissed papers are never returned.

Measured on ``bench/recommend.py`` (author continuation: 2,364 arXiv authors, their earlier
papers as saves, a month of 6,083 new papers as the pool). On the 400-user sample also given to
arxiv-sanity-lite's per-user SVM (TF-IDF, trained on all 54k papers): recall@50 0.282 vs 0.266
(1.06x), nDCG@10 0.144 vs 0.121 (1.19x), short of the 1.2x asked for on both; words alone 0.272 / 0.143, meaning alone 0.231 / 0.116,
without hubness 0.286 / 0.137. While choosing the design on the tuning half of the authors,
the soft maximum beat the centroid (MiniLM recall@50 0.19 vs 0.13), whitening raised MiniLM's
0.19 to 0.25, and word pairs raised the words' 0.26 to 0.27. Weights and temperatures were
chosen on that half; the held-out half scores about the same (recall@50 0.279 / 0.269).

Tried on the tuning half and not kept (recall@50 / nDCG@10 against 0.279 / 0.141 unless said):
weighting saves by recency (half-life 90 to 730 days: 0.217 to 0.280, never better); smoothing
scores over each pool paper's 5-20 nearest pool papers (0.258-0.273) or pseudo-relevance
feedback from the top 10-20 (0.273-0.277); normalising each positive's similarities by its own
top-k (0.282 / 0.143); a category log-likelihood view (0.284 / 0.141); fusing a per-user
LinearSVC against the 2,000-paper background (0.307 vs 0.300 on a 400-user subset, nDCG
lower); a logistic or boosted-tree ranker over 16 such features trained on the tuning half
(held-out half 0.271 / 0.138 and 0.267 / 0.133 vs 0.268 / 0.133). Users with 30+ saves are
where every method is weakest (recall@50 0.13-0.17, SVM alike): broad profiles.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from ..search.bm25 import tokenize

MODEL = "minilm-l6-int8"
"""The vectors the "meaning" view uses: the stronger model, which every paper gets from
``paperboard embed``; papers still without one are scored by their words alone."""

LEXICAL_WEIGHT = 1.5
DENSE_WEIGHT = 1.0
LEXICAL_TAU = 0.1
DENSE_TAU = 0.15
"""Soft-max temperatures, in cosine units: lower is closer to the plain maximum (one very
similar positive decides), higher to the mean (a centroid)."""
MAX_DF = 0.1
"""Terms in more than this share of the background say nothing about a person's interests
("language model" in an NLP-heavy corpus); arxiv-sanity-lite uses the same cut."""
SHRINK = 1.5
"""Whitening adds this many times the average eigenvalue to each one: without it the noisiest
directions of a 2,000-paper sample would dominate the cosine."""
DISMISS_WEIGHT = 0.5
"""A dismissal pulls a paper down half as much as an equally similar save pushes it up: at 1.0 one
"not interested" on the paper nearest a person's saves sent its whole neighbourhood to the
bottom of the day, erasing a topic they had saved many papers on. Not measured (the benchmark
has no dismissals); the bench shows the effect on a constructed profile."""
BACKGROUND_SIZE = 2000
"""Enough papers for stable IDF and covariance (500 scored visibly worse, the full 50k corpus no
better than 2,000) while the statistics stay cheap to compute once per process."""
TERM_CACHE_SIZE = 50_000
"""Papers whose tokens are kept per process (about 2 kB each): a month of pools, the background
and the profiles of the people who asked recently."""

POSITIVE_WEIGHTS = {"claimed": 3.0, "saved": 1.0, "upvoted": 0.5}
"""Suggested profile weights by signal. A weight w adds tau*log(w) to a positive's
similarities, i.e. a claimed paper counts like three saved ones nearby. The benchmark's
profiles are all one kind (an author's own papers), so these are not measured."""


@dataclass(frozen=True)
class Recommendation:
    key: int
    score: float
    because: int | None
    """The positive paper nearest to this one (plain cosine of the transformer's vectors, or of
    the words when a vector is missing): the "because you saved X" line."""


@dataclass
class Profile:
    positives: dict[int, float] = field(default_factory=dict)
    """Paper key -> weight (see ``POSITIVE_WEIGHTS``)."""
    negatives: set[int] = field(default_factory=set)
    """Dismissed paper keys."""


class FeatureSource(Protocol):
    """Where the recommender reads papers from: the store, or anything shaped like it.

    A source may also have a ``cache_key`` attribute naming its data (``StoreFeatures`` uses
    the database's identity): then background statistics and prepared pools are reused across
    requests. Without one nothing is cached, which is correct but pays for a day's pool (about
    0.1 s) on every call."""

    def vectors(self, keys: list[int]) -> Mapping[int, np.ndarray]: ...

    def texts(self, keys: list[int]) -> Mapping[int, str]: ...


@dataclass
class StoreFeatures:
    """``FeatureSource`` over a ``Store``: vectors of ``model`` and title + abstract texts."""

    store: object
    model: str = MODEL

    @cached_property
    def cache_key(self) -> tuple[str, str]:
        """The database's identity, not the object's: every request may build its own
        ``StoreFeatures``, and all of them share one store's cached statistics and pools."""
        return (self.store.database_id(), self.model)  # type: ignore[attr-defined]

    def vectors(self, keys: list[int]) -> Mapping[int, np.ndarray]:
        return self.store.get_vectors(self.model, keys)  # type: ignore[attr-defined]

    def texts(self, keys: list[int]) -> Mapping[int, str]:
        papers = self.store.papers_by_keys(keys)  # type: ignore[attr-defined]
        return {k: f"{p.title}\n{p.abstract}" for k, p in papers.items()}


@dataclass
class _VectorsOnly:
    """A bare vectors callable: the "meaning" view only."""

    get: Callable[[list[int]], Mapping[int, np.ndarray]]

    def vectors(self, keys: list[int]) -> Mapping[int, np.ndarray]:
        return self.get(keys)

    def texts(self, keys: list[int]) -> Mapping[int, str]:
        return {}


def background_sample(keys: Sequence[int], size: int = BACKGROUND_SIZE) -> list[int]:
    """Evenly spaced keys: the same corpus gives the same sample, so the statistics computed
    from it stay cached between requests (a fresh random sample would recompute them)."""
    keys = sorted(set(keys))
    if len(keys) <= size:
        return keys
    step = len(keys) / size
    return [keys[int(i * step)] for i in range(size)]


# --- words ---------------------------------------------------------------------------------


def paper_terms(text: str) -> Counter[str]:
    """Words (plural-folded, stopwords out) and adjacent word pairs: pairs name methods and
    tasks ("diffusion policy", "gaussian splatting") and raised recall@50 by a twentieth."""
    words = tokenize(text)
    terms = Counter(words)
    terms.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return terms


_TERMS: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()


def _term_rows(
    features: FeatureSource, keys: list[int], fingerprints: Mapping[int, int]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """(term hashes, 1 + log tf) per paper, sorted by hash. Tokenising costs ~0.2 ms a paper,
    more than ranking a day's pool, so results are cached per process; the cache key includes
    the paper's vector, which the store replaces whenever the title or abstract changes."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    missing = []
    for k in keys:
        hit = _TERMS.get((k, fingerprints.get(k, 0))) if k in fingerprints else None
        if hit is None:
            missing.append(k)
        else:
            _TERMS.move_to_end((k, fingerprints[k]))
            out[k] = hit
    if missing:
        texts = features.texts(missing)
        for k in missing:
            text = texts.get(k)
            if not text:
                continue
            counts = paper_terms(text)
            h = np.fromiter((hash(t) for t in counts), np.int64, len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), np.float32, len(counts)))
            order = np.argsort(h)
            out[k] = row = (h[order], tf[order].astype(np.float32))
            if k in fingerprints:
                _TERMS[(k, fingerprints[k])] = row
        while len(_TERMS) > TERM_CACHE_SIZE:
            _TERMS.popitem(last=False)
    return out


@dataclass(frozen=True)
class _Postings:
    """Many papers' TF-IDF rows as flat arrays, sorted by term: one ``searchsorted`` joins two
    of them, so a pool x profile similarity matrix needs no sparse-matrix library."""

    terms: np.ndarray
    rows: np.ndarray
    weights: np.ndarray
    n: int


def _postings(
    rows: list[tuple[np.ndarray, np.ndarray] | None], idf: Callable[[np.ndarray], np.ndarray]
) -> _Postings:
    terms, docs, weights = [], [], []
    for i, row in enumerate(rows):
        if row is None or not len(row[0]):
            continue
        w = row[1] * idf(row[0])
        norm = float(np.sqrt(np.dot(w, w)))
        if norm == 0:
            continue
        keep = w > 0
        terms.append(row[0][keep])
        weights.append(w[keep] / norm)
        docs.append(np.full(int(keep.sum()), i, np.int64))
    if not terms:
        empty = np.zeros(0, np.int64)
        return _Postings(empty, empty, np.zeros(0, np.float32), len(rows))
    t, d, w = np.concatenate(terms), np.concatenate(docs), np.concatenate(weights)
    order = np.argsort(t, kind="stable")
    return _Postings(t[order], d[order], w[order].astype(np.float32), len(rows))


def _cosines(a: _Postings, b: _Postings) -> np.ndarray:
    """(a.n, b.n) TF-IDF cosines: every shared term contributes the product of its weights."""
    lo = np.searchsorted(b.terms, a.terms, "left")
    hi = np.searchsorted(b.terms, a.terms, "right")
    count = hi - lo
    hit = count > 0
    if not hit.any():
        return np.zeros((a.n, b.n), np.float32)
    count, lo = count[hit], lo[hit]
    a_rows, a_w = np.repeat(a.rows[hit], count), np.repeat(a.weights[hit], count)
    start = np.cumsum(count) - count
    j = np.arange(int(count.sum())) - np.repeat(start - lo, count)
    cells = a_rows * b.n + b.rows[j]
    flat = np.bincount(cells, weights=a_w * b.weights[j], minlength=a.n * b.n)
    return flat.reshape(a.n, b.n).astype(np.float32)


# --- background statistics -----------------------------------------------------------------


@dataclass(frozen=True)
class _Stats:
    """What the background teaches: term rarity (IDF) and the vectors' mean and shape."""

    df_terms: np.ndarray
    df_counts: np.ndarray
    df_n: int
    mean: np.ndarray | None
    whiten: np.ndarray | None
    keys: list[int] = field(default_factory=list)
    words: _Postings | None = None  # the background's own TF-IDF rows, for hubness
    dense: np.ndarray | None = None  # its whitened vectors
    dense_keys: list[int] = field(default_factory=list)

    def idf(self, terms: np.ndarray) -> np.ndarray:
        df = np.zeros(len(terms), np.int64)
        if len(self.df_terms):
            i = np.minimum(np.searchsorted(self.df_terms, terms), len(self.df_terms) - 1)
            df = np.where(self.df_terms[i] == terms, self.df_counts[i], 0)
        out = np.log((1.0 + self.df_n) / (1.0 + df)) + 1.0
        out[df > MAX_DF * self.df_n] = 0.0
        return out.astype(np.float32)

    def transform(self, x: np.ndarray) -> np.ndarray:
        if self.whiten is not None:
            x = (x - self.mean) @ self.whiten
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.maximum(norms, 1e-9)


_STATS: OrderedDict[tuple, _Stats] = OrderedDict()


def _stats(
    background: Sequence[int],
    terms: Mapping[int, tuple[np.ndarray, np.ndarray]],
    vectors: Mapping[int, np.ndarray],
) -> _Stats:
    rows = [terms[k][0] for k in background if k in terms]
    if rows:
        df_terms, df_counts = np.unique(np.concatenate(rows), return_counts=True)
    else:
        df_terms, df_counts = np.zeros(0, np.int64), np.zeros(0, np.int64)
    mean = whiten = None
    vecs = [vectors[k] for k in background if k in vectors]
    if len(vecs) >= 20:
        x = np.asarray(vecs, np.float64)
        mean = x.mean(0)
        cov = np.cov(x, rowvar=False)
        eig, basis = np.linalg.eigh(cov)
        eig = np.maximum(eig, 0) + SHRINK * max(float(eig.mean()), 1e-12)
        whiten = ((basis / np.sqrt(eig)) @ basis.T).astype(np.float32)
        mean = mean.astype(np.float32)
    base = _Stats(df_terms, df_counts, len(rows), mean, whiten)
    keys = list(background)
    have = [k for k in keys if k in vectors]
    dense = (
        base.transform(_unit(np.asarray([vectors[k] for k in have], np.float32))) if have else None
    )
    words = _postings([terms.get(k) for k in keys], base.idf)
    return _Stats(df_terms, df_counts, len(rows), mean, whiten, keys, words, dense, have)


def _cached_stats(features: FeatureSource, background: Sequence[int]) -> _Stats:
    """Background statistics are the same for every user: computed once per sample (about
    half a second for 2,000 papers, most of it tokenising), then reused."""
    source = _source_key(features)
    if source is None:
        return _make_stats(features, background)
    return _cached(_STATS, (source, tuple(background)), lambda: _make_stats(features, background))


def _make_stats(features: FeatureSource, background: Sequence[int]) -> _Stats:
    vectors = features.vectors(list(background))
    terms = _term_rows(features, list(background), _fingerprints(vectors))
    return _stats(background, terms, vectors)


@dataclass(frozen=True)
class _Pool:
    """A pool made ready for ranking: the same for every user who asks for that day or week,
    so it is built once (tokens, TF-IDF postings, whitened vectors) and each user's request
    only reads their own profile's papers."""

    keys: list[int]
    words: _Postings
    dense: np.ndarray  # whitened unit vectors of the papers that have one
    dense_rows: np.ndarray  # their positions in ``keys``
    raw: np.ndarray  # the same papers' plain unit vectors (for "because")
    hub_words: np.ndarray  # per paper, see ``_hubness``
    hub_dense: np.ndarray


def _make_pool(features: FeatureSource, keys: list[int], stats: _Stats) -> _Pool:
    vectors = features.vectors(keys)
    terms = _term_rows(features, keys, _fingerprints(vectors))
    rows = np.array([i for i, k in enumerate(keys) if k in vectors], np.int64)
    raw = (
        _unit(np.asarray([vectors[keys[i]] for i in rows], np.float32))
        if len(rows)
        else np.zeros((0, 0), np.float32)
    )
    dense = stats.transform(raw) if len(rows) else raw
    words = _postings([terms.get(k) for k in keys], stats.idf)
    hub_words = np.zeros(len(keys), np.float32)
    if stats.words is not None and len(words.terms) and len(stats.words.terms):
        hub_words = _hubness(
            keys, stats.keys, lambda lo, hi: _cosines(_rows(words, lo, hi), stats.words)
        )
    hub_dense = np.zeros(len(rows), np.float32)
    if stats.dense is not None and len(rows):
        dense_keys = [keys[i] for i in rows]
        hub_dense = _hubness(
            dense_keys, stats.dense_keys, lambda lo, hi: dense[lo:hi] @ stats.dense.T
        )
    return _Pool(keys, words, dense, rows, raw, hub_words, hub_dense)


HUB_K = 10
HUB_WEIGHT = 0.25
"""Hubness: a paper about a crowded topic ("a new LLM benchmark") is fairly similar to many
papers, saved ones included, without being anyone's particular interest. Each view's score
subtracts this times the paper's mean similarity to its ``HUB_K`` nearest background papers
(CSLS, from cross-lingual retrieval). Chosen on the benchmark's tuning half: nDCG@10 +5 %."""


def _hubness(
    keys: list[int], against: list[int], sims: Callable[[int, int], np.ndarray]
) -> np.ndarray:
    """Mean of each row's ``HUB_K`` largest similarities, in blocks of rows so a month's pool
    against the background never holds more than a block's matrix; a paper's similarity to
    itself (the pool standing in as its own background) is left out."""
    column = {k: j for j, k in enumerate(against)}
    out = np.zeros(len(keys), np.float32)
    k = min(HUB_K, max(len(against) - 1, 1))
    for lo in range(0, len(keys), 512):
        hi = min(lo + 512, len(keys))
        block = np.array(sims(lo, hi), np.float32)
        for r in range(lo, hi):
            j = column.get(keys[r])
            if j is not None:
                block[r - lo, j] = -np.inf
        top = -np.partition(-block, k - 1, axis=1)[:, :k]
        out[lo:hi] = np.where(np.isfinite(top), top, 0).mean(1)
    return out


def _rows(p: _Postings, lo: int, hi: int) -> _Postings:
    """Rows lo..hi of ``p``, renumbered from 0 (still sorted by term)."""
    keep = (p.rows >= lo) & (p.rows < hi)
    return _Postings(p.terms[keep], p.rows[keep] - lo, p.weights[keep], hi - lo)


POOL_TTL = 3600.0
"""Seconds a prepared pool is reused. Preparing a week's pool costs up to a second (its hubness
against the background), so it should happen rarely; a paper's text or vector seldom changes
after listing, and a change in membership (a new paper) makes a new pool anyway."""

_POOLS: OrderedDict[tuple, tuple[float, _Pool]] = OrderedDict()


def _cached_pool(
    features: FeatureSource, keys: list[int], stats: _Stats, background_key: tuple
) -> _Pool:
    source = _source_key(features)
    if source is None:
        return _make_pool(features, keys, stats)
    key = (source, tuple(keys), background_key)
    hit = _POOLS.get(key)
    if hit is not None and time.monotonic() - hit[0] < POOL_TTL:
        _POOLS.move_to_end(key)
        return hit[1]
    pool = _make_pool(features, keys, stats)
    _POOLS[key] = (time.monotonic(), pool)
    while len(_POOLS) > 16:
        _POOLS.popitem(last=False)
    return pool


def _cached(cache: OrderedDict, key: tuple, make: Callable[[], _Stats]) -> _Stats:
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return hit
    value = cache[key] = make()
    while len(cache) > 4:
        cache.popitem(last=False)
    return value


def clear_caches() -> None:
    """Forget every cached token list, background statistic and pool (tests, benchmarks)."""
    _TERMS.clear()
    _STATS.clear()
    _POOLS.clear()


def _source_key(features: FeatureSource) -> object:
    """What identifies a source's data across requests (``cache_key``); a source without one
    is not cached at all, since an object's id can be reused by the next one."""
    return getattr(features, "cache_key", None)


def _fingerprints(vectors: Mapping[int, np.ndarray]) -> dict[int, int]:
    return {k: hash(np.asarray(v, np.float32).tobytes()) for k, v in vectors.items()}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


# --- ranking -------------------------------------------------------------------------------


def _soft_max(sims: np.ndarray, log_weights: np.ndarray, tau: float) -> np.ndarray:
    """Per column, tau * log sum_i w_i exp(s_i / tau): near the best positive's similarity,
    plus a little for every other close one."""
    s = sims + tau * log_weights[:, None]
    top = s.max(0)
    return top + tau * np.log(np.exp((s - top) / tau).sum(0))


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-12 else np.zeros_like(x)


def recommend(
    features: FeatureSource | Callable[[list[int]], Mapping[int, np.ndarray]],
    profile: Profile,
    pool: Sequence[int],
    *,
    limit: int,
    background: Sequence[int] | None = None,
    boost: Mapping[int, float] | None = None,
) -> list[Recommendation]:
    """The best ``limit`` papers of ``pool`` for ``profile``, best first.

    ``features`` is a ``FeatureSource`` (e.g. ``StoreFeatures(store)``) or a bare vectors
    callable (then the words view is off). ``background`` is a stable sample of the corpus
    (``background_sample``) for IDF and whitening; without one the pool stands in, which
    scored a little lower. ``boost`` adds to a paper's fused score (in pool standard
    deviations), for signals from outside the text such as followed authors. No positives,
    no recommendations: the caller shows trending instead.
    """
    if not hasattr(features, "vectors"):
        features = _VectorsOnly(features)  # type: ignore[arg-type]
    pos_w = {int(k): float(w) for k, w in profile.positives.items() if w > 0}
    negs = sorted({int(k) for k in profile.negatives} - pos_w.keys())
    keys = list(dict.fromkeys(int(k) for k in pool))
    seen = pos_w.keys() | set(negs)
    if not pos_w or limit <= 0 or all(k in seen for k in keys):
        return []
    background = list(background) if background else keys
    stats = _cached_stats(features, background)
    ready = _cached_pool(features, keys, stats, tuple(background))

    pos = list(pos_w)
    mine = pos + negs
    vectors = features.vectors(mine)
    terms = _term_rows(features, mine, _fingerprints(vectors))
    words = _word_view(ready, stats, terms, pos, negs, pos_w)
    dense = _dense_view(ready, stats, vectors, pos, negs, pos_w)

    if words is None and dense is None:
        return []  # positives with neither text nor vector: nothing to learn from
    live = np.array([k not in seen for k in keys], bool)
    total = np.zeros(len(keys), np.float64)
    if words is not None:
        total[live] += LEXICAL_WEIGHT * _zscore(words[0][live])
    if dense is not None:
        total[live] += DENSE_WEIGHT * _zscore(dense[0][live])
    if boost:
        total += np.array([boost.get(k, 0.0) for k in keys])
    cand = np.flatnonzero(live)
    order = cand[np.lexsort((np.array(keys)[cand], -total[cand]))][:limit]
    because = _nearest_positive(order, ready, pos, dense, words)
    return [
        Recommendation(key=keys[i], score=float(total[i]), because=because.get(int(i)))
        for i in order
    ]


def _word_view(ready, stats, terms, pos, negs, pos_w):
    """Soft-max TF-IDF cosine to the positives, minus the same to the dismissed papers, over
    the whole pool; plus the pool x positives matrix for "because"."""
    if not len(ready.words.terms) or not any(k in terms for k in pos):
        return None
    sims = _cosines(_postings([terms.get(k) for k in pos], stats.idf), ready.words)
    log_w = np.log(np.array([pos_w[k] for k in pos], np.float32))
    score = _soft_max(sims, log_w, LEXICAL_TAU) - HUB_WEIGHT * ready.hub_words
    if negs:
        against = _cosines(_postings([terms.get(k) for k in negs], stats.idf), ready.words)
        score = score - DISMISS_WEIGHT * _soft_max(
            against, np.zeros(len(negs), np.float32), LEXICAL_TAU
        )
    return score, sims


def _dense_view(ready, stats, vectors, pos, negs, pos_w):
    """Soft-max whitened cosine, as ``_word_view``; papers without a vector get the view's
    lowest score, so they rank on their words alone."""
    have = [k for k in pos if k in vectors]
    if not have or not len(ready.dense_rows):
        return None
    p_raw = _unit(np.asarray([vectors[k] for k in have], np.float32))
    sims = stats.transform(p_raw) @ ready.dense.T
    score = _soft_max(sims, np.log(np.array([pos_w[k] for k in have], np.float32)), DENSE_TAU)
    score = score - HUB_WEIGHT * ready.hub_dense
    away = [k for k in negs if k in vectors]
    if away:
        q = stats.transform(_unit(np.asarray([vectors[k] for k in away], np.float32)))
        score = score - DISMISS_WEIGHT * _soft_max(
            q @ ready.dense.T, np.zeros(len(away), np.float32), DENSE_TAU
        )
    full = np.full(len(ready.keys), float(score.min()))
    full[ready.dense_rows] = score
    return full, (have, p_raw)


def _nearest_positive(order, ready, pos, dense, words) -> dict[int, int]:
    """Plain cosine of the transformer's vectors (not whitened): the reason shown should be the
    paper a reader would also call the most similar; the words' cosine when a vector is missing."""
    out: dict[int, int] = {}
    row_of = {int(r): j for j, r in enumerate(ready.dense_rows)}
    for i in order:
        i = int(i)
        if dense is not None and i in row_of:
            have, p_raw = dense[1]
            out[i] = have[int(np.argmax(p_raw @ ready.raw[row_of[i]]))]
        elif words is not None:
            col = words[1][:, i]
            if col.max() > 0:
                out[i] = pos[int(np.argmax(col))]
    return out


__all__ = [
    "POSITIVE_WEIGHTS",
    "FeatureSource",
    "Profile",
    "Recommendation",
    "StoreFeatures",
    "background_sample",
    "clear_caches",
    "paper_terms",
    "recommend",
]
