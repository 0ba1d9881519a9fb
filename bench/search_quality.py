"""Search quality: lexical, dense, hybrid and re-ranked rankings side by side, on two judged sets.

    .venv/bin/python bench/search_quality.py [--shared ../shared] [--cache-dir /tmp/pb-emb]
                                             [--models minilm-static-256,minilm-l6-int8]
                                             [--rerank-top 50] [--sweep]

Why: every ranking choice in paperboard/search (which model, BM25 flavour, fusion method, k,
weights, re-rank depth) is a global parameter picked here, by measurement, never per query.
Both sets re-rank a given candidate pool, which isolates ranking quality from corpus size:
- CSFCube ("similar papers"): the query is a paper (title + abstract); NDCG@20 with gain
  2^rel - 1 and MAP (rel >= 2), averaged over the 50 query/facet pairs (facet ignored).
  The "similar papers" rows run the product's own scoring (paperboard/search/similar.py) on
  each pool, as a paper page would.
- s2-search (typed queries): nDCG@10 with the click score as gain; MRR of the first
  candidate with score >= 1.
Ratios are against BM25 measured in the same run. Corpus embedding speed (docs/s) is printed
per model. ``--cache-dir`` keeps embeddings between runs (keyed by model file and text hashes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from paperboard.search.bm25 import BM25, TfIdf  # noqa: E402
from paperboard.search.embedder import (  # noqa: E402
    MODELS_DIR,
    ONNX_MODEL,
    STATIC_MODEL,
    Embedder,
    load_embedder,
    paper_text,
)
from paperboard.search.fusion import rrf, score_fusion  # noqa: E402
from paperboard.search.similar import choose_signals, lexical_scores, rank_similar  # noqa: E402

FACETS = ("background", "method", "result")
Scores = dict[Hashable, float]


# ---------------------------------------------------------------- metrics


def ndcg(ranking: Sequence[Hashable], gains: dict[Hashable, float], k: int) -> float:
    dcg = sum(gains.get(d, 0.0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def average_precision(ranking: Sequence[Hashable], relevant: set[Hashable]) -> float:
    hits, total = 0, 0.0
    for i, d in enumerate(ranking, start=1):
        if d in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant) if relevant else 0.0


def reciprocal_rank(ranking: Sequence[Hashable], relevant: set[Hashable]) -> float:
    for i, d in enumerate(ranking, start=1):
        if d in relevant:
            return 1.0 / i
    return 0.0


def by_score(scores: Scores, pool: Sequence[Hashable]) -> list[Hashable]:
    """Best first; equal scores keep pool order, so no method gains from lucky ties."""
    return sorted(pool, key=lambda d: -scores[d])


# ---------------------------------------------------------------- data


@dataclass
class Query:
    qid: str
    text: str
    pool: list[Hashable]
    labels: dict[Hashable, float]
    extra: dict[Hashable, float] = field(default_factory=dict)  # citations (s2)
    source: Hashable | None = None  # the query paper's id (CSFCube)


@dataclass
class Dataset:
    name: str
    docs: dict[Hashable, str]  # id -> paper_text
    queries: list[Query]
    metrics: dict[str, Callable[[list[Hashable], Query], float]]
    long_queries: bool  # the query is a whole paper
    titles: dict[Hashable, str] = field(default_factory=dict)  # id -> title (CSFCube)


def load_csfcube(root: Path) -> Dataset:
    docs, titles = {}, {}
    for line in (root / "papers.jsonl").open(encoding="utf-8"):
        p = json.loads(line)
        docs[p["paper_id"]] = paper_text(p["title"], p["abstract"])
        titles[p["paper_id"]] = p["title"] or ""
    queries, missing = [], set()
    for facet in FACETS:
        anns = json.loads((root / f"test-pid2anns-csfcube-{facet}.json").read_text())
        for qid, a in anns.items():
            pool = [c for c in a["cands"] if c != qid]
            labels = dict(zip(a["cands"], a["relevance_adju"], strict=True))
            # A few judged candidates have no text in papers.jsonl: keep them (their labels
            # count in the ideal DCG) as empty documents, which every method ranks last.
            missing.update(c for c in pool if c not in docs)
            queries.append(Query(f"{qid}_{facet}", docs[qid], pool, labels, source=qid))
    docs.update(dict.fromkeys(missing, ""))
    titles.update(dict.fromkeys(missing, ""))
    metrics = {
        "NDCG@20": lambda r, q: ndcg(r, {d: 2.0**g - 1 for d, g in q.labels.items()}, 20),
        "MAP": lambda r, q: average_precision(r, {d for d, g in q.labels.items() if g >= 2}),
    }
    return Dataset("CSFCube", docs, queries, metrics, long_queries=True, titles=titles)


def load_s2(root: Path) -> Dataset:
    docs, queries = {}, []
    for n, line in enumerate((root / "search_small.jsonl").open(encoding="utf-8")):
        q = json.loads(line)
        pool, labels, cites = [], {}, {}
        for c in q["candidates"]:
            cid = str(c["corpus_id"])
            docs[cid] = paper_text(c.get("title"), c.get("abstract"))
            if cid not in labels:
                pool.append(cid)
            labels[cid] = float(c["score"])
            cites[cid] = float(c.get("n_citations") or 0)
        queries.append(Query(f"q{n}", q["query"], pool, labels, cites))
    metrics = {
        "nDCG@10": lambda r, q: ndcg(r, q.labels, 10),
        "MRR": lambda r, q: reciprocal_rank(r, {d for d, g in q.labels.items() if g >= 1}),
    }
    return Dataset("s2-search", docs, queries, metrics, long_queries=False)


# ---------------------------------------------------------------- embeddings


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class Vectors:
    """id/text -> unit vector for one model, embedded once (optionally cached on disk)."""

    def __init__(self, model: Embedder, cache_dir: Path | None) -> None:
        self.model, self.cache_dir = model, cache_dir
        self._vec: dict[str, np.ndarray] = {}
        self.docs_per_s: float | None = None

    def _model_hash(self) -> str:
        files = sorted((MODELS_DIR / self.model.name).glob("*"))
        return _sha(b"".join(f.name.encode() + f.read_bytes()[:1_000_000] for f in files))

    def add(self, texts: list[str], timed: bool = False) -> None:
        texts = [t for t in dict.fromkeys(texts) if t not in self._vec]
        if not texts:
            return
        path = None
        if self.cache_dir:
            key = _sha("\x00".join(texts).encode()) + "-" + self._model_hash()
            path = (
                self.cache_dir
                / f"{self.model.name}-{getattr(self.model, 'max_tokens', '')}-{key}.npy"
            )
        if path is not None and path.is_file():
            vecs = np.load(path)
        else:
            start = time.perf_counter()
            vecs = self.model.encode(texts)
            if timed:
                self.docs_per_s = len(texts) / (time.perf_counter() - start)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, vecs)
        self._vec.update(zip(texts, vecs, strict=True))

    def measure_speed(self, texts: list[str]) -> None:
        if self.docs_per_s is None:
            start = time.perf_counter()
            self.model.encode(texts)
            self.docs_per_s = len(texts) / (time.perf_counter() - start)

    def sims(self, query: str, docs: dict[Hashable, str], pool: Sequence[Hashable]) -> Scores:
        q = self._vec[query]
        return {d: float(self._vec[docs[d]] @ q) for d in pool}


# ---------------------------------------------------------------- methods


@dataclass
class Signals:
    """Per-query raw scores from each base scorer, computed once and fused many ways."""

    scores: dict[str, Scores]


def base_signals(ds: Dataset, vectors: dict[str, Vectors], bm25_b: float) -> list[Signals]:
    corpus = list(ds.docs.items())
    tfidf = TfIdf(corpus)
    bm25 = BM25(corpus, b=bm25_b, query_tf=ds.long_queries)
    out = []
    for q in ds.queries:
        s = {
            "tfidf": dict(zip(q.pool, tfidf.score(q.text, q.pool), strict=True)),
            "bm25": dict(zip(q.pool, bm25.score(q.text, q.pool), strict=True)),
        }
        for name, v in vectors.items():
            s[name] = v.sims(q.text, ds.docs, q.pool)
        if q.extra:
            s["citations"] = {d: math.log1p(q.extra[d]) for d in q.pool}
        out.append(Signals(s))
    return out


def fuse(
    sig: Signals, pool: Sequence[Hashable], parts: Sequence[str], how: str, weights=None, k=60
) -> list[Hashable]:
    if how == "rrf":
        ranked = [by_score(sig.scores[p], pool) for p in parts]
        return [d for d, _, _ in rrf(ranked, k=k, weights=weights)]
    fused = score_fusion([sig.scores[p] for p in parts], weights=weights, method=how)
    return [d for d, _, _ in fused]


def rerank(
    sig: Signals,
    pool: Sequence[Hashable],
    first: tuple[Sequence[str], str, Sequence[float] | None],
    second: tuple[Sequence[str], str, Sequence[float] | None],
    top: int,
) -> list[Hashable]:
    """What the product can afford: a cheap first pass over the pool, the strong model only on
    its top ``top``; the rest keep first-pass order."""
    first_order = fuse(sig, pool, first[0], first[1], first[2])
    head, tail = first_order[:top], first_order[top:]
    sub = Signals({p: {d: sig.scores[p][d] for d in head} for p in second[0]})
    return fuse(sub, head, second[0], second[1], second[2]) + tail


def evaluate(ds: Dataset, rank_fn: Callable[[int, Query], list[Hashable]]) -> dict[str, float]:
    totals = dict.fromkeys(ds.metrics, 0.0)
    for i, q in enumerate(ds.queries):
        ranking = rank_fn(i, q)
        assert sorted(map(str, ranking)) == sorted(map(str, q.pool)), "ranking lost candidates"
        for m, fn in ds.metrics.items():
            totals[m] += fn(ranking, q)
    return {m: v / len(ds.queries) for m, v in totals.items()}


def random_baseline(ds: Dataset, rounds: int = 20) -> dict[str, float]:
    rng = random.Random(0)
    acc = dict.fromkeys(ds.metrics, 0.0)
    for _ in range(rounds):
        r = evaluate(ds, lambda i, q: rng.sample(q.pool, len(q.pool)))
        for m in acc:
            acc[m] += r[m] / rounds
    return acc


# ---------------------------------------------------------------- main


DENSE_WEIGHT = {STATIC_MODEL: 1.0, ONNX_MODEL: 3.0}
"""Chosen global z-score weights of each model's cosine against BM25's 1 (see --sweep): the
transformer is the better single signal on both sets, so it leads; the static model is weaker
than BM25 and only earns an equal share."""


def similar_rows(ds: Dataset, vectors: dict[str, Vectors]):
    """The product's own "similar papers" scoring (paperboard/search/similar.py), run on each
    query's pool: what a paper page shows, with the vectors an installation may have."""

    def product(strong: bool):
        def rank(_i: int, q: Query) -> list[Hashable]:
            def cos(v: Vectors, text_of) -> dict[Hashable, float]:
                mine = v._vec[text_of(q.source)]
                return {c: float(v._vec[text_of(c)] @ mine) for c in q.pool}

            corpus = cos(vectors[STATIC_MODEL], ds.docs.__getitem__) if STATIC_MODEL in vectors else None
            if strong:
                signals = choose_signals(
                    q.pool,
                    strong=cos(vectors[ONNX_MODEL], ds.docs.__getitem__),
                    title=cos(vectors[ONNX_MODEL], ds.titles.__getitem__),
                    corpus=corpus,
                )
            else:
                signals = choose_signals(q.pool, corpus=corpus)
            ranked = rank_similar(q.text, {c: ds.docs[c] for c in q.pool}, signals)
            return [c for c, _, _ in ranked]

        return rank

    rows = []
    if STATIC_MODEL in vectors:
        rows.append(("similar papers: pool TF-IDF 1, static 1 (product, corpus model only)", product(False)))
    if ONNX_MODEL in vectors:
        rows.append(("similar papers: pool TF-IDF 1, int8 3, int8 title 1 (product)", product(True)))
    return rows


def similar_cross_validated(ds: Dataset, vectors: dict[str, Vectors], splits_file: Path) -> None:
    """How much of the similar-papers figure comes from choosing its weights on these very
    queries: with the dataset's own 2-fold split, pick the (text, title) weights on one fold's
    dev queries and score the other fold's test queries; the two test folds cover all 50."""
    if ONNX_MODEL not in vectors or not splits_file.is_file():
        return
    splits = json.loads(splits_file.read_text())["all"]
    index = {q.qid: i for i, q in enumerate(ds.queries)}
    v = vectors[ONNX_MODEL]

    def cos(q: Query, text_of) -> dict[Hashable, float]:
        mine = v._vec[text_of(q.source)]
        return {c: float(v._vec[text_of(c)] @ mine) for c in q.pool}

    parts = []
    for q in ds.queries:
        lexical = lexical_scores(q.text, {c: ds.docs[c] for c in q.pool})
        parts.append((lexical, cos(q, ds.docs.__getitem__), cos(q, ds.titles.__getitem__)))
    first = next(iter(ds.metrics))

    def score(i: int, w_text: float, w_title: float) -> float:
        q = ds.queries[i]
        lexical, text, title = parts[i]
        fused = score_fusion([lexical, text, title], weights=[1.0, w_text, w_title], method="zscore")
        return ds.metrics[first]([d for d, _, _ in fused], q)

    grid = [(a, b) for a in (1.0, 2.0, 3.0, 4.0) for b in (0.0, 0.5, 1.0, 1.5, 2.0)]
    tested, chosen = [], []
    for dev, test in (("fold1_dev", "fold1_test"), ("fold2_dev", "fold2_test")):
        dev_i = [index[x] for x in splits[dev]]
        best = max(grid, key=lambda w: sum(score(i, *w) for i in dev_i))
        chosen.append(best)
        tested += [score(index[x], *best) for x in splits[test]]
    print(
        f"similar papers, weights chosen by 2-fold cross-validation (chosen: {chosen}): "
        f"{first} {sum(tested) / len(tested):.3f} over {len(tested)} held-out queries"
    )


def method_table(ds: Dataset, sigs: list[Signals], models: list[str], top: int, vectors):
    S, O_ = STATIC_MODEL, ONNX_MODEL
    have = set(sigs[0].scores)
    rows: list[tuple[str, Callable[[int, Query], list[Hashable]] | None]] = [
        ("random (mean of 20 shuffles)", None),
    ]

    def single(p):
        return lambda i, q: by_score(sigs[i].scores[p], q.pool)

    def fused(parts, how, weights=None, k=60):
        return lambda i, q: fuse(sigs[i], q.pool, parts, how, weights, k)

    if "citations" in have:
        rows.append(("citation count only", single("citations")))
    rows += [("TF-IDF cosine", single("tfidf")), ("BM25", single("bm25"))]
    for m in models:
        rows.append((f"dense {m}", single(m)))
    for m in models:
        w = [1.0, DENSE_WEIGHT.get(m, 1.0)]
        rows.append((f"RRF k=60 (BM25, {m})", fused(["bm25", m], "rrf")))
        rows.append((f"RRF k=60 (BM25 1, {m} 2)", fused(["bm25", m], "rrf", [1, 2])))
        rows.append((f"z-score (BM25, {m})", fused(["bm25", m], "zscore")))
        if w[1] != 1.0:
            rows.append((f"z-score (BM25 1, {m} {w[1]:g})", fused(["bm25", m], "zscore", w)))
        rows.append((f"z-score (TF-IDF 1, {m} {w[1]:g})", fused(["tfidf", m], "zscore", w)))
    if S in have and O_ in have:
        w3 = [1.0, DENSE_WEIGHT[S], DENSE_WEIGHT[O_]]
        rows.append(("z-score (BM25 1, static 1, int8 3)", fused(["bm25", S, O_], "zscore", w3)))
        first = (["bm25", S], "zscore", [1.0, DENSE_WEIGHT[S]])
        second = (["bm25", O_], "zscore", [1.0, DENSE_WEIGHT[O_]])
        rows.append(
            (
                f"re-rank: z(BM25, static) → top {top}: z(BM25 1, int8 3)",
                lambda i, q: rerank(sigs[i], q.pool, first, second, top),
            )
        )
    if O_ in have:
        from paperboard.search.searcher import STRONG_DENSE_WEIGHT

        # What the default search does once the stronger model's vectors cover the corpus.
        rows.append((f"default search's fusion: z-score (BM25 1, int8 {STRONG_DENSE_WEIGHT:g})",
                     fused(["bm25", O_], "zscore", [1.0, STRONG_DENSE_WEIGHT])))  # fmt: skip
    if ds.titles:
        rows += similar_rows(ds, vectors)
    if "citations" in have:
        best = O_ if O_ in have else models[0]
        rows.append(
            (
                f"z-score (BM25 1, {best} {DENSE_WEIGHT[best]:g}, log citations 0.5)",
                fused(["bm25", best, "citations"], "zscore", [1.0, DENSE_WEIGHT[best], 0.5]),
            )
        )
    return rows


def print_table(ds: Dataset, rows, baseline_name="BM25") -> dict[str, dict[str, float]]:
    results = {}
    for name, fn in rows:
        results[name] = random_baseline(ds) if fn is None else evaluate(ds, fn)
    base = results[baseline_name]
    metrics = list(ds.metrics)
    width = max(len(n) for n in results) + 2
    print(f"\n== {ds.name}: {len(ds.queries)} queries ==")
    head = "".join(f"{m:>10}{'×' + baseline_name:>9}" for m in metrics)
    print(f"{'method':<{width}}{head}")
    for name, r in results.items():
        cells = "".join(
            f"{r[m]:>10.3f}{(r[m] / base[m] if base[m] else float('nan')):>9.2f}" for m in metrics
        )
        print(f"{name:<{width}}{cells}")
    return results


def sweep(ds: Dataset, sigs: list[Signals], models: list[str]) -> None:
    """Global-parameter grid (k, weights, fusion method, lexical scorer), printed for the record."""
    print(f"\n-- sweep on {ds.name} (first metric) --")
    first = next(iter(ds.metrics))
    for lex in ("bm25", "tfidf"):
        for m in models:
            for how, ks in (("rrf", (10, 30, 60, 100)), ("zscore", (None,)), ("minmax", (None,))):
                for k in ks:
                    cells = []
                    for w in (0.5, 1.0, 1.5, 2.0, 3.0):
                        r = evaluate(
                            ds,
                            lambda i, q, lex=lex, m=m, how=how, w=w, k=k: fuse(
                                sigs[i], q.pool, [lex, m], how, [1.0, w], k or 60
                            ),
                        )
                        cells.append(f"w{w}={r[first]:.3f}")
                    label = f"{how}{'' if k is None else f' k={k}'}"
                    print(f"  {lex}+{m:<18} {label:<11} " + " ".join(cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--models", default=f"{STATIC_MODEL},{ONNX_MODEL}")
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--rerank-top", type=int, default=50)
    ap.add_argument("--bm25-b", type=float, default=0.75)
    ap.add_argument("--sweep", action="store_true", help="also print the fusion parameter grid")
    ap.add_argument("--known-item", choices=["75k", "1m", "all", "none"], default="all",
                    help="known-item questions over the whole arxiv-daily corpus (75k) and the 1M corpus")
    ap.add_argument("--bench-cache", type=Path, default=None,
                    help="where the prepared corpora live (default ~/.cache/paperboard/bench)")
    args = ap.parse_args(argv)

    bench = args.shared / "bench"
    needed = [bench / "csfcube" / "papers.jsonl", bench / "s2-search" / "search_small.jsonl"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        print(
            f"error: benchmark data not found ({', '.join(missing)}); pass --shared DIR "
            "pointing at the shared data directory (default ../shared next to the repo)",
            file=sys.stderr,
        )
        return 2

    datasets = [load_csfcube(bench / "csfcube"), load_s2(bench / "s2-search")]
    models = [m for m in args.models.split(",") if m]
    vectors: dict[str, Vectors] = {}
    print("== corpus embedding speed (title + abstract, this machine, one process) ==")
    for m in models:
        start = time.perf_counter()
        emb = load_embedder(m)
        load_s = time.perf_counter() - start
        v = Vectors(emb, args.cache_dir)
        v.add(list(datasets[0].docs.values()), timed=True)
        for ds in datasets:
            v.add(list(ds.docs.values()))
            v.add([q.text for q in ds.queries])
            v.add(list(ds.titles.values()))
        v.measure_speed(list(datasets[0].docs.values())[: 2000 if emb.dim < 300 else 200])
        vectors[m] = v
        print(f"{m:<20} dim {emb.dim:<4} load {load_s:5.2f} s   {v.docs_per_s:8.1f} docs/s")

    for ds in datasets:
        sigs = base_signals(ds, vectors, args.bm25_b)
        print_table(ds, method_table(ds, sigs, models, args.rerank_top, vectors))
        if ds.titles:
            similar_cross_validated(ds, vectors, bench / "csfcube" / "evaluation_splits.json")
        if args.sweep:
            sweep(ds, sigs, models)
    if args.known_item != "none":
        known_item_tables(bench, args.known_item, args.bench_cache)
    return 0


def known_item_tables(bench: Path, sizes: str, cache: Path | None) -> None:
    """The paraphrased questions over the whole corpus: 75k as the product holds it (prepared
    once, bench/corpus.py) and the 1M corpus of bench/search_speed.py (copies left out)."""
    from bench.lib.corpus import prepared_75k
    from bench.lib.known_item import KnownItemBench, load_questions
    from paperboard.store import open_store

    questions = load_questions(bench / "known-item" / "dev.tsv")
    corpora = []
    if sizes in ("75k", "all"):
        corpora.append(("arxiv-daily, 75k papers", prepared_75k(cache), None))
    if sizes in ("1m", "all"):
        from bench.search_speed import prepared_1m

        data_dir = prepared_1m(cache)
        corpora.append(("1M papers (arxiv-daily repeated, perturbed vectors)", data_dir,
                        json.loads((data_dir / "copies.json").read_text())))  # fmt: skip
    for title, data_dir, copies in corpora:
        store = open_store(f"sqlite:///{data_dir / 'paperboard.db'}")
        try:
            run = KnownItemBench(store, data_dir / "index", questions, copies)
            run.evaluate()
            run.print(title)
        finally:
            store.close()


if __name__ == "__main__":
    sys.exit(main())
