"""Soak under mixed load: simulated users on ``paperboard serve --workers 2`` while new days ingest.

    .venv/bin/python bench/soak.py [--backend both|sqlite|postgres] [--clients 200] [--seconds 600]
                                   [--quick] [--postgres-url URL] [--postgres-papers 20000]
                                   [--load-processes 1] [--think 1.0] [--no-worker] [--keep]

Users (bench/lib/soak_users.py) browse the feed (day, week, month), trending, paper pages and
search (page and JSON API), sign up and log in, vote and un-vote, comment, save papers and
subscribe to the digest, each with its own cookies, CSRF token and keep-alive connection,
pausing between clicks for an exponentially distributed think time (``--think``, mean
seconds, cut at 4 s, below uvicorn's keep-alive timeout; 0 makes every user a closed loop).
They run in ``--load-processes`` processes apart from the server (default 1: on a 2-core
machine every extra process takes CPU from the two server workers; the load process's own
CPU share is printed, so a saturated client shows). The first ``--warmup`` seconds (users
arrive, caches fill) are left out of the latency table.

During the measured part, new days are ingested one day file at a time by ``paperboard
ingest arxiv-daily`` subprocesses spread over the run, and ``paperboard worker`` runs beside
the server as on a real site (``--no-worker`` leaves it out): it embeds the new papers, keeps
their similar-paper lists and refreshes the lists they belong in. Its CPU share is printed,
and how many lists were missing or out of date at the end. Both run as a site runs its
background work: each in its own session, at the worker's lower CPU priority
(``PAPERBOARD_WORKER_NICE``, digest/priority.py). The default corpus is the prepared 75k
store (bench/lib/corpus.py), copied to a temp dir for the run (the cache is never written).
That store already holds every day of ../shared/data/arxiv-daily, so its "new days" are the
newest ``--days`` day files re-issued after the last day under fresh ids (2607.9xxxx), the
way bench/search_speed.py grows its 1M corpus. ``--quick`` uses a small store instead (the
demo plus five real days) and ingests the next three real days, which it does not hold.

PostgreSQL gets a throwaway cluster (scripts/pg-test-cluster.sh, as bench/store.py does;
``--postgres-url`` names a server to create and drop a database on instead) and the corpus
by ``paperboard db copy``, timed. Copying the whole 75k store took 15 min 43 s (224k vectors;
a loaded 2-core machine), too long for a bench run: PostgreSQL gets the newest whole days up
to ``--postgres-papers`` (20,000) papers with all their vectors (bench/lib/soak_corpus.py),
and the output says so. Emails (subscription confirmations) go to a local SMTP server
(aiosmtpd) run by this script.

Printed: per-route requests/s and p50/p99 (route templates) beside each page's idle p50 (the
page alone on the idle site before the load: the baseline), 5xx and other unexpected
answers, each worker's RSS after the warm-up and at the end, the load average, the ingest
runs, and the audit of every write the users made against the store (bench/lib/soak_check.py).
Targets: 0 5xx; 0 lost or duplicated writes; p99 <= 100 ms on every page (GET route); RSS
growth <= 10% after warm-up.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.lib.corpus import CORPUS  # noqa: E402
from bench.lib.soak_check import Audit, StoreView, UserLedger, audit  # noqa: E402
from bench.lib.soak_corpus import Corpus, cli, env_for, full_corpus, newest_slice, quick_corpus  # noqa: E402
from bench.lib.soak_users import Plan, run_load  # noqa: E402

PYTHON = sys.executable
P99_TARGET_MS = 100.0
RSS_GROWTH_TARGET = 0.10
COUNTS = ("requests", "server_errors", "unexpected", "failures", "retried")
QUERIES = [
    "diffusion models for video generation", "retrieval augmented generation", "large language model reasoning",
    "vision language model hallucination", "reinforcement learning from human feedback", "ti:transformer",
    '"chain of thought"', "cat:cs.CL instruction tuning", "graph neural networks -survey", "3d gaussian splatting",
    "speculative decoding", "multimodal benchmark", "au:wang segmentation", "mixture of experts",
    "robot manipulation policy", "medical image segmentation", "code generation agents", "text to image editing",
    "long context attention", "federated learning privacy",
]  # fmt: skip


# -- the server and what runs beside it -------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailSink:
    """A real SMTP server on loopback that keeps count of what it was sent."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.count = 0
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                sink.count += 1
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def _rss_parts(pid: int) -> str:
    """Where a process's RSS is: anonymous memory (heaps, SQLite's page caches) and mapped
    files (indexes, the mmap'd database), in MiB; '' when it is gone."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        anon, file = (int(fields[k].split()[0]) // 1024 for k in ("RssAnon", "RssFile"))
    except (OSError, KeyError, ValueError):
        return ""
    return f"anon {anon} + files {file}"


def _rss_kib(pid: int, field: str = "VmRSS") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _workers(server_pid: int) -> list[int]:
    """Uvicorn's worker processes: the server's children started by multiprocessing's spawn."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = next(
                int(x.split()[1])
                for x in (d / "status").read_text().splitlines()
                if x.startswith("PPid:")
            )
            cmd = (d / "cmdline").read_bytes()
        except (OSError, StopIteration, ValueError):
            continue
        if ppid == server_pid and b"spawn_main" in cmd:
            out.append(int(d.name))
    return sorted(out)


def _loadavg() -> tuple[float, float, float]:
    a, b, c = Path("/proc/loadavg").read_text().split()[:3]
    return float(a), float(b), float(c)


def _get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Server:
    def __init__(self, env: dict, workers: int, log_path: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = open(log_path, "w")
        env = {**env, "PAPERBOARD_PUBLIC_BASE_URL": self.base}
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "paperboard", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)],
            env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited ({self.proc.returncode}); see {self.log_path}"
                )
            try:
                if _get(self.base + "/readyz", timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the server was not ready within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def tracebacks(self, limit: int = 3) -> tuple[int, list[str]]:
        """How many tracebacks the server logged, and the first few distinct ones."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        found, seen = [], set()
        count = 0
        for i, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last)"):
                count += 1
                block = [line]
                for nxt in lines[i + 1 : i + 80]:
                    block.append(nxt)
                    if nxt and not nxt.startswith(
                        (" ", "\t", "Traceback", "The above", "During handling")
                    ):
                        break
                key = block[-1]
                if key not in seen and len(found) < limit:
                    seen.add(key)
                    start = max(0, i - 2)
                    found.append("\n".join(lines[start:i] + block))
        return count, found


def _as_background() -> None:
    """The ingests stand for the worker's daily harvest, so they run at the worker's priority."""
    from paperboard.config import Settings
    from paperboard.digest.priority import lower_priority

    lower_priority(Settings().worker_nice)


class SiteWorker:
    """``paperboard worker`` as a site runs it; its daily digest job is set 12 hours away, so
    what it does during the run is the background work (vectors, similar lists, outbox)."""

    def __init__(self, env: dict, log_path: Path) -> None:
        self.log_path = log_path
        self.log = open(log_path, "w")
        later = time.gmtime(time.time() + 12 * 3600)
        env = {**env, "PAPERBOARD_DIGEST_TIME": f"{later.tm_hour:02d}:{later.tm_min:02d}",
               "PAPERBOARD_DIGEST_TIMEZONE": "UTC"}  # fmt: skip
        # Its own session, as a service manager starts it: it lowers its own priority (worker_nice).
        self.proc = subprocess.Popen([PYTHON, "-m", "paperboard", "worker", "--flush-interval", "30"],
                                     env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        self.started = time.time()

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> tuple[float, float, int | None]:
        """(CPU seconds, wall seconds, exit code: None if it was still running, as it should)."""
        cpu, wall = self.cpu_seconds(), time.time() - self.started
        died = self.proc.poll()
        if died is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return cpu, wall, died


class Monitor(threading.Thread):
    """Samples the workers' RSS and the load average every few seconds."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.samples: list[tuple[float, dict[int, int]]] = []
        self.loads: list[float] = []
        self.halt = threading.Event()

    def snapshot(self) -> dict[int, int]:
        return {pid: rss for pid in _workers(self.server_pid) if (rss := _rss_kib(pid)) is not None}

    def private(self) -> dict[int, int]:
        """Anonymous memory only: what the process itself holds (heaps, caches), without the
        mapped database and index files, which are the kernel's shared, reclaimable cache."""
        return {pid: kib for pid in _workers(self.server_pid) if (kib := _rss_kib(pid, "RssAnon")) is not None}

    def parts(self) -> dict[int, str]:
        return {pid: _rss_parts(pid) for pid in _workers(self.server_pid)}

    def run(self) -> None:
        while not self.halt.wait(5.0):
            self.samples.append((time.time(), self.snapshot()))
            self.loads.append(_loadavg()[0])


class Ingests(threading.Thread):
    """One ``paperboard ingest arxiv-daily DAY`` subprocess after another, spread over the run.
    None starts once the load is over (``load_over``); the one running then is waited for, so
    the audit reads a store nobody is writing to."""

    def __init__(self, env: dict, days: list[Path], begin: float, end: float, log_dir: Path) -> None:
        super().__init__(daemon=True)
        self.env, self.days, self.begin, self.end, self.log_dir = env, days, begin, end, log_dir
        self.runs: list[dict] = []
        self.skipped: list[str] = []
        self.load_over = threading.Event()

    def run(self) -> None:
        step = (self.end - self.begin) / max(1, len(self.days))
        for k, day in enumerate(self.days):
            if self.load_over.wait(max(0.0, self.begin + k * step - time.time())):
                self.skipped = [d.name for d in self.days[k:]]
                return
            started = time.time()
            p = subprocess.run([PYTHON, "-m", "paperboard", "ingest", "-q", "arxiv-daily", str(day)],
                               env=self.env, cwd=REPO, capture_output=True, text=True,
                               start_new_session=True, preexec_fn=_as_background)  # fmt: skip
            (self.log_dir / f"ingest-{day.name}.log").write_text(p.stdout + p.stderr)
            self.runs.append({"day": day.name, "start": started, "seconds": time.time() - started, "rc": p.returncode,
                              "summary": (p.stdout.strip().splitlines() or [p.stderr.strip()[-300:]])[-1]})  # fmt: skip


def idle_baseline(base: str, pool, rounds: int = 8) -> dict[str, float]:
    """Median latency of each page with the site otherwise idle, one request at a time (each
    URL visited once before): the baseline the loaded figures are compared with."""
    from urllib.parse import quote

    urls = {
        "GET /": ["/"], "GET /?date=": [f"/?date={d}" for d in pool.days[:rounds]],
        "GET /?week=": [f"/?week={w}" for w in pool.weeks], "GET /?month=": [f"/?month={m}" for m in pool.months],
        "GET /trending": ["/trending"], "GET /papers/{id}": [f"/papers/{p}" for p in pool.hot[:rounds]],
        "GET /search?q=": [f"/search?q={quote(q)}" for q in pool.queries[:rounds]],
        "GET /api/papers/search": [f"/api/papers/search?q={quote(q)}&limit=20" for q in pool.queries[:rounds]],
        "GET /api/daily_papers": ["/api/daily_papers?limit=50"],
        "GET /api/papers/{id}": [f"/api/papers/{p}" for p in pool.hot[:rounds]],
    }  # fmt: skip
    out = {}
    for route, paths in urls.items():
        for path in paths:
            _get(base + path, timeout=120)
        times = []
        for k in range(rounds):
            t = time.perf_counter()
            _get(base + paths[k % len(paths)], timeout=120)
            times.append(time.perf_counter() - t)
        out[route] = statistics.median(times) * 1000
    return out


# -- one backend ------------------------------------------------------------------------------
@dataclass
class Pool:
    ids: list[str]
    fresh: list[str]
    hot: list[str]
    before: dict[str, int]
    days: list[str]
    weeks: list[str]
    months: list[str]
    queries: list[str]


def _is_arxiv(pid: str) -> bool:
    return len(pid) >= 10 and pid[4] == "." and pid.replace(".", "").isdigit()


def read_pool(url: str, new_ids: list[str], rng: random.Random) -> Pool:
    """The papers users write to, with their upvotes before the run; feed periods; queries."""
    from paperboard.periods import week_of
    from paperboard.store import open_store
    from paperboard.store.base import PaperQuery

    with open_store(url) as store:
        days = store.feed_days(limit=40)
        hot = [
            p
            for d in days[:2]
            for p in store.list_papers(PaperQuery(start=d, end=d, limit=2000, sort="date"))
        ]
        older = (
            store.list_papers(PaperQuery(start=days[-1], end=days[2], limit=5000, sort="date"))
            if len(days) > 3
            else []
        )
        older = rng.sample(older, min(300, len(older)))
        papers = [p for p in hot + older if _is_arxiv(p.id)]
        before = {p.id: p.upvotes for p in papers}
        titles = [p.title for p in rng.sample(papers, min(60, len(papers)))]
    queries = list(QUERIES)
    for t in titles:  # a reader looking for a paper they heard of: a few of its longer title words
        words = sorted((w.strip(":,.()?!'\"") for w in t.split()), key=len, reverse=True)[:3]
        if words and all(words):
            queries.append(" ".join(words).lower())
    return Pool(
        ids=list(before), fresh=[i for i in new_ids if i not in before],
        hot=[p.id for p in hot if p.id in before], before=before,
        days=[d.isoformat() for d in days[:14]],
        weeks=sorted({week_of(d).label for d in days}, reverse=True)[:4],
        months=sorted({d.strftime("%Y-%m") for d in days}, reverse=True)[:2],
        queries=queries,
    )  # fmt: skip


def store_view(url: str, ledgers: list[UserLedger], pool: Pool, tag: str) -> StoreView:
    from paperboard.store import open_store

    with open_store(url) as store:
        user_ids = {}
        for u in ledgers:
            user = store.get_user_by_name(u.name)
            if user is not None:
                user_ids[u.name] = user.id
        voted = sorted({p for u in ledgers for p in (*u.votes, *u.uncertain_votes)})
        after = {pid: p.upvotes for pid, p in store.get_papers(voted).items()} if voted else {}
        every = pool.ids + pool.fresh
        votes = {name: store.voted_ids(uid, every) for name, uid in user_ids.items()}
        saved = {name: store.saved_ids(uid, every) for name, uid in user_ids.items()}
        commented = sorted(
            {pid for u in ledgers for pid, _ in (*u.comments, *u.uncertain_comments)}
        )
        comments = [
            (c.id, c.username, c.paper_id, c.body)
            for pid in commented for c in store.list_comments(pid, include_hidden=True)
            if c.body.startswith(f"soak {tag} ")
        ]  # fmt: skip
        subscribers = {}
        for u in ledgers:
            for sub in (u.subscription, u.uncertain_subscription):
                if sub and (found := store.get_subscriber_by_email(sub[0])) is not None:
                    subscribers[sub[0]] = found.kind
    return StoreView(upvotes_before={p: pool.before.get(p, 0) for p in voted}, upvotes_after=after,
                     user_ids=user_ids, votes=votes, saved=saved, comments=comments, subscribers=subscribers)  # fmt: skip


@dataclass
class Result:
    backend: str
    corpus: str
    papers: int
    routes: dict
    seconds_measured: float
    server_errors: int
    unexpected: int
    failures: int
    rss_start: dict
    rss_end: dict
    anon_start: dict
    anon_end: dict
    workers_changed: bool
    loads: tuple
    ingests: list
    audit: Audit
    load_cpu: list
    mails: int
    samples: list
    tracebacks: tuple
    notes: list
    idle: dict


def run_backend(backend: str, args, corpus: Corpus, work: Path, log) -> Result:
    notes: list[str] = [corpus.note]
    cleanup = None
    data_dir = work / f"data-{backend}"
    if backend == "sqlite":
        shutil.copytree(corpus.data_dir, data_dir)
        url = f"sqlite:///{data_dir / 'paperboard.db'}"
    else:
        url, cleanup = _postgres(args)
        data_dir.mkdir()
        source = corpus.data_dir / "paperboard.db"
        if args.postgres_papers and not args.quick:
            source = work / "slice" / "paperboard.db"
            if not source.exists():
                source.parent.mkdir()
                n = newest_slice(corpus.data_dir / "paperboard.db", source, args.postgres_papers, log)
                notes.append(
                    f"PostgreSQL serves the newest {n:,} papers of the corpus, not all of it: `db copy` "
                    "of the whole 75k store (224k vectors) takes too long for a bench run "
                    "(--postgres-papers 0 copies it all)"
                )  # fmt: skip
        env = env_for(url, data_dir)
        began = time.perf_counter()
        log(f"[postgres] paperboard db copy --from {source} --to {url}")
        cli(env, "db", "copy", "-q", "--from", f"sqlite:///{source}", "--to", url)
        copy_s = time.perf_counter() - began
        began = time.perf_counter()
        # Vectors all exist: this only brings the new data dir's indexes up to date, as an
        # ingest would, so the first search does not build them.
        cli(env, "embed", "--model", "minilm-static-256")
        index_s = time.perf_counter() - began
        began = time.perf_counter()
        # The kept similar lists are keyed by the store's own paper keys, which a copy
        # renumbers: kept anew, as the worker would.
        cli(env, "similar", "--all")
        notes.append(
            f"db copy into PostgreSQL: {copy_s:.0f} s; the data dir's indexes: {index_s:.0f} s; "
            f"every paper's similar list (similar --all): {time.perf_counter() - began:.0f} s"
        )
    try:
        return _run(backend, args, corpus, url, data_dir, work, notes, log)
    finally:
        if cleanup is not None:
            cleanup()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def _postgres(args):
    """A fresh database (and its cleanup) on --postgres-url or a throwaway cluster."""
    from bench.store import postgres_url

    if args.postgres_url:
        os.environ["PAPERBOARD_BENCH_POSTGRES_URL"] = args.postgres_url
    got = postgres_url()
    if isinstance(got, str):
        raise RuntimeError(got)
    return got


def _run(
    backend: str, args, corpus: Corpus, url: str, data_dir: Path, work: Path, notes: list, log
) -> Result:
    rng = random.Random(args.seed)
    tag = secrets.token_hex(3)
    pool = read_pool(url, corpus.new_ids, rng)
    from paperboard.store import open_store

    with open_store(url) as store:
        papers = store.count_papers()
    env = env_for(url, data_dir)
    sink = MailSink()
    env.update({"PAPERBOARD_SMTP_HOST": "127.0.0.1", "PAPERBOARD_SMTP_PORT": str(sink.port)})
    logs = work / f"logs-{backend}"
    logs.mkdir(exist_ok=True)
    server = Server(env, args.workers, logs / "server.log")
    worker = None
    try:
        log(
            f"[{backend}] serving {papers:,} papers on {server.base} ({args.workers} workers); waiting for /readyz"
        )
        server.wait_ready(600)
        log(f"[{backend}] idle baseline: each page alone, one request at a time")
        idle = idle_baseline(server.base, pool)
        worker = SiteWorker(env, logs / "worker.log") if args.worker else None
        workers0 = _workers(server.proc.pid)
        monitor = Monitor(server.proc.pid)
        monitor.start()
        start = time.time() + 2.0
        plan = Plan(
            base_url=server.base, tag=tag, start=start, warmup=args.warmup, seconds=args.seconds,
            think=args.think, signup_share=0.7, pool=pool.ids, fresh=pool.fresh, hot=pool.hot,
            days=pool.days, weeks=pool.weeks, months=pool.months, queries=pool.queries,
        )  # fmt: skip
        ctx = multiprocessing.get_context("spawn")
        procs, outs = [], []
        for k in range(args.load_processes):
            out = logs / f"load-{k}.json"
            indices = list(range(k, args.clients, args.load_processes))
            p = ctx.Process(target=run_load, args=(asdict(plan), indices, str(out), args.seed + k))
            p.start()
            procs.append(p)
            outs.append(out)
        ingests = Ingests(
            env, corpus.new_days, start + args.warmup, start + args.seconds * 0.85, logs
        )
        ingests.start()
        load_start = _loadavg()
        time.sleep(max(0.0, start + args.warmup - time.time()))
        rss_start, anon_start = monitor.snapshot(), monitor.private()
        notes.append("worker RSS after the warm-up, MiB: " + "; ".join(f"{pid}: {v}" for pid, v in monitor.parts().items()))
        log(
            f"[{backend}] warm-up over; worker RSS {', '.join(f'{pid}: {kib / 1024:.0f} MiB' for pid, kib in rss_start.items())}"
        )
        time.sleep(max(0.0, start + args.seconds - time.time()))
        rss_end, anon_end = monitor.snapshot(), monitor.private()
        notes.append("worker RSS at the end, MiB: " + "; ".join(f"{pid}: {v}" for pid, v in monitor.parts().items()))
        for p in procs:
            p.join(timeout=180)
        load_end = _loadavg()
        monitor.halt.set()
        ingests.load_over.set()
        waited = time.time()
        ingests.join(timeout=3600)
        if ingests.runs and ingests.runs[-1]["start"] + ingests.runs[-1]["seconds"] > waited:
            notes.append(f"the last ingest outlasted the load by {time.time() - waited:.0f} s")
        if ingests.skipped:
            notes.append(f"not ingested (the load was over before their turn): {', '.join(ingests.skipped)}")
        workers1 = _workers(server.proc.pid)
    finally:
        worker_run = worker.stop() if worker is not None else None
        server.stop()
        sink.stop()
    if worker_run is not None:
        with open_store(url) as store:
            unkept, dirty = len(store.unkept_similar_keys(10**7)), len(store.dirty_similar_keys(10**7))
        cpu, wall, died = worker_run
        notes.append(
            f"paperboard worker: {cpu:.0f} s CPU in {wall:.0f} s ({cpu / wall:.0%} of a core)"
            + (f", EXITED early with {died} (see {logs / 'worker.log'})" if died is not None else "")
            + f"; at the end {unkept:,} papers had no kept similar list and {dirty:,} lists were out of date"
        )
    loads = [json.loads(o.read_text()) for o in outs if o.exists()]
    if len(loads) != len(procs):
        raise RuntimeError(f"a load process died; see {logs}")
    routes: dict[str, dict] = {}
    for ld in loads:
        for name, s in ld["routes"].items():
            r = routes.setdefault(name, {"latencies": [], **dict.fromkeys(COUNTS, 0)})
            for key in COUNTS:
                r[key] += s[key]
            r["latencies"].extend(s["latencies"])
    ledgers = [UserLedger.from_json(u) for ld in loads for u in ld["ledgers"]]
    view = store_view(url, ledgers, pool, tag)
    result = audit(ledgers, view)
    during = statistics.mean(monitor.loads) if monitor.loads else load_end[0]
    return Result(
        backend=backend, corpus=corpus.name, papers=papers, routes=routes,
        seconds_measured=args.seconds - args.warmup,
        server_errors=sum(r["server_errors"] for r in routes.values()),
        unexpected=sum(r["unexpected"] for r in routes.values()),
        failures=sum(r["failures"] for r in routes.values()),
        rss_start=rss_start, rss_end=rss_end, anon_start=anon_start, anon_end=anon_end, workers_changed=workers0 != workers1 or set(rss_start) != set(rss_end),
        loads=(load_start, during, load_end), ingests=[{**r, "start": r["start"] - start} for r in ingests.runs],
        audit=result, load_cpu=[(ld["cpu_seconds"], ld["wall_seconds"]) for ld in loads], mails=sink.count,
        samples=[s for ld in loads for s in ld["samples"]], tracebacks=server.tracebacks(), notes=notes,
        idle=idle,
    )  # fmt: skip


# -- the report -------------------------------------------------------------------------------
def _q(values: list[float], p: float) -> float:
    """The p-th percentile in ms (nearest rank); NaN when nothing was measured."""
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] * 1000


def report(r: Result, args) -> bool:
    print(f"\n=== {r.backend}: {r.corpus}, {r.papers:,} papers; {args.clients} clients in {args.load_processes} "
          f"load process(es), think time mean {args.think:g} s; {args.seconds:.0f} s, the first {args.warmup:.0f} s warm-up")  # fmt: skip
    la = r.loads
    print(
        f"load average (1 min): {la[0][0]:.2f} at start, {la[1]:.2f} mean during, {la[2][0]:.2f} at end (2 cores, shared machine)"
    )
    for note in r.notes:
        print(note)
    print(
        f"\n{'route':<28}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'5xx':>6}{'other':>7}"
        f"{'idle p50':>10}{'p50/idle':>10}"
    )
    total = 0
    for name in sorted(r.routes, key=lambda n: (n.split()[0] != "GET", n)):
        s = r.routes[name]
        n = len(s["latencies"])
        total += n
        idle = r.idle.get(name)
        versus = f"{idle:>10.1f}{_q(s['latencies'], 50) / idle:>9.1f}x" if idle and n else ""
        print(f"{name:<28}{n:>9}{n / r.seconds_measured:>8.1f}{_q(s['latencies'], 50):>9.1f}{_q(s['latencies'], 99):>9.1f}"
              f"{s['server_errors']:>6}{s['unexpected'] + s['failures']:>7}{versus}")  # fmt: skip
    every = [x for s in r.routes.values() for x in s["latencies"]]
    print(f"{'all':<28}{total:>9}{total / r.seconds_measured:>8.1f}{_q(every, 50):>9.1f}{_q(every, 99):>9.1f}"
          f"{r.server_errors:>6}{r.unexpected + r.failures:>7}")  # fmt: skip
    print("(requests, req/s and latencies of answered requests after the warm-up; 5xx and other: the whole run; "
          "other = an answer the user did not expect, or none; idle p50: the page alone on the idle site before "
          "the run)")  # fmt: skip
    retried = sum(s["retried"] for s in r.routes.values())
    if retried:
        print(f"{retried} GETs met a keep-alive connection the server had just closed and were sent again (as "
              f"browsers do); {r.failures} requests got no answer at all")  # fmt: skip
    for cpu, wall in r.load_cpu:
        print(f"load process: {cpu:.0f} s CPU in {wall:.0f} s ({cpu / wall:.0%} of a core)")
    for run in r.ingests:
        print(
            f"ingest {run['day']}: started at {run['start']:.0f} s, took {run['seconds']:.0f} s, exit {run['rc']}: {run['summary']}"
        )
    print(f"emails received by the local SMTP server: {r.mails}")
    growth, private = {}, {}
    print("server workers' RSS (of which private: anonymous memory, without mapped files):")
    for pid, kib in sorted(r.rss_start.items()):
        end = r.rss_end.get(pid)
        if end is None:
            print(f"  worker {pid}: {kib / 1024:.0f} MiB after warm-up, gone at the end")
            continue
        growth[pid] = end / kib - 1
        a0, a1 = r.anon_start.get(pid), r.anon_end.get(pid)
        if a0 and a1:
            private[pid] = a1 / a0 - 1
        print(
            f"  worker {pid}: {kib / 1024:.0f} MiB after warm-up, {end / 1024:.0f} MiB at the end ({growth[pid]:+.1%});"
            + (f" private {a0 / 1024:.0f} -> {a1 / 1024:.0f} MiB ({private[pid]:+.1%})" if pid in private else "")
        )
    a = r.audit
    print(f"writes audited: {a.votes_checked} votes on {a.papers_checked} papers, {a.comments_checked} comments, "
          f"{a.saves_checked} saves, {a.subscriptions_checked} subscriptions ({a.uncertain} unanswered writes allowed "
          f"either way): {a.lost} lost, {a.duplicated} duplicated")  # fmt: skip
    for p in a.problems[:20]:
        print(f"  {p}")
    odd = r.samples[:8]
    if odd:
        print("first odd answers:")
        for s in odd:
            print(f"  {s['route']} by {s['user']}: {s['kind']} {s['status']} {s['error'] or ''} request id {s['request_id']}"
                  f" {(s['body'] or '')[:160]!r}")  # fmt: skip
    count, tbs = r.tracebacks
    if count:
        print(f"server log: {count} tracebacks; the first distinct ones:")
        for tb in tbs:
            print("  " + tb.replace("\n", "\n  "))
    pages = {n: _q(s["latencies"], 99) for n, s in r.routes.items() if n.startswith("GET ") and s["latencies"]}
    slow = {n: v for n, v in pages.items() if not v <= P99_TARGET_MS}
    checks = [
        ("0 5xx", r.server_errors == 0, f"{r.server_errors}"),
        ("0 lost or duplicated writes", a.ok, f"{a.lost} lost, {a.duplicated} duplicated"),
        (f"p99 <= {P99_TARGET_MS:.0f} ms on every page", not slow,
         ", ".join(f"{n} {v:.0f} ms" for n, v in sorted(slow.items(), key=lambda x: -x[1])) or "all within"),
        (f"RSS growth <= {RSS_GROWTH_TARGET:.0%} after warm-up",
         bool(growth) and not r.workers_changed and max(growth.values()) <= RSS_GROWTH_TARGET,
         ("a worker was replaced; " if r.workers_changed else "") + (f"max {max(growth.values()):+.1%}" if growth else "no figures")),
        (f"private memory growth <= {RSS_GROWTH_TARGET:.0%} after warm-up (RSS without the mapped, shared files)",
         bool(private) and not r.workers_changed and max(private.values()) <= RSS_GROWTH_TARGET,
         f"max {max(private.values()):+.1%}" if private else "no figures"),
    ]  # fmt: skip
    print("targets:")
    for name, ok, detail in checks:
        print(f"  {name}: {'met' if ok else 'NOT met'} ({detail})")
    return all(ok for _, ok, _ in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--clients", type=int, default=None, help="simulated users (default 200; --quick 30)"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="whole run (default 600; --quick 60)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="left out of the latency table (default 60; --quick 15)",
    )
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause between a user's clicks, seconds"
    )
    parser.add_argument(
        "--days", type=int, default=3, help="new days ingested during the run (75k corpus)"
    )
    parser.add_argument(
        "--postgres-papers", type=int, default=20_000,
        help="PostgreSQL gets the newest N papers of the 75k corpus (0: all; db copy then takes long)",
    )  # fmt: skip
    parser.add_argument("--load-processes", type=int, default=1)
    parser.add_argument("--worker", action=argparse.BooleanOptionalAction, default=True,
                        help="run `paperboard worker` beside the server, as a site does")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 30 clients, 60 s, a small corpus"
    )
    parser.add_argument(
        "--postgres-url", help="a PostgreSQL server to create (and drop) a database on"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp dir (stores, server and ingest logs)"
    )
    args = parser.parse_args()
    args.clients = args.clients or (30 if args.quick else 200)
    args.seconds = args.seconds or (60.0 if args.quick else 600.0)
    args.warmup = args.warmup if args.warmup is not None else (15.0 if args.quick else 60.0)
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} not found (the soak needs the shared arxiv-daily corpus)")
        return 0
    if args.warmup >= args.seconds:
        parser.error("--warmup must be shorter than --seconds")

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="paperboard-soak-"))
    ok = True
    try:
        began = time.perf_counter()
        corpus = quick_corpus(work) if args.quick else full_corpus(work, args.days, log)
        log(f"corpus ready in {time.perf_counter() - began:.0f} s: {corpus.name}")
        backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
        for backend in backends:
            ok = report(run_backend(backend, args, corpus, work, log), args) and ok
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nall targets {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
