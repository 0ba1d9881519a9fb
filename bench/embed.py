"""Backfill benchmark: the stronger model's vectors (minilm-l6-int8, the text view) of a slice
of ../shared/data/arxiv-daily, in one process and on a local Ray cluster of 1 and of 2 nodes.

Prints papers/s for each, the ratio against the one-process baseline measured in the same run,
papers/s per node, the agreement of the vectors (min cosine against the baseline's), and the
driver's ceiling: the papers/s at which the driver alone (listing texts, writing vectors through
the store) would be saturated, which bounds what adding nodes can give.

How the figure grows with nodes: each Ray task embeds one chunk on one CPU (one onnxruntime
thread), so a cluster's throughput is about (papers/s of one CPU) x (CPUs in the cluster), up
to the driver's ceiling. The nodes here are ``ray start --num-cpus=1`` processes on this one
2-core machine, so two nodes are the most this box can show, and they run on the same two cores
the one-process baseline uses with two onnxruntime threads. When two nodes beat one process
here, that says one thread per process uses a core better than two threads sharing each batch
(and that this box is shared: its load moves every figure), not that nodes add cores. The
figure that carries over to a real cluster is papers/s per CPU: N nodes of C CPUs give about
N x C times it (all of arXiv, ~2.4M papers, at 10 papers/s per CPU on 10 nodes of 8 CPUs: under
an hour).

    .venv/bin/python bench/embed.py [--papers 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.lib.corpus import CORPUS  # noqa: E402
from paperboard.models import Paper  # noqa: E402
from paperboard.search.embedder import ONNX_MODEL, load_embedder  # noqa: E402
from paperboard.search.embedding import embed_missing  # noqa: E402
from paperboard.sources import arxiv_daily  # noqa: E402
from paperboard.store import open_store  # noqa: E402


class TimedStore:
    """The store, with the seconds the driver spends listing papers and writing vectors."""

    def __init__(self, store) -> None:
        self._store = store
        self.seconds = 0.0

    def __getattr__(self, name):
        return getattr(self._store, name)

    def _timed(self, method, *args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    def papers_without_vectors(self, *args, **kwargs):
        return self._timed(self._store.papers_without_vectors, *args, **kwargs)

    def put_vectors(self, *args, **kwargs):
        return self._timed(self._store.put_vectors, *args, **kwargs)


def vectors(store, keys: list[int]) -> np.ndarray:
    got = store.get_vectors(ONNX_MODEL, keys)
    return np.stack([got[k] for k in keys])


def on_ray(store, nodes: int) -> tuple[float, float, float]:
    """(seconds embedding, seconds starting the cluster, driver seconds) on ``nodes`` nodes."""
    from bench.lib.ray_cluster import LocalRayCluster, reload_ray_auth
    from paperboard.scale.ray_connect import ray_cluster
    from paperboard.scale.ray_embed import embed_missing_on_ray

    started = time.perf_counter()
    with LocalRayCluster(nodes=nodes, cpus_per_node=1) as cluster:
        os.environ.update(cluster.env)
        os.environ.pop("RAY_ADDRESS", None)
        reload_ray_auth()
        with ray_cluster(cluster.address) as ray:
            cluster.wait_for_nodes(ray)
            start_seconds = time.perf_counter() - started
            timed = TimedStore(store)
            begin = time.perf_counter()
            done = embed_missing_on_ray(ray, timed, ONNX_MODEL)
            elapsed = time.perf_counter() - begin
    assert done.remaining == 0, done
    return elapsed, start_seconds, timed.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=2000)
    args = parser.parse_args()
    try:
        import ray  # noqa: F401
    except ImportError:
        print("skipped: Ray is not installed (pip install -e '.[ray]'; make bench installs it)", file=sys.stderr)
        return 0
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} not found (the shared benchmark data)", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="pb-bench-embed-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'pb.db'}")
        store.migrate()
        papers = {}
        for item in arxiv_daily.read(CORPUS):
            if isinstance(item, Paper):
                papers.setdefault(item.id, item)  # a paper listed again counts once
                if len(papers) == args.papers:
                    break
        store.upsert_papers(papers.values())
        keys = list(store.paper_keys(list(papers)).values())
        n = len(keys)
        print(f"{n:,} papers of {CORPUS}, model {ONNX_MODEL} (title + abstract), {os.cpu_count()} CPUs on this machine")

        timed = TimedStore(store)
        begin = time.perf_counter()
        embed_missing(timed, load_embedder(ONNX_MODEL))
        baseline = time.perf_counter() - begin
        reference = vectors(store, keys)
        print(f"{'one process (2 threads)':<28} {n / baseline:7.1f} papers/s   1.00x   ({baseline:6.1f} s)")

        for nodes in (1, 2):
            store.delete_vectors(ONNX_MODEL)
            elapsed, start_seconds, driver = on_ray(store, nodes)
            cosine = float((vectors(store, keys) * reference).sum(axis=1).min())
            rate = n / elapsed
            print(f"{f'Ray, {nodes} node(s) x 1 CPU':<28} {rate:7.1f} papers/s   {baseline / elapsed:4.2f}x   ({elapsed:6.1f} s;"
                  f" {rate / nodes:5.1f} papers/s per node; cluster start {start_seconds:4.1f} s;"
                  f" min cosine vs one process {cosine:.5f}; driver ceiling {n / driver:,.0f} papers/s)")  # fmt: skip
        store.close()
    print("The nodes share this box's 2 cores with each other and with whatever else runs; a real"
          " cluster gives about papers/s per CPU x its CPUs, up to the driver ceiling.")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
