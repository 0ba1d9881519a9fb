"""The worker's background backfill: every vector the default search uses, in committed
batches, resumable, saving each finished model's index for the serving processes."""

from __future__ import annotations

from paperboard.models import Paper
from paperboard.search import searcher as searcher_module
from paperboard.search.backfill import VectorBackfill
from paperboard.search.embedding import default_search_vectors
from paperboard.search.similar import view_name
from paperboard.store import open_store


def _papers(n: int, start: int = 0) -> list[Paper]:
    return [Paper(id=f"2506.{i:05d}", title=f"Sparse attention for robots {i}",
                  abstract=f"We study method {i} for robot control with sparse attention.", feed_day="2025-06-02")
            for i in range(start, start + n)]  # fmt: skip


def test_backfill_embeds_every_kind_in_batches_and_resumes(store_factory, tmp_path):
    store = open_store(store_factory())
    store.upsert_papers(_papers(30))
    first = VectorBackfill(store, tmp_path / "index", batch=8)
    assert first.step() == 8  # one committed batch, then "killed"
    assert store.count_without_vectors(view_name(*default_search_vectors()[0])) == 22
    again = VectorBackfill(store, tmp_path / "index", batch=8)
    while again.step():
        pass
    assert again.embedded == 3 * 30 - 8
    for model, view in default_search_vectors():
        assert store.count_without_vectors(view_name(model, view)) == 0, (model, view)
    assert again.step() == 0
    searcher_module._indexes.clear()
    store.close()


def test_the_thread_catches_up_with_new_papers_and_stops(store_factory, tmp_path):
    store = open_store(store_factory())
    store.upsert_papers(_papers(10))
    backfill = VectorBackfill(store, tmp_path / "index", idle_seconds=0.05).start()
    try:
        assert backfill.wait_idle(timeout=120)
        store.upsert_papers(_papers(5, start=10))  # a day's ingest while it runs
        backfill._idle.clear()
        assert backfill.wait_idle(timeout=120)
        for model, view in default_search_vectors():
            assert store.count_without_vectors(view_name(model, view)) == 0, (model, view)
    finally:
        backfill.stop()
        searcher_module._indexes.clear()
    assert not backfill._thread.is_alive()
    store.close()
