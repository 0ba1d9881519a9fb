"""In-memory lexical scorers (BM25, TF-IDF cosine) for re-ranking a known set of papers.

Why here and not in the store: the store's FTS5/tsvector BM25 finds candidates across the whole
corpus; these scorers re-score a small pool (a query's candidates, or a result page being
re-ranked) with the *same* tokenisation on both sides, and accept a whole abstract as the query,
which FTS5 MATCH syntax cannot. They also give the benchmark its lexical baselines without
pulling in scikit-learn.

Statistics (IDF, average length) come from the documents the index was built on; build it on
the whole collection and score any subset with ``ids=``, so a 10-candidate pool still gets
collection-wide IDF.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    via using use used based show shows shown paper propose proposed present presents approach
    method methods results result new however thus also well""".split()
)
"""English function words plus the boilerplate every abstract repeats ("we propose a new
method ..."); for whole-abstract queries these otherwise dominate term overlap."""


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """Plural folding (Harman's S-stemmer): "networks"/"network" must match, but an aggressive
    stemmer would merge unrelated technical terms."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("us", "ss", "is")):
        return word[:-1]
    return word


def tokenize(text: str | None, *, stem: bool = True, stopwords: bool = True) -> list[str]:
    """Lower-cased word tokens; accents folded so "Schrödinger" matches "Schrodinger"."""
    if not text:
        return []
    text = text.lower()
    if not text.isascii():  # most abstracts are: folding walks every character, so skip it
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    stop = STOPWORDS if stopwords else frozenset()
    out = []
    for w in _WORD.findall(text):
        if "'" in w or "’" in w:
            w = w.replace("’", "").replace("'", "")
        if w and w not in stop:
            out.append(_stem(w) if stem else w)
    return out


def term_counts(text: str | None) -> Counter[str]:
    """``Counter(tokenize(text))``, but stemming and filtering each distinct word once: a
    paper's "similar papers" tokenise a hundred abstracts per page view."""
    out: Counter[str] = Counter()
    if not text:
        return out
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    for w, n in Counter(_WORD.findall(text)).items():
        if "'" in w or "’" in w:
            w = w.replace("’", "").replace("'", "")
        if w and w not in STOPWORDS:
            out[_stem(w)] += n
    return out


class _LexicalIndex:
    """Postings (term → doc positions, term counts) over a fixed document list."""

    def __init__(
        self, docs: Iterable[tuple[Hashable, str]], *, stem: bool = True, stopwords: bool = True
    ) -> None:
        self._stem, self._stop = stem, stopwords
        self.ids: list[Hashable] = []
        self._pos: dict[Hashable, int] = {}
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths: list[int] = []
        for doc_id, text in docs:
            if doc_id in self._pos:
                raise ValueError(f"duplicate document id {doc_id!r}")
            i = len(self.ids)
            self._pos[doc_id] = i
            self.ids.append(doc_id)
            counts = Counter(self.tokens(text))
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                docs_, tfs = postings.setdefault(term, ([], []))
                docs_.append(i)
                tfs.append(tf)
        self.n_docs = len(self.ids)
        self.lengths = np.asarray(lengths, dtype=np.float64)
        self._postings = {
            t: (np.asarray(d, dtype=np.int64), np.asarray(f, dtype=np.float64))
            for t, (d, f) in postings.items()
        }

    def tokens(self, text: str | None) -> list[str]:
        return tokenize(text, stem=self._stem, stopwords=self._stop)

    def df(self, term: str) -> int:
        p = self._postings.get(term)
        return 0 if p is None else len(p[0])

    def _scores(self, query: str) -> np.ndarray:
        raise NotImplementedError

    def score(self, query: str, ids: Sequence[Hashable] | None = None) -> list[float]:
        """Scores for ``ids`` (default: every document), in that order.

        Raises ``KeyError`` for an id the index was not built with: scoring it as 0 would
        silently rank an unindexed paper last.
        """
        scores = self._scores(query)
        if ids is None:
            return scores.tolist()
        return [float(scores[self._pos[i]]) for i in ids]

    def rank(
        self, query: str, ids: Sequence[Hashable] | None = None
    ) -> list[tuple[Hashable, float]]:
        """(id, score) best first; equal scores keep the order of ``ids`` (stable)."""
        pool = list(self.ids if ids is None else ids)
        scores = self.score(query, pool)
        order = sorted(range(len(pool)), key=lambda j: -scores[j])
        return [(pool[j], scores[j]) for j in order]


class BM25(_LexicalIndex):
    """Okapi BM25 with the non-negative Lucene IDF.

    Query terms count once each by default (a short typed query). With ``query_tf=True`` a
    repeated query term counts more, saturated like document terms (parameter ``k3``): that is
    what a whole abstract used as a query needs, where repetition marks its topic.
    """

    def __init__(
        self,
        docs: Iterable[tuple[Hashable, str]],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        k3: float = 8.0,
        query_tf: bool = False,
        stem: bool = True,
        stopwords: bool = True,
    ) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError("BM25 needs k1 >= 0 and 0 <= b <= 1")
        super().__init__(docs, stem=stem, stopwords=stopwords)
        self.k1, self.b, self.k3, self.query_tf = k1, b, k3, query_tf
        avg = float(self.lengths.mean()) if self.n_docs else 0.0
        self._norm = k1 * (1 - b + b * self.lengths / avg) if avg else np.full(self.n_docs, k1)

    def idf(self, term: str) -> float:
        df = self.df(term)
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def _scores(self, query: str) -> np.ndarray:
        scores = np.zeros(self.n_docs, dtype=np.float64)
        qcounts = Counter(self.tokens(query))
        for term, qtf in qcounts.items():
            p = self._postings.get(term)
            if p is None:
                continue
            docs, tfs = p
            weight = self.idf(term)
            if self.query_tf:
                weight *= qtf * (self.k3 + 1) / (qtf + self.k3)
            scores[docs] += weight * tfs * (self.k1 + 1) / (tfs + self._norm[docs])
        return scores


class TfIdf(_LexicalIndex):
    """Cosine of sublinear-tf × smoothed-idf vectors — the classic "similar papers" baseline
    (arxiv-sanity's), kept as the yardstick the benchmark compares against."""

    def __init__(
        self,
        docs: Iterable[tuple[Hashable, str]],
        *,
        sublinear_tf: bool = True,
        stem: bool = True,
        stopwords: bool = True,
    ) -> None:
        super().__init__(docs, stem=stem, stopwords=stopwords)
        self.sublinear_tf = sublinear_tf
        norms = np.zeros(self.n_docs, dtype=np.float64)
        for term, (docs, tfs) in self._postings.items():
            norms[docs] += (self._tf(tfs) * self.idf(term)) ** 2
        self._doc_norms = np.sqrt(norms)

    def _tf(self, tf: np.ndarray) -> np.ndarray:
        return 1 + np.log(tf) if self.sublinear_tf else tf

    def idf(self, term: str) -> float:
        return math.log((1 + self.n_docs) / (1 + self.df(term))) + 1

    def _scores(self, query: str) -> np.ndarray:
        dots = np.zeros(self.n_docs, dtype=np.float64)
        qcounts = Counter(self.tokens(query))
        qnorm = 0.0
        for term, qtf in qcounts.items():
            qw = float(self._tf(np.array([qtf], dtype=np.float64))[0]) * self.idf(term)
            qnorm += qw * qw
            p = self._postings.get(term)
            if p is None:
                continue
            docs, tfs = p
            dots[docs] += qw * self._tf(tfs) * self.idf(term)
        denom = self._doc_norms * math.sqrt(qnorm)
        return np.divide(dots, denom, out=np.zeros_like(dots), where=denom > 0)
