"""100 clients × 100 upvote/un-upvote requests against ``paperboard serve --workers 4``.

Every worker process has its own store (and pool); the final count of every paper must be
its imported upvotes plus the number of users whose last request for it was an upvote, with
no failed request. Runs on each backend (SQLite and, when configured, PostgreSQL).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from paperboard.models import Paper
from paperboard.store import open_store
from paperboard.web.tokens import token_hash
from tests.servers import free_port, wait_until_serving

REPO = Path(__file__).resolve().parents[2]
CLIENTS, OPERATIONS, WORKERS = 100, 100, 4
PAPERS = [f"2506.{i:05d}" for i in range(1, 11)]


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


@pytest.mark.slow
def test_hundred_clients_voting_through_four_workers_count_exactly(store_factory, tmp_path):
    url = store_factory()
    with open_store(url) as store:
        store.upsert_papers([Paper(id=pid, title=f"Paper {pid}", feed_day="2025-06-02", upvotes=i)
                             for i, pid in enumerate(PAPERS)])  # fmt: skip
        for i in range(CLIENTS):
            user = store.create_user(f"voter{i}", "not-a-real-hash")
            store.create_api_token(user.id, "t", token_hash(f"pb_voter-{i}"))

    port = free_port()
    env = {**os.environ, "PAPERBOARD_DATABASE_URL": url, "PAPERBOARD_DATA_DIR": str(tmp_path / "data"),
           "PAPERBOARD_SECRET_KEY": "test-secret-key-not-for-production"}  # fmt: skip
    # The server's log goes to a file: it writes a line per request, and a pipe nobody reads
    # fills after a few hundred and blocks every worker (this test hung that way).
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "paperboard", "serve", "--port", str(port), "--workers", str(WORKERS)],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(server, f"{base}/api/papers/{PAPERS[0]}", timeout=90,
                           why=lambda: (tmp_path / "server.log").read_text()[-2000:])
        assert len(_children(server.pid)) >= WORKERS

        final: dict[tuple[int, str], bool] = {}
        errors: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(CLIENTS)

        def client(i: int) -> None:
            rng = random.Random(i)
            mine: dict[str, bool] = {}
            headers = {"Authorization": f"Bearer pb_voter-{i}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                barrier.wait()
                for _ in range(OPERATIONS):
                    pid, up = rng.choice(PAPERS), rng.random() < 0.6
                    try:
                        r = http.post(f"/api/papers/{pid}/upvote") if up else http.delete(f"/api/papers/{pid}/upvote")
                    except httpx.HTTPError as exc:
                        with lock:
                            errors.append(f"{type(exc).__name__}: {exc}")
                        continue
                    if r.status_code != 200 or r.json()["upvoted"] is not up:
                        with lock:
                            errors.append(f"{r.status_code} {r.text[:200]}")
                    mine[pid] = up
            with lock:
                final.update({(i, pid): up for pid, up in mine.items()})

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    with open_store(url) as store:
        for i, pid in enumerate(PAPERS):
            voters = sum(1 for (_, p), up in final.items() if p == pid and up)
            assert store.get_paper(pid).upvotes == i + voters, pid
        users = store.list_users()
        assert sum(len(store.voted_ids(u.id, PAPERS)) for u in users) == sum(final.values())
