"""Regions of the map and the few words that name each, at three zoom levels.

Regions are k-means clusters of the 2-D points (not of the vectors): a label must sit over
a patch of the picture, and clusters of the picture are patches by construction. Each
region is named by class-based TF-IDF (BERTopic's c-TF-IDF): a region's papers are read as
one document, and a term scores by its frequency there times ``log(1 + A / f)``, where ``A``
is the average number of words per region and ``f`` the term's frequency over all regions,
so words every region uses ("model", "results") never name one.
"""

from __future__ import annotations

import re

import numpy as np

from .storage import ClusterLabel

LEVELS = (12, 48, 192)
"""Regions per zoom level on a corpus of 75k papers: a dozen continents to read at a glance,
then finer. A small corpus gets fewer (about one region per 8 papers at most)."""
KEYWORDS = 3
STOP_WORDS = frozenset(
    """a about above across after again against all almost also although among an and any are
    as at be because been before being below between both but by can could did do does doing
    done during each either et etc few for from further had has have having here how however
    i if in into is it its itself just less like many may more most much must no nor not now
    of off on once one only or other others our out over own per rather same several should
    since so some such than that the their them then there these they this those through thus
    to too two under until up upon use used uses using very via was we well were what when
    where whether which while who whom whose why will with within without would yet you your
    al approach approaches based achieve achieves across address additionally allows analysis
    best better called case cases challenge challenges compared comprehensive consider
    demonstrate demonstrates different effective effectively efficient enable enables
    existing experiments extensive first framework frameworks further given high however
    important improve improved improves improving including introduce introduces key large
    lead leading leverage leverages method methods moreover new novel numerous often outperforms
    paper performance present presents problem problems propose proposed proposes provide
    provides recent recently remains result results show shows significant significantly
    state study studies task tasks three towards two various well work works yet ability
    available level low make makes making range real set specific strong support time via
    code publicly release released github https http www com org""".split()
)
_TOKEN = re.compile(r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]{2,}\b")


def levels_for(n: int) -> list[int]:
    """Regions per level for n papers: the 75k figures scaled by sqrt(n / 75k) for larger
    corpora, capped at n / 8 for small ones, and never fewer than one."""
    scale = max(1.0, (n / 75_000) ** 0.5)
    out = []
    for k in LEVELS:
        out.append(int(max(1, min(round(k * scale), n // 8 if n >= 8 else 1))))
    return out


def cluster(xy: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(uint16 assignment per point, float32 centroids (k, 2))."""
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=np.uint16), np.zeros((0, 2), dtype=np.float32)
    k = max(1, min(k, n))
    if k == 1:
        return np.zeros(n, dtype=np.uint16), xy.mean(axis=0, keepdims=True).astype(np.float32)
    from sklearn.cluster import KMeans, MiniBatchKMeans

    km = (
        KMeans(n_clusters=k, n_init=1, random_state=seed)
        if n <= 20_000
        else MiniBatchKMeans(n_clusters=k, n_init=3, random_state=seed, batch_size=4096)
    )
    assign = km.fit_predict(np.asarray(xy, dtype=np.float64))
    # Empty clusters are possible with MiniBatchKMeans: renumber to the ones in use.
    used, assign = np.unique(assign, return_inverse=True)
    centroids = np.vstack([xy[assign == c].mean(axis=0) for c in range(len(used))])
    return assign.astype(np.uint16), centroids.astype(np.float32)


def nearest_cluster(xy: np.ndarray, labels: list[ClusterLabel]) -> np.ndarray:
    """Each point's region at one level: the nearest region centre (for placed papers)."""
    if not labels or not len(xy):
        return np.zeros(len(xy), dtype=np.uint16)
    centres = np.asarray([[lab.x, lab.y] for lab in labels], dtype=np.float32)
    d = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return d.argmin(axis=1).astype(np.uint16)


def term_matrix(texts: list[str]):
    """Sparse (papers x terms) counts of words and two-word phrases, and the vocabulary."""
    from sklearn.feature_extraction.text import CountVectorizer

    n = len(texts)
    vec = CountVectorizer(
        lowercase=True, token_pattern=_TOKEN.pattern, stop_words=list(STOP_WORDS), ngram_range=(1, 2),
        min_df=max(1, min(5, n // 200)), max_df=0.5 if n >= 50 else 1.0, max_features=60_000, dtype=np.float32,
    )  # fmt: skip
    try:
        counts = vec.fit_transform(texts)
    except ValueError:  # no term at all (empty or all stop words)
        return None, np.array([], dtype=object)
    return counts.tocsr(), vec.get_feature_names_out()


def ctfidf_keywords(
    counts, vocab: np.ndarray, assign: np.ndarray, k: int, top: int = KEYWORDS
) -> list[list[str]]:
    """The ``top`` terms of each region by class-based TF-IDF; a phrase hides its words."""
    if counts is None or not len(vocab):
        return [[] for _ in range(k)]
    from scipy import sparse

    onehot = sparse.csr_matrix((np.ones(len(assign), dtype=np.float32), (assign.astype(np.int64), np.arange(len(assign)))),
                               shape=(k, len(assign)))  # fmt: skip
    per_region = (onehot @ counts).toarray()  # (k, terms)
    words = per_region.sum(axis=1, keepdims=True)
    tf = np.divide(per_region, words, out=np.zeros_like(per_region), where=words > 0)
    avg = float(words.mean()) if len(words) else 0.0
    freq = per_region.sum(axis=0)
    idf = np.log1p(np.divide(avg, freq, out=np.zeros_like(freq), where=freq > 0))
    scores = tf * idf[None, :]
    out = []
    for c in range(k):
        order = np.argsort(-scores[c])[: top * 6]
        chosen: list[str] = []
        for t in order:
            if scores[c, t] <= 0 or len(chosen) >= top:
                break
            term = str(vocab[t])
            parts = set(term.split())
            if any(parts & set(o.split()) for o in chosen):
                continue  # "language model" and "language": one of them is enough
            chosen.append(term)
        out.append(chosen)
    return out


def label_levels(
    xy: np.ndarray, texts: list[str], *, seed: int = 0
) -> tuple[np.ndarray, list[list[ClusterLabel]]]:
    """(uint16 (levels, n) region of each paper, labels per level)."""
    n = len(xy)
    ks = levels_for(n)
    counts, vocab = term_matrix(texts) if n else (None, np.array([], dtype=object))
    assignments, labels = [], []
    for k in ks:
        assign, centroids = cluster(xy, k, seed)
        k_used = len(centroids)
        keywords = ctfidf_keywords(counts, vocab, assign, k_used)
        sizes = (
            np.bincount(assign.astype(np.int64), minlength=k_used)
            if n
            else np.zeros(0, dtype=np.int64)
        )
        assignments.append(assign)
        labels.append([
            ClusterLabel(keywords[c], float(centroids[c, 0]), float(centroids[c, 1]), int(sizes[c]))
            for c in range(k_used)
        ])  # fmt: skip
    clusters = (
        np.vstack(assignments).astype(np.uint16)
        if assignments
        else np.zeros((len(ks), 0), dtype=np.uint16)
    )
    return clusters, labels
