"""Operating the site: /healthz and /readyz, HEAD wherever GET is, /metrics (route templates,
search stages, store figures, index lag; summed over two real workers), one JSON log line per
request with a request id that error pages show, and X-Forwarded-For believed only from the
configured proxies."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from paperboard.search.keyword_index import KeywordIndex
from paperboard.web import metrics
from paperboard.web.app import create_app
from paperboard.web.proxies import client_from_chain, parse_networks
from tests.servers import free_port, wait_until_serving

from .conftest import FEED_DAY, csrf, make_paper

SMOE = "2607.00001"


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text (0 when the series is absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, value = line.rsplit(" ", 1)
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


@pytest.fixture
def fresh_store_figures(monkeypatch):
    monkeypatch.setattr(metrics, "STORE_TTL", 0.0)


# -- health -------------------------------------------------------------------------------------
def test_healthz_and_readyz_then_readyz_says_why_it_is_not_ready(client, loaded_store, store_backend):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready" and body["checks"]["store"] == "ok"
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["expected"] >= 12
    assert body["checks"]["keyword_index"] == "not used (the database ranks)"  # 76 papers: FTS ranks

    # a migration not applied (a worker started before `db migrate`): 503 with the reason
    with loaded_store._db.writer() as conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)")
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable" and "migrations pending" in r.json()["reason"]
    assert client.get("/healthz").status_code == 200  # the process is fine: do not restart it

    if store_backend == "postgres":  # an embedded SQLite file cannot go away while it is open
        loaded_store.close()  # the database server is out of reach
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["reason"].startswith("store unreachable")
        assert client.get("/healthz").status_code == 200


def test_readyz_and_metrics_follow_the_keyword_index_behind_the_change_feed(settings, loaded_store, fresh_store_figures):
    index_dir = settings.data_dir / "index"
    KeywordIndex(loaded_store, index_dir, min_papers=0).refresh(force=True)  # built and current
    with TestClient(create_app(settings, loaded_store)) as c:
        assert c.get("/readyz").json()["checks"]["keyword_index"] == "current"
        assert sample(c.get("/metrics").text, "paperboard_index_lag", index="keywords") == 0
        head = loaded_store.text_change_stats()[0]
        loaded_store.upsert_papers([make_paper(f"2607.1000{i}", f"Late paper {i}") for i in range(3)])
        # PostgreSQL's feed shows a change once every older transaction in the cluster has ended
        deadline = time.monotonic() + 60
        while loaded_store.text_change_stats()[0] == head and time.monotonic() < deadline:
            time.sleep(0.05)
        r = c.get("/readyz")
        assert r.status_code == 200  # behind is still ready: the database answers meanwhile
        assert r.json()["checks"]["keyword_index"] == {"catching_up": True, "behind": 3}
        assert sample(c.get("/metrics").text, "paperboard_index_lag", index="keywords") == 3
        KeywordIndex(loaded_store, index_dir, min_papers=0).refresh(force=True)
        assert sample(c.get("/metrics").text, "paperboard_index_lag", index="keywords") == 0


# -- HEAD ---------------------------------------------------------------------------------------
HEAD_PATHS = ["/", f"/papers/{SMOE}", "/api/daily_papers", f"/api/papers/{SMOE}", "/trending",
              "/feeds/daily.xml", "/static/style.css", "/healthz", "/no-such-page"]


def test_head_answers_wherever_get_does_without_a_body(client):
    for path in HEAD_PATHS:
        get = client.get(path)
        head = client.head(path)
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert int(head.headers["content-length"]) > 0, path
    # a route with no GET still answers 405, as GET does
    assert client.get("/logout").status_code == client.head("/logout").status_code == 405


# -- metrics ------------------------------------------------------------------------------------
def test_metrics_count_by_route_template_and_time_search_stages(client, loaded_store, fresh_store_figures):
    before = client.get("/metrics").text
    template = "/papers/{paper_id:path}"
    for pid in (SMOE, "2607.00002", "2606.00004"):
        assert client.get(f"/papers/{pid}").status_code == 200
    client.request("BREW", "/")  # an invented method is one label, not a new one per client
    client.get("/no/such/thing/42")
    assert client.get("/api/papers/search", params={"q": "mixture of experts"}).status_code == 200
    loaded_store.set_hidden("2607.00002", True)
    text = client.get("/metrics").text

    def delta(name, **labels):
        return sample(text, name, **labels) - sample(before, name, **labels)

    assert delta("paperboard_http_requests_total", route=template, method="GET", status="200") == 3
    assert delta("paperboard_http_request_duration_seconds_count", route=template, method="GET") == 3
    assert f"/papers/{SMOE}\"" not in text  # raw paths never become labels
    assert delta("paperboard_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert delta("paperboard_http_requests_total", route="/", method="other", status="405") == 1
    assert delta("paperboard_search_stage_duration_seconds_count", stage="keyword") >= 1
    assert sample(text, "paperboard_papers", state="hidden") == 1
    assert sample(text, "paperboard_papers", state="visible") == loaded_store.count_papers() > 70
    assert sample(text, "paperboard_store_up") == 1
    assert sample(text, "paperboard_outbox_size") == 0 and "paperboard_outbox_send_failures 0.0" in text


def test_outbox_figures_count_the_queue_and_failures(client, loaded_store, fresh_store_figures):
    from paperboard.digest.outbox import plan_digests

    for n in range(3):
        loaded_store.upsert_subscriber(f"r{n}@example.org", "daily", confirmed=True)
    plan_digests(loaded_store, client.app.state.settings, [("daily", FEED_DAY)])
    [first, *_] = loaded_store.due_outbox(now=datetime.now(UTC) + timedelta(days=1), limit=10)
    loaded_store.mark_outbox(first.id, "failed", now=datetime.now(UTC), error="550 no such mailbox", count_attempt=True)
    text = client.get("/metrics").text
    assert sample(text, "paperboard_outbox_size") == 2
    assert sample(text, "paperboard_outbox_send_failures") == 1
    assert sample(text, "paperboard_outbox_messages", status="failed") == 1


# -- request log and request id -----------------------------------------------------------------
def test_one_json_line_per_request_with_the_id_of_the_header_and_the_error_page(client, caplog):
    caplog.set_level(logging.INFO, logger="paperboard.access")
    r = client.get("/papers/9999.99999")
    rid = r.headers["x-request-id"]
    assert r.status_code == 404 and re.fullmatch(r"[0-9a-f]{16}", rid) and rid in r.text
    client.get("/search", params={"q": "a secret query"})
    client.get("/unsubscribe", params={"token": "signed-token-value"})
    lines = [json.loads(rec.getMessage()) for rec in caplog.records if rec.name == "paperboard.access"]
    assert len(lines) == 3
    first = lines[0]
    assert first["request_id"] == rid and first["status"] == 404 and first["route"] == "/papers/{paper_id:path}"
    assert first["method"] == "GET" and first["duration_ms"] >= 0 and first["client"] == "testclient"
    assert all("secret" not in json.dumps(line) and "signed-token" not in json.dumps(line) for line in lines)
    assert len({line["request_id"] for line in lines}) == 3
    # an id sent by a client that is not a trusted proxy is not taken over
    assert client.get("/healthz", headers={"X-Request-ID": "someone-elses"}).headers["x-request-id"] != "someone-elses"


def test_an_unhandled_error_gets_the_error_page_with_its_request_id(settings, loaded_store, caplog):
    app = create_app(settings, loaded_store)

    def boom():
        raise RuntimeError("the disk caught fire")

    app.add_api_route("/boom", boom)
    caplog.set_level(logging.INFO, logger="paperboard")
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    rid = r.headers["x-request-id"]
    assert r.status_code == 500 and "Something went wrong" in r.text and rid in r.text
    assert "the disk caught fire" not in r.text and "Traceback" not in r.text
    assert r.headers["content-security-policy"]
    [line] = [json.loads(rec.getMessage()) for rec in caplog.records if rec.name == "paperboard.access"]
    assert line["status"] == 500 and line["request_id"] == rid and "RuntimeError" in line["error"]
    [err] = [rec for rec in caplog.records if rec.name == "paperboard.errors"]
    assert rid in err.getMessage() and err.exc_info


# -- X-Forwarded-For ----------------------------------------------------------------------------
def test_forwarded_for_chain_is_read_past_trusted_proxies_only():
    proxies = parse_networks(["10.0.0.0/8", "::1"])
    assert client_from_chain("203.0.113.7", ["1.2.3.4"], proxies) == "203.0.113.7"  # untrusted peer
    assert client_from_chain("10.0.0.2", ["198.51.100.9"], proxies) == "198.51.100.9"
    # a client's own forged entries sit left of what the proxy appended: never believed
    assert client_from_chain("10.0.0.2", ["1.1.1.1, 2.2.2.2, 198.51.100.9"], proxies) == "198.51.100.9"
    assert client_from_chain("10.0.0.2", ["1.1.1.1, 198.51.100.9, 10.0.0.3"], proxies) == "198.51.100.9"
    assert client_from_chain("10.0.0.2", ["not-an-ip"], proxies) == "10.0.0.2"
    assert client_from_chain("::ffff:10.0.0.2", ["[2001:db8::1]:443"], proxies) == "2001:db8::1"
    assert client_from_chain("::1", [], proxies) == "::1"


def _fail_login(c: TestClient, forwarded_for: str) -> None:
    r = c.post("/login", data={"username": "nobody", "password": "wrong password here",
                               "csrf_token": csrf(c, "/login")},
               headers={"X-Forwarded-For": forwarded_for}, follow_redirects=False)  # fmt: skip
    assert r.status_code in (400, 401, 403)


def test_a_forged_forwarded_for_does_not_change_the_rate_limit_key(settings, loaded_store):
    since = datetime.now(UTC) - timedelta(minutes=5)
    with TestClient(create_app(settings, loaded_store), client=("203.0.113.7", 40000)) as c:
        for n in range(3):
            _fail_login(c, f"198.51.100.{n}")
    assert loaded_store.count_login_failures("ip:203.0.113.7", since) == 3
    assert all(loaded_store.count_login_failures(f"ip:198.51.100.{n}", since) == 0 for n in range(3))

    # behind a configured proxy the proxy's word is the client address
    proxied = settings.model_copy(update={"trusted_proxies": ("203.0.113.0/24",)})
    with TestClient(create_app(proxied, loaded_store), client=("203.0.113.7", 40000)) as c:
        _fail_login(c, "9.9.9.9, 198.51.100.77")
        assert c.get("/healthz", headers={"X-Request-ID": "proxy-id-1"}).headers["x-request-id"] == "proxy-id-1"
    assert loaded_store.count_login_failures("ip:198.51.100.77", since) == 1
    assert loaded_store.count_login_failures("ip:9.9.9.9", since) == 0
    assert loaded_store.count_login_failures("ip:203.0.113.7", since) == 3


# -- two workers --------------------------------------------------------------------------------
@pytest.mark.sqlite_only
def test_metrics_from_either_of_two_workers_count_the_requests_of_both_even_under_load(tmp_path: Path, store_backend):
    port, prom = free_port(), tmp_path / "prom"
    prom.mkdir()
    (prom / "counter_1.db").write_bytes(b"left by an earlier run")  # must not be counted
    env = {**os.environ, "PAPERBOARD_DATA_DIR": str(tmp_path / "data"), "PAPERBOARD_SECRET_KEY": "k",
           "PROMETHEUS_MULTIPROC_DIR": str(prom)}  # fmt: skip
    env.pop("PAPERBOARD_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "paperboard", "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(server, f"{base}/healthz", timeout=60)
        pids, sent = set(), 1
        while len(pids) < 2 and sent < 400:  # new connections until both workers have answered
            pids.add(httpx.get(f"{base}/healthz", headers={"Connection": "close"}).json()["pid"])
            sent += 1
        assert len(pids) == 2, "every request went to one worker"
        assert {p.name for p in prom.glob("counter_*.db")} == {f"counter_{pid}.db" for pid in pids}

        def hit(n: int) -> int:  # scrapes while requests are being served
            return httpx.get(f"{base}/{'metrics' if n % 2 else 'healthz'}", headers={"Connection": "close"}).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(hit, range(80))) == {200}
        sent += 40
        for _ in range(6):  # whichever worker answers the scrape, it counts all requests
            text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
            assert sample(text, "paperboard_http_requests_total", route="/healthz", method="GET", status="200") == sent
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.sqlite_only  # pgvector's index lives in the database: nothing to load
def test_a_server_process_loads_its_vector_index_at_start_not_at_the_first_search(settings, loaded_store):
    from paperboard.search import searcher as searcher_module
    from paperboard.search.embedder import load_embedder
    from paperboard.search.embedding import embed_missing

    embed_missing(loaded_store, load_embedder())

    def vector_index(c: TestClient):
        return c.get("/readyz").json()["checks"]["vector_index"]

    for app in (create_app(settings, loaded_store),  # a test's app, or warming turned off: lazy
                create_app(settings.model_copy(update={"warm_indexes": False}), loaded_store, warm_indexes=True)):
        searcher_module._indexes.clear()
        with TestClient(app) as c:
            time.sleep(0.5)
            assert vector_index(c) == "loads at the first search"
    searcher_module._indexes.clear()
    with TestClient(create_app(settings, loaded_store, warm_indexes=True)) as c:  # a server's
        deadline = time.monotonic() + 60
        while vector_index(c) == "loads at the first search" and time.monotonic() < deadline:
            time.sleep(0.05)
        model = load_embedder().name
        while vector_index(c) == {model: "loading"} and time.monotonic() < deadline:  # registered, being filled
            time.sleep(0.05)
        assert vector_index(c) == {model: "loaded"}
        index = searcher_module._indexes[(loaded_store.url, model)]
        assert len(index._impl) == loaded_store.vector_stats(model)[0] > 70  # filled, before any search
