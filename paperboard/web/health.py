"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: send it traffic).

A load balancer or orchestrator restarts a process whose ``/healthz`` fails, and takes one out
of rotation while its ``/readyz`` fails, so the two ask different questions. ``/healthz`` touches
nothing: a slow database must not get healthy workers restarted. ``/readyz`` checks that the
store answers, that its schema is the one this code expects (a worker started before
``db migrate`` finished, or an older release against a newer database, would fail on the first
query that touches a new column) and that the keyword index is either current or catching up.
An index behind is still ready: the database answers for it meanwhile (search/keyword_index.py).
So is a read replica down or behind: reads go to the primary meanwhile (``checks.replicas``).
Any failure is a 503 whose JSON says which check failed and why.
"""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .. import __version__
from .metrics import keyword_index_state

router = APIRouter(include_in_schema=False)
NO_CACHE = {"Cache-Control": "no-store"}


def expected_schema_version(store: Any) -> int:
    """The newest migration this code ships for the store's backend."""
    return _newest_migration(type(store).__module__)


@functools.cache
def _newest_migration(backend: str) -> int:
    return importlib.import_module(f"{backend}.migrations").available()[-1][0]


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__, "pid": os.getpid()}, headers=NO_CACHE)


def _not_ready(reason: str, checks: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "reason": reason, "checks": checks}, status_code=503, headers=NO_CACHE)


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    store = request.app.state.store
    checks: dict[str, Any] = {}
    try:
        current = store.schema_version()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the store is the answer
        checks["store"] = "unreachable"
        return _not_ready(f"store unreachable: {type(exc).__name__}: {str(exc)[:200]}", checks)
    checks["store"] = "ok"
    expected = expected_schema_version(store)
    checks["migrations"] = {"current": current, "expected": expected}
    if current < expected:
        return _not_ready(f"migrations pending: the store is at {current}, this code needs {expected}"
                          " (run paperboard db migrate)", checks)  # fmt: skip
    if current > expected:
        return _not_ready(f"the store's schema ({current}) is newer than this code's ({expected}):"
                          " upgrade Paperboard", checks)  # fmt: skip
    index_dir = getattr(request.app.state.searcher, "index_dir", None)
    try:
        state = keyword_index_state(store, index_dir)
    except Exception as exc:  # noqa: BLE001
        checks["store"] = "unreachable"
        return _not_ready(f"store unreachable: {type(exc).__name__}: {str(exc)[:200]}", checks)
    if state is None or not state["needed"] and not state["present"]:
        checks["keyword_index"] = "not used (the database ranks)"
    elif state["present"] and state["behind"] == 0:
        checks["keyword_index"] = "current"
    else:
        checks["keyword_index"] = {"catching_up": True, "behind": state["behind"]}
        if not _writable(Path(index_dir)):
            return _not_ready(f"the keyword index is behind and its directory {index_dir} is not writable", checks)
    checks["vector_index"] = _vector_index(store)
    replicas = getattr(store, "replica_status", list)()
    if replicas:  # informational: reads skip a replica that is down or behind, so still ready
        checks["replicas"] = replicas
    return JSONResponse({"status": "ready", "checks": checks}, headers=NO_CACHE)


def _vector_index(store: Any) -> str | dict[str, str]:
    if hasattr(store, "nearest_vectors"):
        return "in the database (pgvector)"
    from .metrics import _loaded_vector_indexes

    loaded = {model: "loaded" if index.loaded else "loading" for model, index in _loaded_vector_indexes(store)}
    return loaded or "loads at the first search"


def _writable(directory: Path) -> bool:
    """The directory, or the nearest existing parent it would be created in, is writable."""
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return os.access(directory, os.W_OK)
