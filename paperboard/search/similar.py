"""Similar papers: what a reader of one paper should read next, scored on several kinds of evidence.

Why not just the nearest vectors: on the judged CSFCube "similar papers" set
(``bench/search_quality.py``) the corpus model's cosine alone scores NDCG@20 0.43, below a
plain TF-IDF cosine (0.51). What scores best here is a z-score fusion of
- a lexical similarity computed over the candidates themselves (TF-IDF cosine, with IDF from
  the candidate pool, so it needs no corpus statistics and works the same on every backend),
- the transformer's (MiniLM int8) cosine of whole title + abstract texts, and
- the transformer's cosine of the titles alone: a title names the topic, and the abstract's
  vector dilutes it with set-up and results.
The transformer vectors are written by ``paperboard embed --model minilm-l6-int8`` (in the
background on a big corpus); until a paper and most of its candidates have them, the corpus
model's cosine stands in. Every weight is one global setting chosen on the benchmark.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .bm25 import term_counts
from .fusion import score_fusion

CANDIDATES = 50
"""Papers each stage (nearest vectors, keyword search on the title) proposes: the page shows
6, and scoring a candidate costs tokenising its abstract."""
LEXICAL_WEIGHT = 1.0
STRONG_WEIGHT = 3.0
"""The transformer's whole-text cosine leads: it is the best single signal on both judged sets."""
TITLE_WEIGHT = 1.0
CORPUS_WEIGHT = 1.0
"""The corpus (static) model's cosine, used only while the transformer's vectors are missing."""
MIN_COVERAGE = 0.8
"""A vector signal is used when the paper and at least this share of its candidates have one:
papers without it would all tie at the floor and sink for a reason that is not theirs."""
TITLE_VIEW = "title"


def view_name(model: str, view: str | None = None) -> str:
    """The store's name for one model's vectors of one view of a paper ("title"), e.g.
    ``minilm-l6-int8/title``; the whole title + abstract text is the model name alone."""
    return f"{model}/{view}" if view else model


@dataclass(frozen=True, slots=True)
class Signal:
    """One kind of evidence: a score per candidate (higher is more similar) and its weight."""

    name: str
    scores: Mapping[Hashable, float]
    weight: float


def lexical_scores(query_text: str, candidates: Mapping[Hashable, str]) -> dict[Hashable, float]:
    """TF-IDF cosine of each candidate's text to the paper's (sublinear tf, smoothed IDF over
    the pool and the paper: ``bm25.TfIdf``'s formula), on sparse dicts: a pool of a few hundred
    papers needs no postings arrays."""
    if not candidates:
        return {}
    counts = {key: term_counts(text) for key, text in candidates.items()}
    mine = term_counts(query_text)
    df: Counter[str] = Counter(mine.keys())
    for c in counts.values():
        df.update(c.keys())
    n = len(candidates) + 1
    idf = {term: math.log((1 + n) / (1 + d)) + 1 for term, d in df.items()}

    def weights(c: Counter[str]) -> tuple[dict[str, float], float]:
        w = {t: (1 + math.log(tf)) * idf[t] for t, tf in c.items()}
        return w, math.sqrt(sum(v * v for v in w.values()))

    q, q_norm = weights(mine)
    out = {}
    for key, c in counts.items():
        w, norm = weights(c)
        dot = sum(v * q[t] for t, v in w.items() if t in q)
        out[key] = dot / (norm * q_norm) if norm > 0 and q_norm > 0 else 0.0
    return out


class TermVectors:
    """Each paper's distinct terms (as ids) and sublinear term frequencies, kept by paper key.

    Why: tokenising the ~100 candidate abstracts was two thirds of scoring one paper's
    neighbours, and the same papers are candidates of many others (each of ~100 on a pass
    over the corpus), so the worker's pass over every paper tokenises each abstract about
    once instead of a hundred times. Arrays, not Counters: ~0.7 kB a paper instead of ~10.
    The least recently used papers are dropped past ``max_papers``; the vocabulary (a few
    hundred thousand words) is kept."""

    def __init__(self, max_papers: int) -> None:
        self.max_papers = max_papers
        self._vocab: dict[str, int] = {}
        self._docs: OrderedDict[Hashable, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = term_counts(text)
        with self._lock:
            vocab = self._vocab
            ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return ids, 1.0 + np.log(tf)

    def get(self, key: Hashable, text: str) -> tuple[np.ndarray, np.ndarray]:
        key = (key, hash(text))  # an edited abstract is a new entry; the old one ages out
        with self._lock:
            found = self._docs.get(key)
            if found is not None:
                self._docs.move_to_end(key)
                return found
        found = self.encode(text)
        with self._lock:
            self._docs[key] = found
            while len(self._docs) > self.max_papers:
                self._docs.popitem(last=False)
        return found

    def __len__(self) -> int:
        return len(self._docs)


def pool_lexical_scores(
    query: tuple[np.ndarray, np.ndarray], candidates: Mapping[Hashable, tuple[np.ndarray, np.ndarray]]
) -> dict[Hashable, float]:
    """``lexical_scores`` on ``TermVectors`` arrays: the same TF-IDF cosine (IDF over the pool
    and the paper), computed with array operations instead of a dict per candidate."""
    if not candidates:
        return {}
    keys = list(candidates)
    parts = [query, *(candidates[k] for k in keys)]
    lengths = np.fromiter((len(ids) for ids, _ in parts), dtype=np.int64, count=len(parts))
    ids = np.concatenate([ids for ids, _ in parts])
    ltf = np.concatenate([tf for _, tf in parts])
    _, slot = np.unique(ids, return_inverse=True)  # a paper's ids are distinct: counts are df
    n = len(parts)
    idf = np.log((1 + n) / (1 + np.bincount(slot))) + 1
    weights = ltf * idf[slot]
    doc = np.repeat(np.arange(n), lengths)
    norms = np.sqrt(np.bincount(doc, weights=weights * weights, minlength=n))
    mine = np.zeros(len(idf))
    mine[slot[: lengths[0]]] = weights[: lengths[0]]
    dots = np.bincount(doc, weights=weights * mine[slot], minlength=n)
    denom = norms * norms[0]
    scores = np.divide(dots, denom, out=np.zeros(n), where=denom > 0)
    return {k: float(scores[i + 1]) for i, k in enumerate(keys)}


def rank_similar(
    query_text: str,
    candidates: Mapping[Hashable, str],
    signals: Sequence[Signal] = (),
    *,
    lexical: Mapping[Hashable, float] | None = None,
) -> list[tuple[Hashable, float, dict[str, float]]]:
    """(candidate, fused score, each signal's raw score) best first.

    ``candidates`` maps each candidate to its title + abstract text; ``signals`` are the vector
    cosines available for them (see ``choose_signals``); ``lexical``, the lexical scores when
    already computed (``pool_lexical_scores``). A candidate missing from a signal gets that
    signal's floor, as in ``score_fusion``.
    """
    if lexical is None:
        lexical = lexical_scores(query_text, candidates)
    every = [Signal("lexical", dict(lexical), LEXICAL_WEIGHT), *signals]
    every = [s for s in every if s.scores]
    fused = score_fusion([s.scores for s in every], weights=[s.weight for s in every], method="zscore")
    out = []
    for key, score, _ in fused:
        if key in candidates:
            out.append((key, score, {s.name: float(s.scores[key]) for s in every if key in s.scores}))
    return out


def covered(scores: Mapping[Hashable, float], candidates: Sequence[Hashable]) -> bool:
    return bool(candidates) and sum(1 for c in candidates if c in scores) >= MIN_COVERAGE * len(candidates)


def choose_signals(
    candidates: Sequence[Hashable],
    *,
    strong: Mapping[Hashable, float] | None = None,
    title: Mapping[Hashable, float] | None = None,
    corpus: Mapping[Hashable, float] | None = None,
) -> list[Signal]:
    """The vector signals worth fusing: the transformer's (whole text, then title) when they
    cover the pool, else the corpus model's. None means the paper itself has no such vector."""
    chosen = []
    if strong is not None and covered(strong, candidates):
        chosen.append(Signal("minilm", strong, STRONG_WEIGHT))
        if title is not None and covered(title, candidates):
            chosen.append(Signal("title", title, TITLE_WEIGHT))
    elif corpus is not None and covered(corpus, candidates):
        chosen.append(Signal("dense", corpus, CORPUS_WEIGHT))
    return chosen
