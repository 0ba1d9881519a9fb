"""Search speed at the scale of the arxiv-daily corpus and of a 1,000,000-paper corpus.

For each size: index build time, memory (peak RSS of a fresh process), and query latency
p50/p99 over 1,000 queries *including query embedding*, per mode (bm25, dense, hybrid).
In the same run, a TF-IDF search that scores every paper per query (arxiv-sanity-lite's
approach) over the same corpus is timed, and our speed is printed as a ratio to it.

The 1M corpus repeats the 74,728 real papers with new ids and perturbed vectors (no
re-embedding), so text statistics stay realistic. Targets at 1M: hybrid p50 <= 15 ms,
p99 <= 50 ms, <= 2 GB RSS; corpus embedding >= 1,000 abstracts/s.

    python bench/search_speed.py            # both sizes (the 1M one takes a while)
    python bench/search_speed.py --size 75k
    python bench/search_speed.py --filters-only --data-75k /tmp/copy-75k --data-1m /tmp/copy-1m

Filtered queries (issue 13, part 2): per filter kind (a week of feed days, a category, an
organization, an author, a combination, a phrase of common words) p50/p99 of the hybrid
search with that filter, its ratio to the same queries unfiltered in the same process (the
kinds taken in turn, so the machine's other load falls on all alike), the
dense stage's recall@10 against an exact scan of the papers that pass, and the database's
path (the keyword index switched off) on a few queries for comparison. ``--data-*`` points
at copies of the prepared stores: opening one builds its keyword index anew when the index
schema changed, and the prepared stores are shared.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "data" / "arxiv-daily"
S2 = SHARED / "bench" / "s2-search" / "search_small.jsonl"
N_QUERIES = 1000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def queries(titles: list[str]) -> list[str]:
    """The 100 real queries of the s2 set, plus spans of 2–5 words from random titles."""
    rng = random.Random(42)
    out = [json.loads(line)["query"] for line in S2.open()] if S2.exists() else []
    while len(out) < N_QUERIES:
        words = rng.choice(titles).split()
        n = rng.randint(2, min(5, len(words))) if len(words) >= 2 else 1
        start = rng.randint(0, len(words) - n)
        out.append(" ".join(words[start : start + n]))
    return out[:N_QUERIES]


sys.path.insert(0, str(REPO))


def latency(fn, qs: list[str]) -> dict[str, float]:
    times = []
    for q in qs:
        t = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t) * 1000)
    a = np.asarray(times)
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "mean": float(a.mean())}


def embedding_rates() -> dict:
    """Papers/s of each kind of vector the default search uses, on real abstracts, and what
    that makes for 75k, 1M and 2.7M papers on this machine (a measured rate x a size)."""
    from paperboard.search.embedder import load_embedder
    from paperboard.search.embedding import VIEWS, default_search_vectors
    from paperboard.search.similar import view_name
    from paperboard.sources import arxiv_daily

    papers = []
    for item in arxiv_daily.read(CORPUS):
        paper = getattr(item, "paper", item)
        if getattr(paper, "abstract", None):
            papers.append(paper)
        if len(papers) >= 2000:
            break
    out = {}
    for model, view in default_search_vectors():
        embedder = load_embedder(model)
        sample = papers if embedder.dim < 300 else papers[:300]
        texts = [VIEWS[view](p) for p in sample]
        embedder.encode(texts[:32])  # warm up
        t = time.perf_counter()
        embedder.encode(texts)
        out[view_name(model, view)] = len(texts) / (time.perf_counter() - t)
    return out


def prepared_1m(cache: Path | None = None, target: int = 1_000_000) -> Path:
    """The 1M corpus, built once from the prepared 75k one and kept in the bench cache."""
    from bench.lib.corpus import DEFAULT_CACHE, prepared_75k

    source = prepared_75k(cache)
    work = (cache or DEFAULT_CACHE) / "arxiv-daily-1m"
    if (work / "prepared").exists():
        return work
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    print(f"building {work} from {source} (copies with perturbed vectors; once)", file=sys.stderr)
    build_1m(work, source, target)
    (work / "prepared").write_text("built by bench/search_speed.py build_1m\n")
    return work


def build_1m(work: Path, source: Path, target: int = 1_000_000) -> dict:
    """Copy the 75k store's papers and every kind of vector with new ids until there are
    ``target`` papers; ``copies.json`` maps each source id to its copies' ids, so the
    known-item benchmark can leave a question's own copies out."""
    from paperboard.search.embedding import default_search_vectors
    from paperboard.search.similar import view_name
    from paperboard.store import open_store

    kinds = [view_name(m, v) for m, v in default_search_vectors()]
    src = open_store(f"sqlite:///{source / 'paperboard.db'}")
    dst = open_store(f"sqlite:///{work / 'paperboard.db'}")
    rng = np.random.default_rng(7)
    ids = [i for batch in src.iter_paper_ids(batch_size=5000) for i in batch]
    copies: dict[str, list[str]] = {}
    made = 0
    t = time.perf_counter()
    while made < target:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000][: target - made]
            if not chunk:
                break
            papers = src.get_papers(chunk)
            keys = src.paper_keys(chunk)
            chunk = [pid for pid in chunk if pid in papers and pid in keys]
            first_copy = made < len(ids)  # the first pass keeps the real papers as they are
            new_ids = {}
            for n, pid in enumerate(chunk):
                serial = made + n
                new_ids[pid] = pid if first_copy else f"{3001 + serial // 90000:04d}.{serial % 90000 + 10000:05d}"
                if not first_copy:
                    copies.setdefault(pid, []).append(new_ids[pid])
            dst.upsert_papers([papers[pid].model_copy(update={"id": new_ids[pid]}) for pid in chunk])
            new_keys = dst.paper_keys(list(new_ids.values()))
            for kind in kinds:
                vectors = src.get_vectors(kind, [keys[pid] for pid in chunk])
                have = [pid for pid in chunk if keys[pid] in vectors]
                if not have:
                    continue
                v = np.asarray([vectors[keys[pid]] for pid in have], dtype=np.float32)
                if not first_copy:
                    v = v + rng.normal(0, 0.02, size=v.shape).astype(np.float32)
                    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
                dst.put_vectors(kind, [new_keys[new_ids[pid]] for pid in have], v)
            made += len(chunk)
            if made >= target:
                break
    (work / "copies.json").write_text(json.dumps(copies))
    src.close()
    dst.close()
    return {"papers": made, "copy_seconds": time.perf_counter() - t}


def measure(work: Path) -> dict:
    """Run in a fresh process: index build, RSS, latencies, and the TF-IDF baseline."""
    from paperboard.search import searcher as searcher_module
    from paperboard.search.bm25 import TfIdf
    from paperboard.search.keyword_index import shared_keyword_index
    from paperboard.search.searcher import Searcher
    from paperboard.store import open_store

    store = open_store(f"sqlite:///{work / 'paperboard.db'}")
    searcher = Searcher(store, index_dir=work / "index")
    t = time.perf_counter()
    n = len(searcher.index())  # builds (or loads) the HNSW graph
    build = time.perf_counter() - t
    searcher.index().save()
    t = time.perf_counter()
    keywords = shared_keyword_index(store, work / "index")
    if keywords is not None:
        keywords.refresh(force=True)  # builds the Tantivy keyword index (large SQLite corpora)
    keyword_build = time.perf_counter() - t
    titles = [p.title for batch in store.iter_paper_ids(batch_size=20000) for p in store.get_papers(batch[:200]).values()]
    qs = queries(titles)
    for q in qs[:20]:  # warm caches
        searcher.search(q, limit=10)
    result = {
        "papers": store.count_papers(), "indexed": n, "index_build_s": build, "rss_after_index_mb": rss_mb(),
        "keyword_index_build_s": keyword_build if keywords is not None and keywords._ready else None,
    }  # fmt: skip
    for mode in ("bm25", "dense", "hybrid"):
        result[mode] = latency(lambda q, mode=mode: searcher.search(q, limit=10, mode=mode), qs)
    # A paper page's "similar papers" (search/similar.py), for papers picked at random.
    rng = random.Random(7)
    ids = [pid for batch in store.iter_paper_ids(batch_size=20000) for pid in batch]
    pages = rng.sample(ids, min(200, len(ids)))
    result["similar"] = latency(lambda pid: searcher.similar(pid, limit=6), pages)
    result["rss_after_queries_mb"] = rss_mb()
    searcher_module._indexes.clear()
    searcher = None  # drop the index before building the baseline

    # Baseline: TF-IDF scoring every paper per query, over the same papers' title + abstract.
    t = time.perf_counter()
    docs = ((pid, f"{p.title} {p.abstract}") for batch in store.iter_paper_ids(batch_size=20000)
            for pid, p in store.get_papers(batch).items())  # fmt: skip
    tfidf = TfIdf(docs)
    result["tfidf_build_s"] = time.perf_counter() - t

    def tfidf_search(q: str) -> None:
        scores = np.asarray(tfidf.score(q))
        np.argpartition(-scores, 10)[:10]

    result["tfidf"] = latency(tfidf_search, qs[:200])
    texts = store.get_papers(pages[:50])
    result["tfidf_similar"] = latency(
        lambda pid: tfidf_search(f"{texts[pid].title} {texts[pid].abstract}"), [p for p in pages[:50] if p in texts]
    )
    result["rss_final_mb"] = rss_mb()
    result["ann_recall"] = ann_recall(store, work / "index", qs[:200])
    store.close()
    return result


COMMON_PHRASES = [
    "in this paper", "of the", "we propose", "state of the art", "large language models", "neural networks",
    "in order to", "as well as", "on the other hand", "based on the", "a novel", "the proposed method",
    "we show that", "to address this", "deep learning", "such as", "experimental results", "in addition",
]  # fmt: skip
FILTER_QUERIES = 400
DB_PATH_QUERIES = {"75k": 60, "1m": 15}


def filter_workload(store, qs: list[str], n: int) -> dict[str, list[tuple[str, object]]]:
    """(query, PaperQuery) per filter kind, the values varied over what the corpus holds: the
    5 largest categories, its organizations (lower-cased: the filter ignores case), its 40 most
    frequent authors, 7-day windows of feed days; the combination is a category and a 30-day
    window; phrases are common ones with a topical word of a query beside."""
    from datetime import date, timedelta

    from paperboard.store import PaperQuery

    rng = random.Random(11)
    with store._db.reader() as conn:
        days = [date.fromisoformat(r[0]) for r in conn.execute("SELECT DISTINCT feed_day FROM papers ORDER BY 1")]
        cats = [r[0] for r in conn.execute(
            "SELECT primary_category FROM papers WHERE primary_category IS NOT NULL GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 5")]
        orgs = [r[0] for r in conn.execute(
            "SELECT organization FROM papers WHERE organization IS NOT NULL GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 20")]
        authors = [r[0] for r in conn.execute(
            "SELECT value FROM (SELECT authors FROM papers ORDER BY rowid LIMIT 75000), json_each(authors)"
            " GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 40")]  # fmt: skip

    def window(width: int):
        start = rng.choice(days[: max(1, len(days) - width)])
        return start, start + timedelta(days=width - 1)

    out: dict[str, list] = {"unfiltered": [(q, None) for q in qs[:n]]}
    out["date (7 days)"] = [(q, PaperQuery(start=a, end=b)) for q in qs[:n] for a, b in [window(7)]]
    out["category"] = [(q, PaperQuery(category=rng.choice(cats))) for q in qs[:n]]
    if orgs:
        out["organization"] = [(q, PaperQuery(organization=rng.choice(orgs).lower())) for q in qs[:n]]
    out["author"] = [(q, PaperQuery(author=rng.choice(authors))) for q in qs[:n]]
    out["category + 30 days"] = [
        (q, PaperQuery(category=rng.choice(cats), start=a, end=b)) for q in qs[:n] for a, b in [window(30)]
    ]
    out["phrase (common words)"] = [
        (f'"{COMMON_PHRASES[i % len(COMMON_PHRASES)]}"' + (f" {q.split()[0]}" if i % 2 else ""), None)
        for i, q in enumerate(qs[:n])
    ]
    return out


def measure_filters(work: Path, size: str) -> dict:
    """Run in a fresh process: latency per filter kind, the dense stage's filtered recall, and
    the database's path on a few queries of each kind."""
    from paperboard.search import searcher as searcher_module
    from paperboard.search.keyword_index import shared_keyword_index
    from paperboard.search.searcher import Searcher
    from paperboard.store import open_store

    store = open_store(f"sqlite:///{work / 'paperboard.db'}")
    searcher = Searcher(store, index_dir=work / "index")
    len(searcher.index())
    keywords = shared_keyword_index(store, work / "index")
    t = time.perf_counter()
    keywords.refresh(force=True)
    rebuild = time.perf_counter() - t
    titles = [p.title for batch in store.iter_paper_ids(batch_size=20000) for p in store.get_papers(batch[:200]).values()]
    workload = filter_workload(store, queries(titles), FILTER_QUERIES)
    for q, f in workload["unfiltered"][:20]:  # warm caches
        searcher.search(q, filters=f, limit=10)
    t = time.perf_counter()
    columns = keywords._filter_columns()
    result: dict = {
        "papers": store.count_papers(), "keyword_index_ready_s": rebuild, "kinds": {},
        "columns_build_s": time.perf_counter() - t, "columns_mb": columns.nbytes() / 1e6, "categories": len(columns.categories),
    }  # fmt: skip
    search = lambda item: searcher.search(item[0], filters=item[1], limit=10)  # noqa: E731
    timings = interleaved(search, workload)
    for kind, items in workload.items():
        row = timings[kind]
        counts = [keywords.count_passing(None, f)[0] for _, f in items[:50] if f is not None]
        row["passing_median"] = float(np.median(counts)) if counts else None
        dense = kind != "phrase (common words)"  # a phrase is matched by the keyword stage alone
        row["dense_recall@10"] = filtered_recall(searcher, keywords, items[:30] if counts else items[:10]) if dense else None
        result["kinds"][kind] = row
    result["peak_rss_mb"] = rss_mb()
    # The database's path for the same kinds (the keyword index switched off), a few queries.
    real = searcher_module.shared_keyword_index
    searcher_module.shared_keyword_index = lambda *a, **kw: None
    try:
        few = {kind: items[: DB_PATH_QUERIES[size]] for kind, items in workload.items()}
        for kind, row in interleaved(search, few).items():
            result["kinds"][kind]["db_path"] = row
    finally:
        searcher_module.shared_keyword_index = real
    store.close()
    return result


def interleaved(fn, workload: dict[str, list]) -> dict[str, dict[str, float]]:
    """``latency`` per kind, the kinds taken in turn (one query of each, then the next of
    each): a burst of load from elsewhere on the machine falls on every kind alike, so the
    ratios to the unfiltered row stay fair on a shared machine."""
    times: dict[str, list[float]] = {kind: [] for kind in workload}
    for i in range(max(len(items) for items in workload.values())):
        for kind, items in workload.items():
            if i < len(items):
                t = time.perf_counter()
                fn(items[i])
                times[kind].append((time.perf_counter() - t) * 1000)
    out = {}
    for kind, ts in times.items():
        a = np.asarray(ts)
        out[kind] = {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "mean": float(a.mean())}
    return out


def filtered_recall(searcher, keywords, items) -> float:
    """Recall@10 of the dense stage with a filter (asked for its CANDIDATES, as a search asks)
    against an exact scan of every passing paper."""
    from paperboard.search.query import parse_query
    from paperboard.search.searcher import CANDIDATES

    index = searcher.index()
    hits = total = 0
    for q, f in items:
        parsed = parse_query(q)
        if not parsed.free_text.strip():
            continue
        qv = searcher.embedder.encode_query(parsed.free_text)
        n = keywords.count_passing(parsed, f)[0]
        keys = keywords.passing_keys(parsed, f, limit=max(n, 1))
        best: list[tuple[int, float]] = []
        for start in range(0, len(keys), 50_000):  # decoded in parts: a large category is 500k papers
            best = sorted(best + index.search_among(qv, 10, keys[start : start + 50_000]), key=lambda t: -t[1])[:10]
        exact = {k for k, _ in best}
        if f is None and not parsed.negative and not parsed.categories:  # the unfiltered graph search
            got = {k for k, _ in index.search(qv, CANDIDATES)[:10]}
        else:
            got = {k for k, _ in (searcher._dense_filtered(index, parsed, f, qv, CANDIDATES) or [])[:10]}
        hits += len(exact & got)
        total += len(exact)
    return hits / total if total else float("nan")


def report_filters(label: str, m: dict) -> None:
    print(f"\n== filtered hybrid search, {label}: {m['papers']:,} papers (keyword index ready in {m['keyword_index_ready_s']:.0f} s)")
    print(f"filter columns (days, {m['categories']} categories' bitsets): {m['columns_mb']:.1f} MB, built in"
          f" {m['columns_build_s']:.1f} s; peak RSS of the measuring process {m['peak_rss_mb']:,.0f} MB")
    print(f"{'filter':<24}{'passing':>9}{'p50 ms':>9}{'p99 ms':>9}{'p50 x':>8}{'p99 x':>8}{'dense R@10':>12}"
          f"{'DB path p50':>13}{'p99':>9}   (x: against unfiltered, same run)")  # fmt: skip
    base = m["kinds"]["unfiltered"]
    for kind, r in m["kinds"].items():
        passing = f"{r['passing_median']:,.0f}" if r.get("passing_median") is not None else "all"
        recall = f"{r['dense_recall@10']:.3f}" if r.get("dense_recall@10") is not None else "-"
        db = r["db_path"]
        print(f"{kind:<24}{passing:>9}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['p50'] / base['p50']:>8.2f}{r['p99'] / base['p99']:>8.2f}"
              f"{recall:>12}{db['p50']:>13.1f}{db['p99']:>9.1f}")  # fmt: skip


def ann_recall(store, index_dir: Path, qs: list[str]) -> dict[str, float]:
    """Recall@10 and @100 of the dense stage's graph against an exact scan of the same vectors
    (measured last: the exact matrix would otherwise count in the figures above)."""
    from paperboard.search.embedder import load_embedder
    from paperboard.search.searcher import CANDIDATES, dense_model, shared_index

    model = dense_model(store)
    index = shared_index(store, model, index_dir)
    embedder = load_embedder(model)
    keys, mats = [], []
    for batch in store.iter_vectors(model):
        keys.append(batch.keys)
        mats.append(batch.vectors.astype(np.float16))  # half the memory; ranks are unchanged
    key_arr, matrix = np.concatenate(keys), np.concatenate(mats)
    out = {"model": model}
    for k in (10, CANDIDATES):
        hits = 0
        for q in qs:
            qv = embedder.encode_query(q)
            scores = (matrix @ qv.astype(np.float16)).astype(np.float32)
            exact = set(key_arr[np.argpartition(-scores, k)[:k]].tolist())
            hits += len(exact & {key for key, _ in index.search(qv, k)})
        out[f"recall@{k}"] = hits / (k * len(qs))
    return out


def child(step: str, work: str, source: str | None) -> None:
    work_path = Path(work)
    if step == "rates":
        out = embedding_rates()
    elif step == "build-1m":
        out = {"path": str(prepared_1m(Path(work)))}
    elif step.startswith("filters-"):
        out = measure_filters(work_path, step.removeprefix("filters-"))
    else:
        out = measure(work_path)
    print("RESULT " + json.dumps(out))


def run_child(step: str, work: Path, source: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", step, str(work)] + ([str(source)] if source else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.split("RESULT ", 1)[1])


def report_rates(rates: dict[str, float]) -> None:
    print("\n== embedding on this machine (one process, 2 cores): what `paperboard embed` takes ==")
    print(f"{'vectors':<24}{'papers/s':>10}{'75k':>10}{'1M':>10}{'2.7M':>10}   (measured rate x size)")
    total = {n: 0.0 for n in (74_799, 1_000_000, 2_700_000)}
    for kind, rate in rates.items():
        cells = ""
        for n in total:
            total[n] += n / rate
            cells += f"{_duration(n / rate):>10}"
        print(f"{kind:<24}{rate:>10,.1f}{cells}")
    print(f"{'all of them':<24}{'':>10}" + "".join(f"{_duration(s):>10}" for s in total.values()))


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def report(label: str, m: dict) -> None:
    print(f"\n== {label}: {m['papers']:,} papers, {m['indexed']:,} vectors in the dense stage ({m['ann_recall']['model']})")
    print(f"vector index build (HNSW from the store): {m['index_build_s']:.1f} s; RSS after index {m['rss_after_index_mb']:,.0f} MB,"
          f" after 3,000 queries {m['rss_after_queries_mb']:,.0f} MB")  # fmt: skip
    if m.get("keyword_index_build_s") is not None:
        print(f"keyword index build (Tantivy, from the store): {m['keyword_index_build_s']:.1f} s")
    print(f"{'mode':<8}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}{'vs TF-IDF p50':>16}")
    base = m["tfidf"]["p50"]
    for mode in ("bm25", "dense", "hybrid"):
        r = m[mode]
        print(f"{mode:<8}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['mean']:>10.2f}{base / r['p50']:>15.1f}x")
    r = m["tfidf"]
    print(f"{'tf-idf':<8}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['mean']:>10.2f}{'1.0x':>16}  (scores every paper; build {m['tfidf_build_s']:.0f} s)")
    r, b = m["similar"], m["tfidf_similar"]
    print(f"similar papers of a paper (200 pages): p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms;"
          f" TF-IDF with the whole paper as the query, every paper scored: p50 {b['p50']:.2f} ms ({b['p50'] / r['p50']:.1f}x)")
    rec = {k: v for k, v in m["ann_recall"].items() if k.startswith("recall@")}
    print("dense stage's graph against an exact scan of the same vectors (200 queries): "
          + ", ".join(f"{k} {v:.3f}" for k, v in rec.items()))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=["75k", "1m", "all"], default="all")
    parser.add_argument("--child", nargs="+")
    parser.add_argument("--bench-cache", type=Path, default=None, help="prepared corpora (bench/lib/corpus.py)")
    parser.add_argument("--filters-only", action="store_true", help="only the filtered-query tables")
    parser.add_argument("--data-75k", type=Path, default=None, help="a copy of the prepared 75k data dir to use")
    parser.add_argument("--data-1m", type=Path, default=None, help="a copy of the prepared 1M data dir to use")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2] if len(args.child) > 2 else None)
        return 0
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} not found (the shared benchmark data)", file=sys.stderr)
        return 0
    from bench.lib.corpus import DEFAULT_CACHE, prepared_75k

    cache = args.bench_cache or DEFAULT_CACHE
    small = args.data_75k or prepared_75k(cache)
    if not args.filters_only:
        report_rates(run_child("rates", cache))
        report("arxiv-daily (demo + 74.7k), as `ingest` + `embed` leave it", run_child("measure", small))
    report_filters("75k", run_child("filters-75k", small))
    if args.size in ("1m", "all"):
        big = args.data_1m or Path(run_child("build-1m", cache)["path"])
        if not args.filters_only:
            report("1M (arxiv-daily repeated, perturbed vectors)", run_child("measure", big))
        report_filters("1M", run_child("filters-1m", big))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
