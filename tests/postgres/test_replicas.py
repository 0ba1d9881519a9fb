"""Read replicas on a real streaming replica: routing, read-your-writes, lag, a replica stopped.

The module makes its own throwaway primary (scripts/pg-test-cluster.sh) and a hot standby of
it (``pg_basebackup -R``) on a free port, so the shared test cluster is never changed. Which
server answered is read from the server itself (``inet_server_port()``); a replica kept behind
with ``pg_wal_replay_pause()`` shows which reads it answered by what they do not see yet.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient

from paperboard.config import Settings
from paperboard.store import StoreError, open_store
from paperboard.store.postgres import PostgresStore
from paperboard.store.postgres.replicas import read_your_writes
from paperboard.web.app import create_app
from tests.postgres.databases import ENV as POSTGRES_ENV
from tests.servers import free_port
from tests.web.conftest import csrf, make_paper, sample_papers, signup

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pg-test-cluster.sh"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROBOT = "2607.00002"  # 12 upvotes in sample_papers()


def _as_owner(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.getuid() == 0 else list(cmd)


@dataclass
class Cluster:
    dir: Path
    primary_url: str
    replica_port: int

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_owner(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "replica"), "-w", "-t", "60", *args),
                       check=True, capture_output=True, timeout=90)  # fmt: skip

    def start_replica(self) -> None:
        self.pg_ctl("-l", str(self.dir / "replica.log"), "-o",
                    f"-p {self.replica_port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start")  # fmt: skip

    def stop_replica(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    def on_replica(self, sql: str) -> None:
        with psycopg.connect(self.replica_url, autocommit=True) as conn:
            conn.execute(sql)


@pytest.fixture(scope="module")
def cluster():
    if not os.environ.get(POSTGRES_ENV) or not (PG_BIN / "pg_basebackup").exists():
        pytest.skip("replica tests need PostgreSQL 15 (make test starts a throwaway cluster)")
    out = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PAPERBOARD_PG_SERVER_OPTIONS": "-c fsync=off -c wal_level=replica"})  # fmt: skip
    assert out.returncode == 0, out.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.stdout.splitlines()
                   if line.startswith("export "))  # fmt: skip
    folder = Path(exports["PAPERBOARD_PG_CLUSTER_DIR"])
    primary = exports["PAPERBOARD_TEST_POSTGRES_URL"]
    try:
        with open_store(primary) as store:  # migrated before the copy: the replica starts with the schema
            store.upsert_papers(sample_papers())
        port = psycopg.conninfo.conninfo_to_dict(primary)["port"]
        subprocess.run(_as_owner(str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                                 "-D", str(folder / "replica"), "-R", "-X", "stream", "-c", "fast"),
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        made = Cluster(folder, primary, free_port())
        made.start_replica()
        yield made
        subprocess.run(_as_owner(str(PG_BIN / "pg_ctl"), "-D", str(folder / "replica"), "-m", "immediate", "stop"),
                       capture_output=True, timeout=60)  # fmt: skip
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)


@pytest.fixture
def store(cluster):
    """A store reading from the replica, skipping it once it is 1 s behind (checked every 0.25 s)."""
    cluster.on_replica("SELECT pg_wal_replay_resume()")
    made = PostgresStore(cluster.primary_url, replica_urls=(cluster.replica_url,), replica_max_lag=1.0)
    until(lambda: _state(made) == "in use")
    yield made
    made.close()
    cluster.on_replica("SELECT pg_wal_replay_resume()")


def until(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def _state(store: PostgresStore) -> str:
    with store._db.reader():  # a read starts the process's replica checks
        pass
    return store.replica_status()[0]["state"]


def served_by(store: PostgresStore) -> int:
    with store._db.reader() as conn:
        return conn.execute("SELECT inet_server_port() AS port").fetchone()["port"]


def _port(url: str) -> int:
    return int(psycopg.conninfo.conninfo_to_dict(url)["port"])


def test_reads_go_to_the_replica_and_writes_to_the_primary(cluster, store):
    assert served_by(store) == cluster.replica_port
    with store._db.writer() as conn:
        row = conn.execute("SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby").fetchone()
    assert (row["port"], row["standby"]) == (_port(cluster.primary_url), False)
    store.upsert_papers([make_paper("2607.00101", "Streaming Replicas Everywhere")])  # through the primary
    assert until(lambda: store.get_paper("2607.00101")).title == "Streaming Replicas Everywhere"  # replayed
    # The dense search stage (pgvector's HNSW index) reads from the replica too.
    keys = list(store.paper_keys(["2607.00101", ROBOT]).values())
    store.put_vectors("replicated", keys, np.eye(2, 4, dtype=np.float32))
    assert until(lambda: store.nearest_vectors("replicated", np.array([1, 0.1, 0, 0]), 2))[0][0] == keys[0]


def test_a_replica_behind_answers_within_the_bound_but_never_hides_a_writers_own_write(cluster, store):
    cluster.on_replica("SELECT pg_wal_replay_pause()")
    store.upsert_papers([make_paper("2607.00102", "Written While The Replica Waits")])
    assert store.get_paper("2607.00102") is None  # the replica answered: it has not replayed it
    with read_your_writes() as mine:
        store.upsert_papers([make_paper("2607.00103", "My Own Paper")])
        assert store.get_paper("2607.00103") is not None
        assert served_by(store) == _port(cluster.primary_url)
    with read_your_writes(mine.lsn):  # the writer's next request (the web layer's cookie)
        assert store.get_paper("2607.00103") is not None
    # Behind by more than the bound (1 s): skipped, so everyone reads the primary.
    assert until(lambda: _state(store) == "lagging")
    assert store.replica_status()[0]["lag_seconds"] >= 1.0
    assert served_by(store) == _port(cluster.primary_url)
    assert store.get_paper("2607.00102") is not None
    cluster.on_replica("SELECT pg_wal_replay_resume()")
    assert until(lambda: _state(store) == "in use")
    with read_your_writes(mine.lsn):  # replayed now: the replica serves the writer too
        assert served_by(store) == cluster.replica_port


def test_votes_comments_and_saves_are_read_back_by_their_author_at_once(cluster, store, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=cluster.primary_url, secret_key="test-secret-key-not-for-production")
    # A lag bound the paused replay never reaches: only read-your-writes sends reads to the primary.
    lenient = PostgresStore(cluster.primary_url, replica_urls=(cluster.replica_url,), replica_max_lag=60.0)
    until(lambda: _state(lenient) == "in use" and lenient.get_paper(ROBOT) is not None)
    cluster.on_replica("SELECT pg_wal_replay_pause()")
    try:
        app = create_app(settings, lenient)
        with TestClient(app) as writer, TestClient(app) as stranger:
            signup(writer, "replicated")  # the session itself is only on the primary
            token = csrf(writer, "/")
            assert "pb_wal" in writer.cookies
            assert writer.post(f"/papers/{ROBOT}/upvote", data={"csrf_token": token}).status_code == 200
            assert writer.get(f"/api/papers/{ROBOT}").json()["upvotes"] == 13
            assert stranger.get(f"/api/papers/{ROBOT}").json()["upvotes"] == 12  # the replica's answer
            r = writer.post(f"/papers/{ROBOT}/comments", data={"body": "Read back at once", "csrf_token": token})
            assert r.status_code == 200 and "Read back at once" in r.text  # the page after the redirect
            assert "Read back at once" not in stranger.get(f"/papers/{ROBOT}").text
            r = writer.post("/library/save", data={"paper_id": ROBOT, "csrf_token": token})
            assert r.status_code == 200
            assert "Saved</button>" in writer.get(f"/papers/{ROBOT}").text
            ready = writer.get("/readyz").json()
            assert ready["status"] == "ready" and ready["checks"]["replicas"][0]["state"] == "in use"
            assert 'paperboard_replica_in_use{replica="' in writer.get("/metrics").text
    finally:
        lenient.close()


def test_a_replica_stopped_mid_load_costs_no_request_and_is_used_again_once_back(cluster, store, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=cluster.primary_url, secret_key="test-secret-key-not-for-production")
    app = create_app(settings, store)
    statuses: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def load() -> None:
        with TestClient(app) as client:
            while not stop.is_set():
                try:
                    for path in ("/", f"/papers/{ROBOT}", f"/api/papers/{ROBOT}", "/api/daily_papers"):
                        statuses.append(client.get(path).status_code)
                    assert store.get_paper(ROBOT) is not None
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        until(lambda: len(statuses) > 20)
        cluster.stop_replica()
        until(lambda: _state(store) == "down")
        seen = len(statuses)
        until(lambda: len(statuses) > seen + 20)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, "".join(traceback.format_exception(errors[0]))
    assert set(statuses) == {200}
    assert served_by(store) == _port(cluster.primary_url)
    # A store opened while its replica is down starts and serves from the primary.
    with PostgresStore(cluster.primary_url, replica_urls=(cluster.replica_url,)) as fresh:
        assert fresh.get_paper(ROBOT) is not None
    cluster.start_replica()
    assert until(lambda: _state(store) == "in use")
    assert served_by(store) == cluster.replica_port


def test_replica_urls_are_parsed_and_need_postgresql(monkeypatch, tmp_path):
    monkeypatch.setenv("PAPERBOARD_DATABASE_REPLICA_URLS", "postgresql://a:5432/pb, postgresql://b:5432/pb,")
    assert Settings().database_replica_urls == ("postgresql://a:5432/pb", "postgresql://b:5432/pb")
    monkeypatch.setenv("PAPERBOARD_DATABASE_REPLICA_URLS", "mysql://secret@c/pb")
    with pytest.raises(ValueError, match="not a postgresql"):
        Settings()
    with pytest.raises(StoreError, match="need a postgresql"):
        open_store(f"sqlite:///{tmp_path / 'x.db'}", replica_urls=("postgresql://a/pb",))
