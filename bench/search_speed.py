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
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
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


def latency(fn, qs: list[str]) -> dict[str, float]:
    times = []
    for q in qs:
        t = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t) * 1000)
    a = np.asarray(times)
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "mean": float(a.mean())}


def build_75k(work: Path) -> dict:
    from paperboard.ingest import ingest
    from paperboard.search.embedder import load_embedder
    from paperboard.search.embedding import embed_missing
    from paperboard.sources import arxiv_daily
    from paperboard.store import open_store

    store = open_store(f"sqlite:///{work / 'paperboard.db'}")
    ingest(store, arxiv_daily.read(CORPUS), batch_size=5000)
    embedder = load_embedder()
    t = time.perf_counter()
    summary = embed_missing(store, embedder, batch_size=2048)
    seconds = time.perf_counter() - t
    store.close()
    return {"papers": summary.embedded, "embed_seconds": seconds, "embed_per_s": summary.embedded / seconds}


def build_1m(work: Path, source: Path, target: int = 1_000_000) -> dict:
    """Copy the 75k store's papers and vectors with new ids until there are ``target``."""
    from paperboard.search.embedder import DEFAULT_EMBEDDER
    from paperboard.store import open_store

    src = open_store(f"sqlite:///{source / 'paperboard.db'}")
    dst = open_store(f"sqlite:///{work / 'paperboard.db'}")
    rng = np.random.default_rng(7)
    ids = [i for batch in src.iter_paper_ids(batch_size=5000) for i in batch]
    made, rep = 0, 0
    t = time.perf_counter()
    while made < target:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000][: target - made]
            if not chunk:
                break
            papers = src.get_papers(chunk)
            keys = src.paper_keys(chunk)
            vectors = src.get_vectors(DEFAULT_EMBEDDER, list(keys.values()))
            copies, vecs = [], []
            for n, pid in enumerate(chunk):
                serial = made + n
                new_id = f"{3001 + serial // 90000:04d}.{serial % 90000 + 10000:05d}"
                copies.append(papers[pid].model_copy(update={"id": new_id}))
                v = vectors[keys[pid]] + rng.normal(0, 0.02, size=vectors[keys[pid]].shape).astype(np.float32)
                vecs.append(v / np.linalg.norm(v))
            dst.upsert_papers(copies)
            new_keys = dst.paper_keys([p.id for p in copies])
            dst.put_vectors(DEFAULT_EMBEDDER, [new_keys[p.id] for p in copies], np.asarray(vecs, dtype=np.float32))
            made += len(chunk)
            if made >= target:
                break
        rep += 1
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
    store.close()
    return result


def child(step: str, work: str, source: str | None) -> None:
    work_path = Path(work)
    if step == "build-75k":
        out = build_75k(work_path)
    elif step == "build-1m":
        out = build_1m(work_path, Path(source))
    else:
        out = measure(work_path)
    print("RESULT " + json.dumps(out))


def run_child(step: str, work: Path, source: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", step, str(work)] + ([str(source)] if source else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.split("RESULT ", 1)[1])


def report(label: str, built: dict, m: dict) -> None:
    print(f"\n== {label}: {m['papers']:,} papers, {m['indexed']:,} vectors")
    if "embed_per_s" in built:
        print(f"corpus embedding: {built['embed_per_s']:,.0f} abstracts/s ({built['embed_seconds']:.1f} s)")
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=["75k", "1m", "all"], default="all")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2] if len(args.child) > 2 else None)
        return 0
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} not found (the shared benchmark data)", file=sys.stderr)
        return 0
    root = Path(tempfile.mkdtemp(prefix="pb-bench-search-"))
    try:
        small = root / "75k"
        small.mkdir()
        built = run_child("build-75k", small)
        report("arxiv-daily", built, run_child("measure", small))
        if args.size in ("1m", "all"):
            big = root / "1m"
            big.mkdir()
            built_big = run_child("build-1m", big, small)
            report("1M (repeated, perturbed vectors)", built_big, run_child("measure", big))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
