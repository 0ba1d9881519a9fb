"""Store benchmark: SQLite vs PostgreSQL on the same ingest, feed and keyword-search work.

The whole ../shared/data/arxiv-daily corpus is parsed once (not timed), then loaded into an
empty store of each backend in batches of 1,000 through ``upsert_papers`` (the ingest path),
re-upserted unchanged (the no-op merge path), and queried: day/week/month feeds, paper
lookups and keyword searches. Each query figure is the median of its repetitions. Keyword
searches are measured twice: ranked by the database (FTS5 / ts_rank over every match), and
through the Searcher with the Tantivy keyword index both backends keep next to a large
corpus (search/keyword_index.py; a filtered query still runs in the database there).

PostgreSQL: PAPERBOARD_BENCH_POSTGRES_URL (a server where this may create and drop a
database), else a throwaway cluster started by scripts/pg-test-cluster.sh with
fsync=on, synchronous_commit=off — the durability SQLite gets from WAL + synchronous=NORMAL —
and shared_buffers=256MB (SQLite here maps 256 MB and caches 64 MB).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CORPUS = REPO.parent / "shared" / "data" / "arxiv-daily"
SCRIPT = REPO / "scripts" / "pg-test-cluster.sh"
BATCH = 1_000
SEARCHES = [
    "diffusion", "large language model", '"reinforcement learning" robot', "ti:transformer",
    "au:wang segmentation", "graph -neural", "retrieval augmented generation cat:cs.CL",
]  # fmt: skip


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches and prepared plans once
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def load_corpus() -> list:
    from paperboard.models import Paper
    from paperboard.sources import arxiv_daily

    return [item for item in arxiv_daily.read(CORPUS) if isinstance(item, Paper)]


def measure(url: str, papers: list, index_dir: Path) -> dict[str, float]:
    from paperboard.search.keyword_index import shared_keyword_index
    from paperboard.search.query import parse_query
    from paperboard.search.searcher import Searcher
    from paperboard.store import PaperQuery, open_store

    out: dict[str, float] = {}
    store = open_store(url)
    try:
        start = time.perf_counter()
        for i in range(0, len(papers), BATCH):
            store.upsert_papers(papers[i : i + BATCH])
        out["ingest (papers/s)"] = len(papers) / (time.perf_counter() - start)
        sample = papers[: 20 * BATCH]
        start = time.perf_counter()
        for i in range(0, len(sample), BATCH):
            store.upsert_papers(sample[i : i + BATCH])
        out["re-upsert unchanged (papers/s)"] = len(sample) / (time.perf_counter() - start)
        out["stored papers"] = store.count_papers(PaperQuery(include_hidden=True))

        rng = random.Random(1)
        days = store.feed_days()
        ids = [p.id for p in rng.sample(papers, 200)]
        some_days = [rng.choice(days) for _ in range(30)]

        def feed(span: int, sort: str = "upvotes") -> Callable[[], object]:
            it = iter(some_days * 1000)

            def run() -> object:
                d = next(it)
                return store.list_papers(PaperQuery(start=d - timedelta(days=span - 1), end=d, sort=sort, limit=50))

            return run

        out["day feed, top 50 (ms)"] = median_ms(feed(1), 30)
        out["week feed, top 50 (ms)"] = median_ms(feed(7), 30)
        out["month feed, top 50 (ms)"] = median_ms(feed(30), 30)
        out["month feed by date (ms)"] = median_ms(feed(30, "date"), 30)
        month = PaperQuery(start=date(2025, 6, 1), end=date(2025, 6, 30))
        out["count papers of a month (ms)"] = median_ms(lambda: store.count_papers(month), 20)
        id_iter = iter(ids * 100)
        out["get paper by id (ms)"] = median_ms(lambda: store.get_paper(next(id_iter)), 200)
        out["get 50 papers by id (ms)"] = median_ms(lambda: store.get_papers(ids[:50]), 30)
        for text in SEARCHES:
            q = parse_query(text)
            out[f"search {text} (ms)"] = median_ms(lambda q=q: store.keyword_search(q, limit=20), 15)
        out["search 'model', page 5 (ms)"] = median_ms(
            lambda: store.keyword_search(parse_query("model"), limit=20, offset=80), 15
        )
        searcher = Searcher(store, index_dir=index_dir)
        start = time.perf_counter()
        shared_keyword_index(store, index_dir).refresh(force=True)
        out["keyword index build (s)"] = time.perf_counter() - start
        for text in SEARCHES:
            out[f"search {text}, keyword index (ms)"] = median_ms(
                lambda text=text: searcher.search(text, mode="bm25", limit=20), 15
            )
        out["search 'model', page 5, keyword index (ms)"] = median_ms(
            lambda: searcher.search("model", mode="bm25", limit=20, offset=80), 15
        )
    finally:
        store.close()
    return out


def postgres_url() -> tuple[str, Callable[[], None]] | str:
    """A fresh database URL and its cleanup, or the reason PostgreSQL is unavailable."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]' psycopg-pool pgvector)"
    from tests.postgres.databases import with_database

    server = os.environ.get("PAPERBOARD_BENCH_POSTGRES_URL")
    cluster_dir = None
    if not server:
        env = {**os.environ, "PAPERBOARD_PG_SERVER_OPTIONS": "-c fsync=on -c synchronous_commit=off -c shared_buffers=256MB"}
        proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, env=env, timeout=900)
        if proc.returncode != 0:
            return f"cannot start a throwaway PostgreSQL cluster: {proc.stderr.strip()[-400:]}"
        exports = dict(line.removeprefix("export ").split("=", 1) for line in proc.stdout.splitlines()
                       if line.startswith("export "))  # fmt: skip
        server, cluster_dir = exports["PAPERBOARD_TEST_POSTGRES_URL"], exports["PAPERBOARD_PG_CLUSTER_DIR"]
    name = f"pb_bench_{os.getpid()}"
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        return f"cannot create a database on {server}: {exc}"

    def cleanup() -> None:
        try:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            if cluster_dir:
                subprocess.run(["bash", str(SCRIPT), "stop", cluster_dir], timeout=120)

    return with_database(server, name), cleanup


def main() -> int:
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} not found (the shared benchmark data)", file=sys.stderr)
        return 0
    pg = postgres_url()
    if isinstance(pg, str):
        print(f"skipped: PostgreSQL unavailable: {pg}", file=sys.stderr)
        return 0
    pg_url, cleanup = pg
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-store-"))
    try:
        start = time.perf_counter()
        papers = load_corpus()
        print(f"corpus: {len(papers):,} records from {CORPUS} (parsed in {time.perf_counter() - start:.1f} s,"
              " not timed below)")  # fmt: skip
        lite = measure(f"sqlite:///{tmp / 'bench.db'}", papers, tmp / "index-sqlite")
        post = measure(pg_url, papers, tmp / "index-postgres")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        cleanup()
    width = max(len(k) for k in lite)
    print(f"{'operation':<{width}}  {'SQLite':>10}  {'PostgreSQL':>10}  {'PG/SQLite':>9}")
    for key, a in lite.items():
        b = post[key]
        print(f"{key:<{width}}  {a:>10,.2f}  {b:>10,.2f}  {b / a if a else float('nan'):>8.2f}x")
    print("ratios: for papers/s higher is better for PostgreSQL; for ms lower is better")
    if lite["stored papers"] != post["stored papers"]:
        print("ERROR: the backends stored different numbers of papers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
