"""Build the whole map from the store, and place new papers into it without rebuilding.

The data's path: the store's vectors (the model the dense search retrieves with, so the map
and "similar papers" agree) -> ``projection.project`` -> ``labels.label_levels`` ->
``storage.save``. A paper is on the map once it has a vector of the map's model; a paper
without one is simply not yet there, and ``place_new`` adds it once the embedder has
written its vector (the vectors' sequence numbers say what is new since the map was made).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..store.base import Store
from . import labels as labelling
from .projection import DEFAULT_METHOD, K_PLACE, effective_method, knn_position, project
from .storage import MapData, day_number

log = logging.getLogger(__name__)

META_BATCH = 5_000
NEIGHBOURS_FETCHED = K_PLACE + 40
"""Nearest papers asked of the vector index per new paper: room for neighbours that are not
on the map yet (other new papers, hidden ones) to drop out and still leave K_PLACE."""


def map_model(store: Store) -> str:
    """The model the dense search retrieves with: the transformer once its vectors cover the
    corpus, else the static model (searcher.dense_model)."""
    from ..search.searcher import dense_model

    return dense_model(store)


@dataclass(slots=True)
class _Paper:
    title: str
    abstract: str
    category: str
    day: int
    id: str


def _read_papers(store: Store, keys: list[int], *, text: bool = True) -> dict[int, _Paper]:
    """Visible papers by key (hidden ones stay off the map), in batches; without ``text``,
    titles and abstracts are not kept (a million abstracts are 1.5 GB of strings)."""
    out: dict[int, _Paper] = {}
    for i in range(0, len(keys), META_BATCH):
        for key, p in store.papers_by_keys(keys[i : i + META_BATCH]).items():
            category = p.primary_category or (p.categories[0] if p.categories else "")
            out[int(key)] = _Paper(
                p.title if text else "", (p.abstract or "") if text else "", category,
                day_number(p.feed_day), p.id,
            )  # fmt: skip
    return out


def _read_vectors(
    store: Store, model: str, after_seq: int = 0
) -> tuple[np.ndarray, np.ndarray, int]:
    """(keys, vectors, last seq) of the model's vectors written after ``after_seq``; a key
    written twice keeps its newest vector."""
    keys, vectors, last = [], [], after_seq
    for batch in store.iter_vectors(model, after_seq=after_seq):
        keys.append(batch.keys)
        vectors.append(batch.vectors)
        last = int(batch.seqs[-1])
    if not keys:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), last
    k, v = np.concatenate(keys), np.vstack(vectors)
    _, newest = np.unique(k[::-1], return_index=True)
    pick = np.sort(len(k) - 1 - newest)
    return k[pick], v[pick], last


PROJECTED_MAX = 100_000
"""Papers the projection lays out; on a larger corpus these are a uniform sample, and every
other paper is placed among them by its nearest sampled neighbours, the way new papers are
placed between rebuilds. t-SNE on a million papers would take hours on 2 cores and several
GB; 100k take about as long as the 75k map (5 minutes), and placing 900k more a few minutes.
Regions and their keywords come from the sample too. Figures in the README (bench/map.py)."""
PLACE_BATCH = 20_000


def build_map(
    store: Store, *, model: str | None = None, method: str = DEFAULT_METHOD, seed: int = 0,
    progress: Callable[[str], None] | None = None, projected_max: int = PROJECTED_MAX,
) -> MapData:  # fmt: skip
    """The map of every visible paper that has a vector of ``model``."""
    say = progress or (lambda msg: log.info("map: %s", msg))
    model = model or map_model(store)
    _, epoch = store.vector_head(model)
    t = time.perf_counter()
    keys, vectors, max_seq = _read_vectors(store, model)
    papers = _read_papers(store, keys.tolist(), text=len(keys) <= projected_max)
    on_map = np.asarray([int(k) in papers for k in keys.tolist()], dtype=bool)
    keys, vectors = keys[on_map], vectors[on_map] if len(vectors) else vectors
    # A random row order: any prefix of the file is a uniform sample of the map.
    order = np.random.default_rng(seed).permutation(len(keys))
    keys, vectors = keys[order], vectors[order] if len(vectors) else vectors
    rows = [papers[int(k)] for k in keys.tolist()]
    say(f"read {len(keys):,} papers with {model} vectors in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    laid = min(len(keys), projected_max)
    head = vectors[:laid]  # the rows are in random order: a uniform sample
    xy = project(head, method, seed=seed) if laid else np.zeros((0, 2), dtype=np.float32)
    say(f"projected {laid:,} papers ({method}) in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    if laid < len(keys):  # only the sample's words name the regions: read those texts now
        papers = _read_papers(store, keys[:laid].tolist())
        rows[:laid] = [papers.get(int(k), row) for k, row in zip(keys[:laid].tolist(), rows, strict=False)]
    del papers
    texts = [f"{p.title}. {p.title}. {p.abstract}" for p in rows[:laid]]  # the title counts twice
    clusters, labels = labelling.label_levels(xy, texts, seed=seed)
    del texts
    say(f"regions and keywords at {len(labels)} zoom levels in {time.perf_counter() - t:.1f} s")
    if laid < len(keys):
        t = time.perf_counter()
        rest_xy, rest_clusters = _place_among(head, xy, labels, vectors[laid:])
        xy, clusters = np.vstack([xy, rest_xy]), np.hstack([clusters, rest_clusters])
        labels = [
            [replace(lab, size=int(n)) for lab, n in zip(level, np.bincount(c, minlength=len(level)), strict=True)]
            for level, c in zip(labels, clusters.astype(np.int64), strict=True)
        ]  # fmt: skip
        say(f"placed the other {len(keys) - laid:,} among them in {time.perf_counter() - t:.1f} s")
    categories = sorted({p.category for p in rows})
    cat_index = {c: i for i, c in enumerate(categories)}
    return MapData(
        keys=keys.astype(np.int64), xy=xy, clusters=clusters,
        category=np.asarray([cat_index[p.category] for p in rows], dtype=np.uint16),
        day=np.asarray([p.day for p in rows], dtype=np.uint16), ids=[p.id for p in rows],
        categories=categories, labels=labels, model=model, method=effective_method(len(keys), method),
        epoch=epoch, max_seq=max_seq, built_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )  # fmt: skip


def _place_among(
    head: np.ndarray, head_xy: np.ndarray, labels: list, rest: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(xy, regions per level) of ``rest``, placed among the laid-out ``head`` papers by their
    K_PLACE nearest (an HNSW graph over the head's unit vectors: exact search would cost
    hours at a million papers)."""
    import faiss

    graph = faiss.IndexHNSWFlat(head.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = 80
    graph.add(np.ascontiguousarray(head, dtype=np.float32))
    graph.hnsw.efSearch = 64
    xy = np.empty((len(rest), 2), dtype=np.float32)
    clusters = np.empty((len(labels), len(rest)), dtype=np.uint16)
    for lo in range(0, len(rest), PLACE_BATCH):
        batch = np.ascontiguousarray(rest[lo : lo + PLACE_BATCH], dtype=np.float32)
        sims, found = graph.search(batch, K_PLACE)
        nb_xy = np.where((found >= 0)[..., None], head_xy[np.maximum(found, 0)], np.nan)
        placed = knn_position(nb_xy, np.where(found >= 0, sims, np.nan))
        xy[lo : lo + len(batch)] = placed
        for level, level_labels in enumerate(labels):
            clusters[level, lo : lo + len(batch)] = labelling.nearest_cluster(placed, level_labels)
    return xy, clusters


@dataclass(slots=True)
class PlaceResult:
    data: MapData
    placed: int
    """Papers added to the map or moved (re-embedded) on it."""
    skipped: int = 0
    """Vectors of hidden papers, or papers with no placed neighbour yet."""


def place_new(store: Store, data: MapData, *, index_dir: Path | None) -> PlaceResult:
    """Place the papers whose vectors were written since the map last looked."""
    keys, vectors, last = _read_vectors(store, data.model, after_seq=data.max_seq)
    result = _place(store, data, keys, vectors, index_dir)
    result.data = replace(result.data, max_seq=max(last, data.max_seq))
    return result


def place_keys(
    store: Store, data: MapData, keys: list[int], *, index_dir: Path | None
) -> PlaceResult:
    """Place these papers (those that have a vector of the map's model)."""
    found = store.get_vectors(data.model, [int(k) for k in keys])
    ordered = [int(k) for k in keys if int(k) in found]
    vectors = (
        np.vstack([found[k] for k in ordered]) if ordered else np.zeros((0, 0), dtype=np.float32)
    )
    return _place(store, data, np.asarray(ordered, dtype=np.int64), vectors, index_dir)


def _place(
    store: Store, data: MapData, keys: np.ndarray, vectors: np.ndarray, index_dir: Path | None
) -> PlaceResult:
    if not len(keys):
        return PlaceResult(data, 0)
    if not len(data):
        return PlaceResult(data, 0, skipped=len(keys))  # nothing to place among: rebuild instead
    from ..search.searcher import shared_index

    index = shared_index(store, data.model, index_dir)
    papers = _read_papers(store, keys.tolist())
    row_of = data.row_of
    nb_xy = np.full((len(keys), K_PLACE, 2), np.nan, dtype=np.float32)
    nb_sim = np.full((len(keys), K_PLACE), np.nan, dtype=np.float32)
    for i, (key, vector) in enumerate(zip(keys.tolist(), vectors, strict=True)):
        if key not in papers:
            continue
        j = 0
        for other, sim in index.search(vector, NEIGHBOURS_FETCHED):
            row = row_of.get(int(other))
            if row is None or other == key:
                continue
            nb_xy[i, j], nb_sim[i, j] = data.xy[row], sim
            j += 1
            if j == K_PLACE:
                break
    xy = knn_position(nb_xy, nb_sim)
    ok = np.isfinite(xy).all(axis=1) & np.asarray(
        [int(k) in papers for k in keys.tolist()], dtype=bool
    )
    if not ok.any():
        return PlaceResult(data, 0, skipped=len(keys))
    keys, xy = keys[ok], xy[ok]
    placed = [papers[int(k)] for k in keys.tolist()]
    categories = list(data.categories)
    cat_index = {c: i for i, c in enumerate(categories)}
    for p in placed:
        if p.category not in cat_index:
            cat_index[p.category] = len(categories)
            categories.append(p.category)
    clusters = (
        np.vstack([labelling.nearest_cluster(xy, level) for level in data.labels])
        if data.labels
        else np.zeros((0, len(keys)), dtype=np.uint16)
    )
    category = np.asarray([cat_index[p.category] for p in placed], dtype=np.uint16)
    day = np.asarray([p.day for p in placed], dtype=np.uint16)

    # A re-embedded paper already on the map moves; the others are appended.
    rows = data.rows_of(keys)
    old = rows >= 0
    new_data = replace(
        data, keys=data.keys.copy(), xy=data.xy.copy(), clusters=data.clusters.copy(),
        category=data.category.copy(), day=data.day.copy(), ids=list(data.ids), categories=categories, _row_of=None,
    )  # fmt: skip
    if old.any():
        r = rows[old]
        new_data.xy[r], new_data.clusters[:, r] = xy[old], clusters[:, old]
        new_data.category[r], new_data.day[r] = category[old], day[old]
    fresh = ~old
    if fresh.any():
        new_data.keys = np.concatenate([new_data.keys, keys[fresh]])
        new_data.xy = np.vstack([new_data.xy, xy[fresh]])
        new_data.clusters = np.hstack([new_data.clusters, clusters[:, fresh]])
        new_data.category = np.concatenate([new_data.category, category[fresh]])
        new_data.day = np.concatenate([new_data.day, day[fresh]])
        new_data.ids.extend(p.id for p, f in zip(placed, fresh, strict=True) if f)
    new_data.placed_since_build = data.placed_since_build + len(keys)
    return PlaceResult(new_data, len(keys), skipped=int((~ok).sum()))
