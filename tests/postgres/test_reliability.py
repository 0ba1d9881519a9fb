"""kill -9 of PostgreSQL (and of the ingest client) mid-ingest, restart, re-run: the same
papers as an uninterrupted run, none lost, none duplicated.

Killing a server needs a server of our own: this test starts a private throwaway cluster
with scripts/pg-test-cluster.sh (it never touches the shared test server or any other).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperboard.store import open_store
from tests.postgres.databases import server_url
from tests.spine.corpus import snapshot, write_corpus

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "pg-test-cluster.sh"


class PrivateCluster:
    def __init__(self) -> None:
        out = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            pytest.skip(f"cannot start a private PostgreSQL cluster: {out.stderr.strip()[-300:]}")
        env = dict(line.removeprefix("export ").split("=", 1) for line in out.stdout.splitlines()
                   if line.startswith("export "))  # fmt: skip
        self.url = env["PAPERBOARD_TEST_POSTGRES_URL"]
        self.dir = Path(env["PAPERBOARD_PG_CLUSTER_DIR"])

    def server_pids(self) -> list[int]:
        """The postmaster and every process it started."""
        pid_file = self.dir / "data" / "postmaster.pid"
        if not pid_file.exists():
            return []
        root = int(pid_file.read_text().split()[0])
        pids = {root}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == root:
                    pids.add(int(entry.name))
        return sorted(pids)

    def kill_9(self) -> None:
        for pid in self.server_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{p}").exists() for p in self.server_pids()) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "restart", str(self.dir)], check=True, timeout=120)

    def stop(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "stop", str(self.dir)], timeout=120)


def _ingest(url: str, data_dir: Path, corpus: Path) -> subprocess.Popen:
    env = {**os.environ, "PAPERBOARD_DATA_DIR": str(data_dir), "PAPERBOARD_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "paperboard", "ingest", "-q", "arxiv-daily", str(corpus), "--batch-size", "25"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO,
    )  # fmt: skip


def _count(url: str) -> int:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            return conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
    except psycopg.Error:
        return 0


@pytest.mark.slow
def test_kill_9_postgres_and_client_mid_ingest_then_rerun_equals_clean_run(pg_databases, tmp_path):
    if server_url() is None:
        pytest.skip("needs PAPERBOARD_TEST_POSTGRES_URL")
    corpus = tmp_path / "daily"
    write_corpus(corpus, days=40, per_day=150)
    with pg_databases.database() as clean_url:
        clean = _ingest(clean_url, tmp_path / "clean", corpus)
        assert clean.wait(timeout=600) == 0, clean.stderr.read().decode()
        with open_store(clean_url) as store:
            expected = snapshot(store)

    cluster = PrivateCluster()
    try:
        url = cluster.url
        with open_store(url):  # migrate once, like `paperboard db migrate` before a deploy
            pass
        rng = random.Random(5)
        kills = {"server": 0, "client": 0}
        for round_ in range(6):
            victim = "server" if round_ % 2 == 0 else "client"
            before = _count(url)
            proc = _ingest(url, tmp_path / "crashed", corpus)
            deadline = time.monotonic() + 120
            while proc.poll() is None and _count(url) <= before and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
            if proc.poll() is None:
                if victim == "server":
                    cluster.kill_9()
                else:
                    os.kill(proc.pid, signal.SIGKILL)
                kills[victim] += 1
            try:
                proc.wait(timeout=120)
            finally:
                proc.kill()
                proc.stderr.close()
            if victim == "server":
                cluster.restart()
        assert kills["server"] >= 2 and kills["client"] >= 1, kills
        final = _ingest(url, tmp_path / "crashed", corpus)
        assert final.wait(timeout=600) == 0, final.stderr.read().decode()
        with open_store(url) as store:
            got = snapshot(store)
            assert store.count_papers() == len(expected)
        assert got == expected
    finally:
        cluster.stop()
