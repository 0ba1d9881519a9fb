"""The batch work on a real two-node Ray cluster (a head, and a node joined with ``ray start
--address``), started once for the module: vectors and TL;DRs written through Ray equal one
process's, a worker killed mid-task is retried and writes once, a killed driver's re-run
completes, and bad addresses or a missing Ray fail with a clear error that loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

from paperboard.cli import main
from paperboard.models import Paper
from paperboard.search.embedder import ONNX_MODEL, STATIC_MODEL, load_embedder
from paperboard.search.embedding import embed_missing, views_of
from paperboard.search.similar import view_name
from paperboard.sources import demo
from paperboard.store import open_store
from tests.servers import free_port

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'paperboard[ray]' (make test installs it)")

from bench.lib.ray_cluster import LocalRayCluster, reload_ray_auth  # noqa: E402

PAPERS = {STATIC_MODEL: 40, ONNX_MODEL: 16}
"""The static model where the point is orchestration; the stronger one on a handful."""
BATCH = {STATIC_MODEL: 6, ONNX_MODEL: 4}
"""Papers per Ray task, and per batch of the one-process run the results are compared with."""


@pytest.fixture(scope="module")
def cluster():
    with LocalRayCluster(nodes=2, cpus_per_node=1) as running:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in running.env.items():
                mp.setenv(name, value)
            mp.delenv("RAY_ADDRESS", raising=False)
            reload_ray_auth()
            ray.init(address=running.address, log_to_driver=False)
            try:
                running.wait_for_nodes(ray)
            finally:
                ray.shutdown()
            yield running


def demo_papers(model: str) -> list[Paper]:
    """The first demo papers (real titles and abstracts), as many as the model's tests take."""
    return [p for p in demo.read() if isinstance(p, Paper)][: PAPERS[model]]


def store_papers(settings, model: str) -> list[Paper]:
    papers = demo_papers(model)
    store = open_store(settings.resolved_database_url)
    store.migrate()
    store.upsert_papers(papers)
    store.close()
    return papers


@pytest.fixture
def corpus(settings) -> list[Paper]:
    return store_papers(settings, STATIC_MODEL)


@pytest.fixture
def strong_corpus(settings) -> list[Paper]:
    return store_papers(settings, ONNX_MODEL)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> dict[str, dict[str, np.ndarray]]:
    """Every vector the tests write, as ``paperboard embed`` without --ray writes them (the
    same batches: the transformer's vectors depend slightly on a paper's batch-mates)."""
    out = {}
    for model in (STATIC_MODEL, ONNX_MODEL):
        store = open_store(f"sqlite:///{tmp_path_factory.mktemp('one-process') / 'pb.db'}")
        store.migrate()
        papers = demo_papers(model)
        store.upsert_papers(papers)
        keys = store.paper_keys([p.id for p in papers])
        for view in views_of(model):
            label = view_name(model, view)
            embed_missing(store, load_embedder(model), view=view, batch_size=BATCH[model])
            stored = store.get_vectors(label, list(keys.values()))
            out[label] = {pid: stored[key] for pid, key in keys.items()}
        store.close()
    return out


def assert_embedded_once_and_equal(settings, model: str, expected: dict[str, dict[str, np.ndarray]]) -> None:
    """Every paper has each of the model's vectors, each written exactly once (the sequence
    numbers count writes: the highest equals the row count), equal to one process's."""
    store = open_store(settings.resolved_database_url)
    try:
        for view in views_of(model):
            label = view_name(model, view)
            count, last_seq, _ = store.vector_stats(label)
            assert (count, last_seq) == (PAPERS[model], PAPERS[model]), label
            keys = store.paper_keys(list(expected[label]))
            stored = store.get_vectors(label, list(keys.values()))
            for pid, vector in expected[label].items():
                cosine = float(stored[keys[pid]] @ vector)
                assert cosine >= 0.9999, (label, pid, cosine)
    finally:
        store.close()


def test_embed_on_ray_writes_the_vectors_of_one_process(cluster, settings, corpus, one_process):
    runner = CliRunner()
    batch = str(BATCH[STATIC_MODEL])
    result = runner.invoke(main, ["embed", "--model", STATIC_MODEL, "--ray", cluster.address, "--batch-size", batch])
    assert result.exit_code == 0, result.output
    assert f"embedded {PAPERS[STATIC_MODEL]} papers with {STATIC_MODEL}" in result.output
    assert_embedded_once_and_equal(settings, STATIC_MODEL, one_process)
    again = runner.invoke(main, ["embed", "--model", STATIC_MODEL, "--ray", cluster.address])
    assert again.exit_code == 0 and f"embedded 0 papers with {STATIC_MODEL}" in again.output
    assert_embedded_once_and_equal(settings, STATIC_MODEL, one_process)


@pytest.mark.sqlite_only
def test_a_worker_killed_mid_task_is_retried_and_writes_once(cluster, settings, strong_corpus, one_process):
    """The stronger model (both its views), four papers a task: a worker busy embedding is
    SIGKILLed; Ray runs its task again and every vector is written once."""
    killed: list[str] = []
    stop = threading.Event()

    def kill_one_busy_worker() -> None:
        while not stop.is_set() and not killed:
            for pid, command in cluster.processes().items():
                if command.startswith("ray::embed_chunk"):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(command)
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_busy_worker, daemon=True)
    killer.start()
    try:
        result = CliRunner().invoke(main, ["embed", "--model", ONNX_MODEL, "--ray", cluster.address,
                                             "--batch-size", str(BATCH[ONNX_MODEL])])  # fmt: skip
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was seen running a task"
    assert result.exit_code == 0, result.output
    assert_embedded_once_and_equal(settings, ONNX_MODEL, one_process)


@pytest.mark.sqlite_only
def test_a_killed_driver_resumes_and_ends_equal(cluster, settings, strong_corpus, one_process):
    """``paperboard embed --ray`` as a user runs it, SIGKILLed once some batches are written,
    then run again: only what is missing is embedded, each vector once."""
    env = {**os.environ, **cluster.env}
    command = [sys.executable, "-m", "paperboard", "embed", "--model", ONNX_MODEL,
               "--ray", cluster.address, "--batch-size", str(BATCH[ONNX_MODEL])]  # fmt: skip
    label = view_name(ONNX_MODEL, None)
    store = open_store(settings.resolved_database_url)
    driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while store.vector_stats(label)[0] < BATCH[ONNX_MODEL]:
            assert driver.poll() is None, driver.stderr.read().decode()
            assert time.monotonic() < deadline, "no batch was written"
            time.sleep(0.01)
        driver.kill()
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.stderr.close()
    written = store.vector_stats(label)[0]
    store.close()
    assert BATCH[ONNX_MODEL] <= written < PAPERS[ONNX_MODEL], written
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"embedded {PAPERS[ONNX_MODEL] - written} papers with {ONNX_MODEL}" in rerun.stderr
    assert_embedded_once_and_equal(settings, ONNX_MODEL, one_process)


@pytest.mark.sqlite_only
def test_a_paper_changed_while_its_chunk_is_in_flight_gets_no_stale_vector(cluster, settings, corpus):
    """The second chunk is computed while the first is written; its paper changed meanwhile
    stays without a vector (not one of its old text), and the next run embeds the new text."""
    from paperboard.ingest import ingest
    from paperboard.scale.ray_connect import ray_cluster
    from paperboard.scale.ray_embed import embed_missing_on_ray
    from paperboard.search.embedder import paper_text

    batch = BATCH[STATIC_MODEL]
    old = corpus[batch + 2]
    new = Paper(id=old.id, version=old.version + 1, title=old.title, feed_day=old.feed_day,
                abstract="We study something else entirely: tide pools. It works.")  # fmt: skip
    store = open_store(settings.resolved_database_url)

    def change_once(done: int, _total: int) -> None:
        if done == batch:
            ingest(store, [new])

    with ray_cluster(cluster.address) as ray:
        first = embed_missing_on_ray(ray, store, STATIC_MODEL, batch_size=batch, on_batch=change_once)
        key = store.paper_keys([old.id])[old.id]
        assert (first.embedded, first.remaining) == (PAPERS[STATIC_MODEL] - 1, 1)
        assert store.get_vectors(STATIC_MODEL, [key]) == {}
        again = embed_missing_on_ray(ray, store, STATIC_MODEL, batch_size=batch)
    assert (again.embedded, again.remaining) == (1, 0)
    expected = load_embedder(STATIC_MODEL).encode([paper_text(new.title, new.abstract)])[0]
    assert float(store.get_vectors(STATIC_MODEL, [key])[key] @ expected) >= 0.9999
    store.close()


def test_tldr_backfill_on_ray_auto_equals_one_process(cluster, settings, corpus, monkeypatch):
    store = open_store(settings.resolved_database_url)
    expected = {pid: p.tldr for pid, p in store.get_papers([p.id for p in corpus]).items()}
    with store._db.writer() as conn:  # papers as stored before TL;DRs existed
        conn.execute("UPDATE papers SET tldr = NULL")
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    result = CliRunner().invoke(main, ["tldr", "backfill", "--ray", "auto", "--batch-size", "7"])
    assert result.exit_code == 0, result.output
    assert f"wrote {PAPERS[STATIC_MODEL]} TL;DRs" in result.output and "0 papers without one" in result.output
    assert {pid: p.tldr for pid, p in store.get_papers(list(expected)).items()} == expected
    assert all(expected.values())
    store.close()


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("address", "message"),
    [
        (lambda: f"127.0.0.1:{free_port()}", "cannot reach the Ray cluster at 127.0.0.1:"),
        (lambda: "head-node-without-port", "expected HOST:PORT of the head node"),
    ],
)
def test_an_unreachable_cluster_is_a_clear_error_and_writes_nothing(cluster, settings, corpus, address, message):
    started = time.monotonic()
    result = CliRunner().invoke(main, ["embed", "--model", STATIC_MODEL, "--ray", address()])
    assert result.exit_code == 2 and message in result.output, result.output
    assert time.monotonic() - started < 15
    store = open_store(settings.resolved_database_url)
    assert store.vector_stats(STATIC_MODEL)[0] == 0
    assert store.count_without_vectors(STATIC_MODEL) == PAPERS[STATIC_MODEL]
    store.close()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("command", [["embed", "--model", STATIC_MODEL], ["tldr", "backfill"]])
def test_without_ray_installed_the_error_says_how_to_install_it(settings, corpus, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees without the extra
    result = CliRunner().invoke(main, [*command, "--ray", "auto"])
    assert result.exit_code == 2, result.output
    assert "pip install 'paperboard[ray]'" in result.output
