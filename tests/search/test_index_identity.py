"""Indexes kept under the data dir belong to one database: another database sharing the data
dir (a second instance, a test store, the PostgreSQL copy of a SQLite store) must never be
answered from them. Before migration 0009 the vector index's metadata named no database, so
a second database with as many vectors silently searched the first one's graph."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from paperboard.models import Paper
from paperboard.search import index as index_module
from paperboard.search import keyword_index as ki
from paperboard.search import searcher as searcher_module
from paperboard.search.embedder import load_embedder
from paperboard.search.embedding import embed_missing
from paperboard.search.searcher import Searcher
from paperboard.store import open_store

TOPICS_A = [
    "protein folding with graph networks", "galaxy cluster lensing surveys", "legged robot locomotion control",
    "speech recognition for low resource languages", "quantum error correction codes", "traffic flow forecasting",
    "medical image segmentation of tumours", "sparse attention for long documents", "coral reef ecology monitoring",
    "solar flare prediction from magnetograms", "music generation with transformers", "wildfire spread simulation",
]  # fmt: skip
TOPICS_B = [
    "road surface crack detection", "shapley values for feature attribution", "vision language action models for robots",
    "battery state of health estimation", "federated learning with differential privacy", "code generation benchmarks",
    "earthquake early warning networks", "molecular docking with diffusion", "sign language translation",
    "satellite image super resolution", "fairness in credit scoring", "cryptographic protocol verification",
]  # fmt: skip


def _papers(topics: list[str], prefix: str) -> list[Paper]:
    """Five papers per topic (60), so both databases hold as many vectors with the same seqs."""
    return [
        Paper(id=f"{prefix}.{i * 10 + j:05d}", title=f"{topic.capitalize()} part {j}",
              abstract=f"We study {topic}. Variant {j} of our method improves on prior work about {topic}.",
              feed_day="2025-06-02")
        for i, topic in enumerate(topics) for j in range(5)
    ]  # fmt: skip


@pytest.fixture
def small_limits(monkeypatch):
    """Switch both file indexes on for 60 papers: an HNSW graph saved to disk, a Tantivy index."""
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 10)
    monkeypatch.setattr(ki.KeywordIndex.__init__, "__kwdefaults__", {"min_papers": 0})
    yield
    _forget()


def _forget() -> None:
    """What a new process starts with: nothing in memory, only the files in the data dir."""
    searcher_module._indexes.clear()
    ki._shared.clear()


def _fill(url: str, topics: list[str], prefix: str):
    store = open_store(url)
    store.upsert_papers(_papers(topics, prefix))
    embed_missing(store, load_embedder())
    return store


def _top(store, index_dir, text: str, mode: str = "hybrid") -> str:
    _forget()
    searcher = Searcher(store, index_dir=index_dir)
    hits = searcher.search(text, limit=3, mode=mode).hits
    searcher.index().save()  # as `paperboard embed` and a serving process do
    return hits[0].paper.id if hits else ""


def _check_alternating(a, b, index_dir) -> None:
    for _ in range(2):  # A builds and saves its indexes, B finds them foreign, and back again
        for store, topics, prefix in ((a, TOPICS_A, "2501"), (b, TOPICS_B, "2502")):
            for i in (0, 2, 7):
                title = f"{topics[i].capitalize()} part 3"
                want = {f"{prefix}.{i * 10 + j:05d}" for j in range(5)}  # the topic's papers
                assert _top(store, index_dir, title, mode="dense") in want, (store.url, title)
                assert _top(store, index_dir, title, mode="bm25") in want, (store.url, title)
                assert _top(store, index_dir, title) in want, (store.url, title)


def test_two_databases_sharing_a_data_dir_never_use_each_others_indexes(store_factory, tmp_path, small_limits):
    index_dir = tmp_path / "data" / "index"
    a = _fill(store_factory(), TOPICS_A, "2501")
    b = _fill(store_factory(), TOPICS_B, "2502")
    try:
        _check_alternating(a, b, index_dir)
        assert a.database_id() and b.database_id() and a.database_id() != b.database_id()
    finally:
        a.close()
        b.close()


def test_index_files_record_the_database_they_were_built_from(tmp_path, small_limits):
    index_dir = tmp_path / "index"
    store = _fill(f"sqlite:///{tmp_path / 'a.db'}", TOPICS_A, "2501")
    try:
        _top(store, index_dir, "protein folding")
        import json

        meta = json.loads((index_dir / "minilm-static-256.json").read_text())
        assert meta["epoch"].startswith(store.database_id())
        assert json.loads((index_dir / "keywords.json").read_text())["epoch"].startswith(store.database_id())
    finally:
        store.close()


def test_a_postgresql_copy_gets_its_own_identity_and_indexes(pg_databases, tmp_path, small_limits):
    """SQLite → PostgreSQL with ``db copy``, one data dir: each answers from its own papers."""
    from paperboard.cli import main

    index_dir = tmp_path / "data" / "index"
    lite_url = f"sqlite:///{tmp_path / 'lite.db'}"
    lite = _fill(lite_url, TOPICS_A, "2501")
    _top(lite, index_dir, "protein folding")  # the SQLite store's indexes exist before the copy
    with pg_databases.database(migrated=True) as pg_url:
        before = open_store(pg_url)
        old_id = before.database_id()
        before.close()
        result = CliRunner().invoke(main, ["db", "copy", "--from", lite_url, "--to", pg_url, "-q"])
        assert result.exit_code == 0, result.output
        pg = open_store(pg_url)
        try:
            assert pg.database_id() not in (old_id, lite.database_id())
            # The copy diverges: its papers become the B topics, under new ids.
            for p in _papers(TOPICS_A, "2501"):
                pg.set_hidden(p.id, True)
            pg.upsert_papers(_papers(TOPICS_B, "2502"))
            embed_missing(pg, load_embedder())
            _check_alternating(lite, pg, index_dir)
        finally:
            pg.close()
            lite.close()
