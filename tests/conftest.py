"""Shared fixtures: a real store in a temp dir, settings pointing at it, the shared data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperboard.config import Settings
from paperboard.store import open_store

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "data" / "arxiv-daily").is_dir():
        pytest.skip(f"benchmark data not found at {SHARED} (CI has it; a fresh clone may not)")
    return SHARED


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    data = tmp_path / "data"
    monkeypatch.setenv("PAPERBOARD_DATA_DIR", str(data))
    monkeypatch.setenv("PAPERBOARD_DATABASE_URL", f"sqlite:///{data / 'paperboard.db'}")
    monkeypatch.setenv("PAPERBOARD_SECRET_KEY", "test-secret-key-not-for-production")
    return Settings()


@pytest.fixture
def tmp_store(settings: Settings):
    store = open_store(settings.resolved_database_url)
    yield store
    store.close()
