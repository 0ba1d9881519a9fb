"""Shared fixtures: a real store in a temp dir, settings pointing at it, the shared data dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperboard.config import Settings
from paperboard.store import open_store
from tests.postgres.databases import ENV as POSTGRES_ENV
from tests.postgres.databases import TemplateDatabases

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("PAPERBOARD_PAGE_CACHE_SECONDS", "0")
"""Tests read back what they just wrote from any client, so the visitors' page cache (a page
reused for a second) is off, here and in the servers tests start; tests/web/test_page_cache.py
turns it on."""
SHARED = REPO.parent / "shared"
BACKENDS = ["sqlite", "postgres"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]
"""Every test built on ``settings``/``tmp_store`` runs on each backend; PostgreSQL only when
PAPERBOARD_TEST_POSTGRES_URL names a server (``make test`` starts a throwaway one)."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: SQLite-specific; not run on the PostgreSQL backend")
    _own_cluster_per_test_process()


_own_cluster: str | None = None


def _own_cluster_per_test_process() -> None:
    """Under ``make test``'s test processes, each but the first gets a throwaway cluster of its own.

    Why: PostgreSQL's change feed only hands out changes below the oldest transaction still
    running anywhere in the cluster (store/postgres/changes.py), so one process's long
    transactions held back the other's keyword-index and similar-paper tests. Only when the
    suite already runs on a throwaway cluster (PAPERBOARD_PG_CLUSTER_DIR), never a server the
    user named."""
    global _own_cluster
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if worker == "gw0" or not os.environ.get(POSTGRES_ENV) or not os.environ.get("PAPERBOARD_PG_CLUSTER_DIR"):
        return
    import subprocess

    script = Path(__file__).resolve().parent.parent / "scripts" / "pg-test-cluster.sh"
    out = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return  # the shared cluster still works, only with the interference above
    exports = dict(line.removeprefix("export ").split("=", 1) for line in out.stdout.splitlines()
                   if line.startswith("export "))  # fmt: skip
    os.environ[POSTGRES_ENV] = exports["PAPERBOARD_TEST_POSTGRES_URL"]
    os.environ["PAPERBOARD_PG_CLUSTER_DIR"] = _own_cluster = exports["PAPERBOARD_PG_CLUSTER_DIR"]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _own_cluster:
        import subprocess

        script = Path(__file__).resolve().parent.parent / "scripts" / "pg-test-cluster.sh"
        subprocess.run(["bash", str(script), "stop", _own_cluster], capture_output=True, timeout=120)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("store_backend") == "postgres"
        (drop if on_postgres and item.get_closest_marker("sqlite_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    # The longest modules first, so that under ``make test``'s two processes (which keep
    # this order: --no-loadscope-reorder) they run beside everything else instead of after it.
    keep.sort(key=lambda item: next((n for n, m in enumerate(FIRST) if item.nodeid.startswith(m)), len(FIRST)))
    items[:] = keep


FIRST = (
    "tests/search/test_corpus_quality.py",  # the 75k corpus: about 5 minutes alone
    "tests/postgres/test_reliability.py",
    "tests/postgres/test_concurrent_votes.py",
    "tests/spine/test_crash_safety.py",
    "tests/spine/test_cli.py",
    "tests/spine/test_cli_library.py",
)
"""Modules by decreasing duration (``pytest --durations``); the rest keep collection order."""


@pytest.fixture(scope="session")
def pg_databases():
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (make test starts a throwaway cluster)")
    databases = TemplateDatabases(url)
    yield databases
    databases.drop_all()


@pytest.fixture(params=BACKENDS)
def store_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def url_factory(backend: str, folder: Path, request: pytest.FixtureRequest):
    """Each call an empty, migratable store of ``backend``: a file in ``folder``, or a fresh
    PostgreSQL database dropped when the test ends."""
    counter = iter(range(1_000_000))

    def new_url() -> str:
        if backend == "sqlite":
            return f"sqlite:///{folder / f'{next(counter)}.db'}"
        databases = request.getfixturevalue("pg_databases")
        url = databases.fresh()
        request.addfinalizer(lambda: databases.drop(url))
        return url

    return new_url


@pytest.fixture
def store_factory(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    """Makes database URLs of the backend under test: each call an empty, migratable store."""
    return url_factory(store_backend, tmp_path / "stores", request)


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "data" / "arxiv-daily").is_dir():
        pytest.skip(f"benchmark data not found at {SHARED} (CI has it; a fresh clone may not)")
    return SHARED


@pytest.fixture
def settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_backend: str, store_factory
) -> Settings:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'paperboard.db'}" if store_backend == "sqlite" else store_factory()
    monkeypatch.setenv("PAPERBOARD_DATA_DIR", str(data))
    monkeypatch.setenv("PAPERBOARD_DATABASE_URL", url)
    monkeypatch.setenv("PAPERBOARD_SECRET_KEY", "test-secret-key-not-for-production")
    return Settings()


@pytest.fixture
def tmp_store(settings: Settings):
    store = open_store(settings.resolved_database_url)
    yield store
    store.close()
