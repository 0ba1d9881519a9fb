"""Web throughput: requests/s and p50/p99 latency of the hot pages on the full corpus.

    .venv/bin/python bench/web.py [--seconds 20] [--connections 8] [--db PATH]

Loads ../shared/data/arxiv-daily into a SQLite store (kept at --db and reused next time),
serves it with ``uvicorn --workers 2`` on loopback, and drives each URL from a separate load
process (a small asyncio HTTP/1.1 keep-alive client) for a bounded time. The baseline, measured
in the same run the same way, is a static file (no database, no template): the ratio shows what
the page costs over the server's floor. Targets: the feed page >= 500 req/s, and every page
and API route >= 300 req/s, each with p99 <= 50 ms.

It runs twice: as served (the load is anonymous, so the visitors' page cache of
web/page_cache.py answers most requests from a page kept for a second) and with that cache off,
every request rendered as it is for a logged-in reader (``--only served|uncached``).

The paper page is measured over every paper of the newest day in turn, each visited once
before (the worker scores a new day's similar papers before anyone opens them), and its first
visit apart: papers whose similar papers no one has scored yet, opened one at a time (they
score them on the spot; the worker scores every paper's ahead of time, newest days first, so
this is the cost only until it has been through the corpus).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "arxiv-daily"
PYTHON = sys.executable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _worker(host: str, port: int, paths: list[str], until: float, latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    requests = [f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n\r\n".encode() for path in paths]
    turn = random.randrange(len(requests))
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            writer.write(requests[turn % len(requests)])
            turn += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def _load(host: str, port: int, path: str | list[str], seconds: float, connections: int, out) -> None:
    """Runs in its own process: the load generator never shares an interpreter with a server."""
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        paths = [path] if isinstance(path, str) else path
        await asyncio.gather(*(_worker(host, port, paths, until, latencies, errors) for _ in range(connections)))

    began = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - began
    out.put({"n": len(latencies), "elapsed": elapsed, "latencies": latencies, "errors": errors[:5],
             "n_errors": len(errors)})  # fmt: skip


def measure(port: int, path: str | list[str], seconds: float, connections: int) -> dict:
    queue = multiprocessing.get_context("spawn").Queue()
    proc = multiprocessing.get_context("spawn").Process(
        target=_load, args=("127.0.0.1", port, path, seconds, connections, queue)
    )
    proc.start()
    result = queue.get(timeout=seconds + 120)
    proc.join()
    lat = sorted(result["latencies"])
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 2 else [0.0] * 99
    return {
        "path": path, "requests": result["n"], "rps": result["n"] / result["elapsed"],
        "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "errors": result["n_errors"],
    }


def ensure_corpus(db: Path) -> None:
    env = {**os.environ, "PAPERBOARD_DATABASE_URL": f"sqlite:///{db}", "PAPERBOARD_DATA_DIR": str(db.parent)}
    db.parent.mkdir(parents=True, exist_ok=True)
    stats = subprocess.run([PYTHON, "-m", "paperboard", "stats", "--json"], env=env, capture_output=True, text=True)
    papers = json.loads(stats.stdout)["papers"] if stats.returncode == 0 else 0
    if papers >= 70_000:
        print(f"corpus: {papers:,} papers already in {db}")
        return
    print(f"loading {SHARED} into {db} (once) …", flush=True)
    began = time.perf_counter()
    subprocess.run([PYTHON, "-m", "paperboard", "ingest", "arxiv-daily", str(SHARED), "-q"], env=env, check=True)
    print(f"loaded in {time.perf_counter() - began:.0f} s")


def _serve(args, env: dict, log_name: str):
    """A ``uvicorn --workers N`` server on a free port; (process, port, log file)."""
    port = _free_port()
    server_log = open(args.db.parent / log_name, "w")  # one JSON line per request
    server = subprocess.Popen(
        [PYTHON, "-m", "uvicorn", "paperboard.web.app:app_from_env", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"],
        env=env, cwd=REPO, stdout=server_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, port, server_log
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                raise SystemExit("server did not start") from None
            time.sleep(0.2)


def _get(port: int, path: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as r:
        return r.read()


def _routes(args, port: int, label: str) -> list[dict]:
    # /papers/{id}: every paper of the newest day in turn, each page visited once before
    # (the worker scores a new day's similar papers ahead of the first visit; the first-
    # visit cost is measured apart below, on papers nobody had opened)
    day = json.loads(_get(port, "/api/daily_papers?limit=100"))
    papers = [f"/papers/{p['paper']['id']}" for p in day]
    paths = ["/static/favicon.svg", "/", "/trending", papers, "/api/daily_papers"]
    for path in papers:
        _get(port, path)
    for path in paths:  # warm caches and worker connection pools
        measure(port, path, 2, args.connections)
    print(f"\n{label}: {args.workers} workers, {args.connections} connections, {args.seconds:.0f} s per URL, loopback\n")
    print(f"{'path':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'vs static':>11}")
    base = None
    results = []
    for path in paths:
        res = measure(port, path, args.seconds, args.connections)
        results.append(res)
        base = base or res["rps"]
        name = path if isinstance(path, str) else f"/papers/{{id}} ({len(path)} papers)"
        print(f"{name:<28}{res['rps']:>10.0f}{res['p50_ms']:>10.1f}{res['p99_ms']:>10.1f}"
              f"{res['errors']:>8}{res['rps'] / base:>10.2f}x", flush=True)  # fmt: skip
    feed = results[1]
    ok = feed["rps"] >= 500 and feed["p99_ms"] <= 50
    print(f"feed page target (>= 500 req/s, p99 <= 50 ms): {'met' if ok else 'NOT met'}")
    slow = [r for r in results[1:] if r["rps"] < 300 or r["p99_ms"] > 50]
    print(f"every page and API route >= 300 req/s, p99 <= 50 ms: {'met' if not slow else 'NOT met'}")
    return results


def _first_visits(args, port: int) -> None:
    """Papers whose similar papers nobody has scored yet (a worker that has not reached them;
    chosen afresh, since each run's visits keep their lists), opened once each, one at a time."""
    import sqlite3

    with sqlite3.connect(f"file:{args.db}?mode=ro", uri=True) as conn:
        unkept = [r[0] for r in conn.execute(
            "SELECT id FROM papers p WHERE hidden = 0 AND NOT EXISTS"
            " (SELECT 1 FROM similar_cache s WHERE s.paper_rowid = p.rowid)"
        )]  # fmt: skip
    first = []
    for pid in random.Random(len(unkept)).sample(unkept, min(60, len(unkept))):
        began = time.perf_counter()
        _get(port, f"/papers/{pid}")
        first.append(time.perf_counter() - began)
    if not first:
        print("/papers/{id} first visit: every paper's similar list is kept already")
        return
    first.sort()
    print(f"{'/papers/{id} first visit':<28}{'':>10}{statistics.median(first) * 1000:>10.1f}"
          f"{first[int(0.99 * (len(first) - 1))] * 1000:>10.1f}   (p50 and p99 of {len(first)}, one at a time)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", type=Path, default=Path("/tmp/paperboard-bench/web.db"))
    parser.add_argument("--only", choices=["served", "uncached"], default=None,
                        help="one of the two runs (default both)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} not found (the benchmark needs the shared arxiv-daily corpus)")
        return 0
    ensure_corpus(args.db)
    env = {
        **os.environ, "PAPERBOARD_DATABASE_URL": f"sqlite:///{args.db}", "PAPERBOARD_DATA_DIR": str(args.db.parent),
        "PAPERBOARD_SECRET_KEY": "bench-secret",
    }  # fmt: skip
    env.pop("PAPERBOARD_PAGE_CACHE_SECONDS", None)
    runs = [
        ("served", "As served (visitors' pages kept 1 s, the default)", env),
        ("uncached", "Every request rendered (PAPERBOARD_PAGE_CACHE_SECONDS=0: what a logged-in reader costs)",
         {**env, "PAPERBOARD_PAGE_CACHE_SECONDS": "0"}),
    ]  # fmt: skip
    for name, label, run_env in runs:
        if args.only and args.only != name:
            continue
        server, port, log = _serve(args, run_env, f"web-bench-server-{name}.log")
        try:
            _routes(args, port, label)
            if name == "uncached" or args.only == "served":
                _first_visits(args, port)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
