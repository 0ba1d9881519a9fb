"""Paper vectors -> 2-D points, so that neighbours on the map are similar papers.

The method is chosen by measurement (``bench/map.py``: the share of each paper's 10 nearest
neighbours in the vector space that stay among its 10 nearest on the map, build time, peak
memory, and how far an incrementally placed paper lands from where a rebuild puts it). PCA
is the baseline every method is compared with, and the fallback for corpora too small for
a neighbour-graph method to mean anything.

New papers are never projected by re-running the method: ``knn_position`` puts each one at
the similarity-weighted mean of its nearest already-placed papers (``place.py``), which is
what the bench measured against a full rebuild.
"""

from __future__ import annotations

import numpy as np

METHODS = ("pca", "opentsne", "umap", "pacmap")
DEFAULT_METHOD = "opentsne"
SMALL = 200
"""Below this many papers the map is PCA: t-SNE and UMAP need a neighbourhood (perplexity
30 looks at ~90 neighbours) that a tiny corpus does not have."""
K_PLACE = 5
"""Neighbours a new paper is placed among: bench/map.py compared 5, 10 and 20 (5 kept the
most true neighbours for every method, by a small margin)."""
TEMPERATURE = 0.02
"""Softness of the neighbours' weights, in cosine units (bench/map.py compares it with a
plain mean)."""


class ProjectionUnavailable(RuntimeError):
    """The method's package is not installed; the message names it."""


def effective_method(n: int, method: str) -> str:
    """The method ``project`` really runs for n papers (PCA below SMALL)."""
    return method if n >= SMALL else "pca"


def project(
    vectors: np.ndarray, method: str = DEFAULT_METHOD, *, seed: int = 0, n_jobs: int = 2
) -> np.ndarray:
    """float32 (n, 2) coordinates, centred, scaled so the RMS radius is 1."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if n < 3:
        out = np.zeros((n, 2), dtype=np.float32)
        out[:, 0] = np.arange(n, dtype=np.float32)
        return _normalise(out)
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; one of {', '.join(METHODS)}")
    if method == "pca" or n < SMALL:
        return _normalise(_pca(vectors, seed))
    try:
        if method == "opentsne":
            coords = _opentsne(vectors, seed, n_jobs)
        elif method == "umap":
            coords = _umap(vectors, seed, n_jobs)
        else:
            coords = _pacmap(vectors, seed)
    except ImportError as exc:
        raise ProjectionUnavailable(
            f"projection {method!r} needs a package that is missing: {exc}"
        ) from exc
    return _normalise(np.asarray(coords, dtype=np.float32))


def _normalise(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords, dtype=np.float32)
    coords = coords - coords.mean(axis=0, keepdims=True)
    radius = float(np.sqrt((coords**2).sum(axis=1).mean())) if len(coords) else 0.0
    if radius > 0:
        coords = coords / radius
    return np.ascontiguousarray(coords, dtype=np.float32)


def _pca(vectors: np.ndarray, seed: int) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    # The top two right singular vectors; a randomized SVD would be no faster at 384 dims.
    _, _, vt = np.linalg.svd(centred[: min(len(centred), 50_000)], full_matrices=False)
    coords = centred @ vt[:2].T
    # Fix the signs so the same corpus always gives the same picture.
    signs = np.sign(coords[np.abs(coords).argmax(axis=0), [0, 1]])
    return coords * np.where(signs == 0, 1, signs)


LARGE_ITERATIONS = {"early_exaggeration_iter": 125, "n_iter": 250}
"""t-SNE iterations above 10k papers, instead of openTSNE's 250 + 500: on 20,000 papers of the
corpus the share of 10 nearest neighbours kept was 0.345 against 0.350, in 45% of the time
(the 75k build must fit in 5 minutes on 2 cores; see bench/map.py)."""


def _opentsne(vectors: np.ndarray, seed: int, n_jobs: int) -> np.ndarray:
    from openTSNE import TSNE

    n = len(vectors)
    perplexity = float(min(30.0, max(5.0, (n - 1) / 3.5)))
    # Barnes-Hut below 10k points, FFT-interpolated gradients above (openTSNE's own rule);
    # one thread for small maps: measured 2 s on one thread against 36 s on two when the
    # machine's other work takes the second core (threads then wait on each other).
    small = n < 10_000
    tsne = TSNE(
        perplexity=perplexity,
        metric="cosine",
        initialization="pca",
        negative_gradient_method="bh" if small else "fft",
        n_jobs=1 if small else n_jobs,
        random_state=seed,
        verbose=False,
        **({} if small else LARGE_ITERATIONS),
    )
    return np.asarray(tsne.fit(vectors))


def _umap(vectors: np.ndarray, seed: int, n_jobs: int) -> np.ndarray:
    import umap

    # A random_state would force one thread; the seed only fixes the initialisation here.
    reducer = umap.UMAP(n_neighbors=15, min_dist=0.1, metric="cosine", n_jobs=n_jobs, init="pca")
    return reducer.fit_transform(vectors)


def _pacmap(vectors: np.ndarray, seed: int) -> np.ndarray:
    import pacmap

    reducer = pacmap.PaCMAP(n_components=2, n_neighbors=10, random_state=seed)
    return reducer.fit_transform(vectors, init="pca")


def knn_position(
    neighbour_xy: np.ndarray, sims: np.ndarray, *, temperature: float = TEMPERATURE
) -> np.ndarray:
    """Where new papers go: (m, k, 2) neighbour positions and (m, k) cosines -> (m, 2).

    The weights favour the closest neighbours (cosine shifted so the k-th counts little),
    so a paper between two regions lands near the one it resembles most instead of in the
    empty space between them. Rows whose neighbours are all missing (NaN) stay NaN."""
    sims = np.asarray(sims, dtype=np.float64)
    valid = np.isfinite(sims) & np.isfinite(neighbour_xy).all(axis=2)
    s = np.where(valid, sims, -np.inf)
    top = np.max(s, axis=1, keepdims=True)
    w = np.where(valid, np.exp((s - np.where(np.isfinite(top), top, 0.0)) / temperature), 0.0)
    total = w.sum(axis=1, keepdims=True)
    xy = np.where(valid[..., None], neighbour_xy, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (w[..., None] * xy).sum(axis=1) / total
    return out.astype(np.float32)
