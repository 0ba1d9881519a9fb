"""``GET /metrics``: Prometheus text format, from the standard client library.

Two kinds of figures, kept apart because they behave differently under ``--workers N``:

* **Counted by the process** as requests pass: requests by route *template* (``/papers/{paper_id:path}``,
  never the raw path, so a crawler cannot mint a label per URL), their latency, and the time of
  each search stage (``search/timing.py``). With several workers ``paperboard serve`` gives them
  one ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode): every worker writes
  its own file and any worker's ``/metrics`` sums them all, so a scrape that lands on either
  worker reports the whole server.
* **Read from the store** when scraped: papers, the email outbox by status, and how far the
  keyword index is behind the change feed. They are the same whichever worker answers (the
  database is shared), and are re-read at most every ``STORE_TTL`` seconds per worker, so a
  burst of scrapes costs the database a handful of small queries. The vector index is the one
  exception: it lives in each worker's memory, so its lag is that worker's.

Email is sent by ``paperboard worker``, not the web server; its failures are counted from the
outbox (``status="failed"``), which survives restarts and sees every process that sends.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..search import timing

disable_created_metrics()  # the *_created series double the output and say nothing here

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
STORE_TTL = 5.0
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SEQ_MASK = (1 << 64) - 1
"""A change-feed position's sequence part (PostgreSQL packs (xid, seq) into one number)."""

REGISTRY = CollectorRegistry(auto_describe=True)
"""This module's own registry: the counters below and nothing a library registers by itself."""

REQUESTS = Counter(
    "paperboard_http_requests", "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"], registry=REGISTRY,
)  # fmt: skip
LATENCY = Histogram(
    "paperboard_http_request_duration_seconds", "Time to answer a request, by route template.",
    ["route", "method"], registry=REGISTRY,
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)  # fmt: skip
SEARCH_STAGE = Histogram(
    "paperboard_search_stage_duration_seconds",
    "Time of each search stage (keyword, embed, dense, fusion, rerank, load).",
    ["stage"], registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)  # fmt: skip


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def route_label(scope: dict[str, Any]) -> str:
    """The matched route's template; ``unmatched`` for a 404 that matched nothing."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    method = method_label(method)
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def _observe_stage(stage: str, seconds: float) -> None:
    SEARCH_STAGE.labels(stage).observe(seconds)


timing.add_observer(_observe_stage)


# -- read from the store at scrape time ---------------------------------------------------------
class StoreCollector(Collector):
    """Figures the database holds for every process: read once per ``STORE_TTL``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._cached: tuple[float, list[GaugeMetricFamily]] | None = None

    def collect(self):
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] >= STORE_TTL:
                self._cached = (time.monotonic(), self._read())
            return list(self._cached[1])

    def _read(self) -> list[GaugeMetricFamily]:
        return self._read_store() + _replica_gauges(self.app.state.store)

    def _read_store(self) -> list[GaugeMetricFamily]:
        from ..store.base import PaperQuery

        store = self.app.state.store
        up = GaugeMetricFamily("paperboard_store_up", "1 when the last read of the store succeeded.")
        try:
            visible = store.count_papers(PaperQuery())
            everything = store.count_papers(PaperQuery(include_hidden=True))
            outbox = store.outbox_counts()
        except Exception:  # noqa: BLE001 - the scrape still answers; readyz says why
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        papers = GaugeMetricFamily("paperboard_papers", "Papers in the store (ingested and submitted).", labels=["state"])
        papers.add_metric(["visible"], visible)
        papers.add_metric(["hidden"], everything - visible)
        messages = GaugeMetricFamily(
            "paperboard_outbox_messages",
            "Outbox rows by status: pending/sending is the queue, failed the sends that failed for good.",
            labels=["status"],
        )
        for status in ("pending", "sending", "sent", "failed", "skipped"):
            messages.add_metric([status], outbox.get(status, 0))
        size = GaugeMetricFamily("paperboard_outbox_size", "Emails waiting to be sent (pending + sending).")
        size.add_metric([], outbox.get("pending", 0) + outbox.get("sending", 0))
        failures = GaugeMetricFamily("paperboard_outbox_send_failures", "Emails whose sending failed for good.")
        failures.add_metric([], outbox.get("failed", 0))
        return [up, papers, messages, size, failures, *self._index_lag(store)]

    def _index_lag(self, store) -> list[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "paperboard_index_lag",
            "Changes an index has yet to apply: the keyword index behind the change feed (as saved,"
            " shared by every worker), a vector index behind the stored vectors (this worker's).",
            labels=["index"],
        )
        index_dir = getattr(self.app.state.searcher, "index_dir", None)
        state = keyword_index_state(store, index_dir)
        if state is not None and state["present"]:
            lag.add_metric(["keywords"], state["behind"])
        for model, index in _loaded_vector_indexes(store):
            try:
                head = store.vector_head(model)[0]
            except Exception:  # noqa: BLE001
                continue
            lag.add_metric([f"vectors:{model}"], max(0, int(head) - int(getattr(index, "_seq", head))))
        return [lag]


def _replica_gauges(store) -> list[GaugeMetricFamily]:
    """Each read replica as this worker last checked it (store/postgres/replicas.py)."""
    replicas = getattr(store, "replica_status", list)()
    if not replicas:
        return []
    used = GaugeMetricFamily("paperboard_replica_in_use", "1 while reads go to this replica.", labels=["replica"])
    lag = GaugeMetricFamily(
        "paperboard_replica_lag_seconds", "How far the replica's data is behind the primary's.", labels=["replica"]
    )
    for r in replicas:
        used.add_metric([r["replica"]], 1 if r["state"] == "in use" else 0)
        if r["lag_seconds"] is not None:
            lag.add_metric([r["replica"]], r["lag_seconds"])
    return [used, lag]


def keyword_index_state(store, index_dir: Path | None) -> dict[str, Any] | None:
    """Whether the keyword index exists and how far behind the change feed it is; None when
    the store has no change feed or the site has no index dir (the database ranks alone)."""
    if index_dir is None or not hasattr(store, "text_change_stats"):
        return None
    from ..search.keyword_index import MIN_PAPERS

    head, epoch = store.text_change_stats()
    try:
        meta = json.loads((Path(index_dir) / "keywords.json").read_text())
    except (OSError, ValueError):
        meta = None
    needed = store.approximate_paper_count() >= MIN_PAPERS
    if not isinstance(meta, dict) or meta.get("epoch") != epoch:
        # None yet (a small corpus needs none), or built for another database: rebuilt on use.
        return {"present": False, "needed": needed, "behind": head & SEQ_MASK}
    applied = int(meta.get("max_seq", 0))
    return {"present": True, "needed": needed, "behind": max(0, (head & SEQ_MASK) - (applied & SEQ_MASK))}


def _loaded_vector_indexes(store) -> list[tuple[str, Any]]:
    """The in-process vector indexes of this store (pgvector's live in the database: none)."""
    from ..search import searcher

    with searcher._indexes_lock:
        return [(model, index) for (url, model), index in searcher._indexes.items() if url == store.url]


# -- the endpoint -------------------------------------------------------------------------------
def exposition(app: Any) -> bytes:
    counted: CollectorRegistry
    if multiprocess_dir():
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    stored = getattr(app.state, "metrics_registry", None)
    if stored is None:
        stored = CollectorRegistry(auto_describe=False)
        stored.register(StoreCollector(app))
        if not multiprocess_dir():
            ProcessCollector(registry=stored)  # this process's memory and CPU; one process = the server
        app.state.metrics_registry = stored
    return generate_latest(counted) + generate_latest(stored)


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(exposition(request.app), media_type=CONTENT_TYPE_LATEST)
