"""Change feed housekeeping: indexes report their position, the feed is pruned behind them.

On both backends: what a prune deletes is exactly what every live reader has passed; a
reader silent past the retention stops holding the feed and, pruned past, rebuilds to what a
fresh index holds; a prune interrupted between batches loses nothing a reader needs; the CLI
and the worker run it; ``db copy`` carries the positions.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from paperboard.cli import main
from paperboard.digest.schedule import Worker
from paperboard.models import Paper
from paperboard.search import keyword_index
from paperboard.search.index_check import check_keyword_index
from paperboard.search.keyword_index import KeywordIndex
from paperboard.search.query import parse_query
from paperboard.store import open_store
from paperboard.store.change_feed import ChangeFeedPruned
from paperboard.store.postgres.changes import position

WEEK = timedelta(days=7)
QUERIES = ["graph", "zeppelin", "airship", "protein folding", "ti:graph -protein"]


def _papers(start: int, n: int, word: str = "graph") -> list[Paper]:
    return [Paper(id=f"2506.{i:05d}", title=f"{word.title()} paper {i}", abstract=f"About {word} and protein folding {i}",
                  authors=["Ada Lovelace"], feed_day="2025-06-02") for i in range(start, start + n)]  # fmt: skip


@pytest.fixture
def store(store_factory):
    s = open_store(store_factory())
    _upsert(s, _papers(0, 30))
    yield s
    s.close()


def _sql(store, text: str) -> str:
    return text if store.url.startswith("sqlite") else text.replace("?", "%s")


def _feed(store) -> set[int]:
    """Every position in the feed, read directly (committed or not below the horizon)."""
    with store._db.reader() as conn:
        if store.url.startswith("sqlite"):
            return {r[0] for r in conn.execute("SELECT seq FROM paper_changes")}
        return {position(r["xid"], r["seq"]) for r in conn.execute("SELECT xid::text AS xid, seq FROM paper_changes")}


def _settle(store) -> None:
    """Until the feed hands out every committed change. PostgreSQL's stops below the oldest
    transaction running anywhere in the cluster (store/postgres/changes.py), and other test
    processes may share the cluster: a test that expects its own writes waits for them."""
    deadline = time.monotonic() + 30
    while store.text_change_stats()[0] != max(_feed(store), default=0) and time.monotonic() < deadline:
        time.sleep(0.05)


def _upsert(store, papers: list[Paper]) -> None:
    store.upsert_papers(papers)
    _settle(store)


def _index(store, tmp_path, name: str) -> KeywordIndex:
    index = KeywordIndex(store, tmp_path / name, min_papers=0)
    index.refresh(force=True)
    return index


def _reader(store, index: KeywordIndex):
    return next(r for r in store.feed_readers() if r.reader == index._reader_name())


def _results(index: KeywordIndex) -> dict[str, list[int]]:
    index.refresh(force=True)
    return {q: sorted(k for k, _ in index.search(parse_query(q), limit=1000)) for q in QUERIES}


def _write_changes(store) -> None:
    """Inserts, a retitle, a hide and a delete: each kind of change a reader must not miss."""
    _upsert(store, _papers(30, 5, "zeppelin"))
    store.upsert_papers([Paper(id="2506.00001", version=2, title="Airship control", abstract="protein", feed_day="2025-06-02")])
    store.set_hidden("2506.00002", True)
    with store._db.writer() as conn:
        conn.execute(_sql(store, "DELETE FROM papers WHERE id = ?"), ("2506.00003",))
    _settle(store)


def _no_rebuild(store, monkeypatch) -> None:
    def refuse(**_kw):
        raise AssertionError("a reader the prune waited for must catch up, not rebuild")

    monkeypatch.setattr(store, "searchable_texts", refuse)


def _silence(store, index: KeywordIndex, days: float) -> None:
    """As if the reader last reported ``days`` ago (a host switched off)."""
    then = datetime.now(UTC) - timedelta(days=days)
    with store._db.writer() as conn:
        conn.execute(_sql(store, "UPDATE change_feed_readers SET reported_at = ? WHERE reader = ?"),
                     (store._dialect.ts(then), index._reader_name()))  # fmt: skip


def test_each_index_directory_reports_the_position_it_saved(store, tmp_path, monkeypatch):
    first = _index(store, tmp_path, "host-a")
    head, epoch = store.text_change_stats()
    reader = _reader(store, first)
    assert (reader.position, reader.epoch) == (head, epoch) and str(tmp_path / "host-a") in reader.label
    _write_changes(store)
    first.refresh(force=True)
    assert _reader(store, first).position == store.text_change_stats()[0] > head
    second = _index(store, tmp_path, "host-b")
    assert second._reader_name() != first._reader_name()
    assert {r.reader for r in store.feed_readers()} == {first._reader_name(), second._reader_name()}
    # The id lives in the directory: the same directory opened again is the same reader.
    assert KeywordIndex(store, tmp_path / "host-a", min_papers=0)._reader_name() == first._reader_name()
    # A current index that only answers queries still reports now and then, so it stays live.
    _silence(store, first, days=8)
    monkeypatch.setattr(keyword_index, "REPORT_EVERY", 0.0)
    first.refresh(force=True)
    deadline = time.monotonic() + 10
    while _reader(store, first).reported_at < datetime.now(UTC) - WEEK and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _reader(store, first).reported_at > datetime.now(UTC) - WEEK


def _one_ahead_one_behind(store, tmp_path):
    """Two readers: one refreshed past new changes, one still before them; the position that
    holds the feed and the feed as it was."""
    ahead, behind = _index(store, tmp_path, "ahead"), _index(store, tmp_path, "behind")
    _write_changes(store)
    ahead.refresh(force=True)
    return ahead, behind, _reader(store, behind).position, _feed(store)


def test_prune_deletes_exactly_what_every_reader_has_passed(store, tmp_path, monkeypatch):
    ahead, behind, held, before = _one_ahead_one_behind(store, tmp_path)
    report = store.prune_changes(retention=WEEK, batch_size=7)
    assert report.below == held and report.deleted == len({p for p in before if p < held}) > 7
    assert report.batches == -(-report.deleted // 7)
    assert _feed(store) == {p for p in before if p >= held}
    assert {r.reader: s for r, s in report.readers} == {ahead._reader_name(): "holds", behind._reader_name(): "holds"}
    assert store.prune_changes(retention=WEEK).deleted == 0  # nothing more until the reader moves
    fresh = _results(_index(store, tmp_path, "fresh"))
    _no_rebuild(store, monkeypatch)
    assert _results(behind) == fresh  # it caught up from what the prune kept for it
    monkeypatch.undo()
    # Every reader at the head: all but the head itself goes (the feed's position never goes back).
    report = store.prune_changes(retention=WEEK)
    assert _feed(store) == {store.text_change_stats()[0]} == {report.below}


def test_a_silent_reader_stops_holding_the_feed_and_rebuilds_to_a_fresh_index(store, tmp_path):
    live, silent = _index(store, tmp_path, "live"), _index(store, tmp_path, "silent")
    _write_changes(store)
    live.refresh(force=True)
    _silence(store, silent, days=8)
    report = store.prune_changes(retention=WEEK)
    assert dict((r.reader, s) for r, s in report.readers)[silent._reader_name()] == "stale"
    assert report.below == _reader(store, live).position == store.text_change_stats()[0]
    with pytest.raises(ChangeFeedPruned):
        store.text_changes(after_seq=_reader(store, silent).position)
    finding = check_keyword_index(store, tmp_path / "silent")  # what `paperboard db check` says
    assert finding.status == "note" and "pruned past" in finding.message
    # It comes back: its position was pruned past, so it rebuilds and misses nothing.
    assert _results(silent) == _results(_index(store, tmp_path, "fresh")) == _results(live)
    assert _results(silent)["zeppelin"] and not set(_results(silent)["graph"]) & set(
        store.paper_keys(["2506.00001", "2506.00002"]).values()
    )
    back = _reader(store, silent)
    assert back.position == store.text_change_stats()[0] and back.reported_at > datetime.now(UTC) - timedelta(minutes=5)


def test_a_prune_interrupted_between_batches_loses_nothing_needed(store, tmp_path, monkeypatch):
    ahead, behind, held, before = _one_ahead_one_behind(store, tmp_path)
    real, calls = store._delete_changes_below, []

    def crash_after_one_batch(conn, below, limit):
        calls.append(below)
        if len(calls) == 2:
            raise RuntimeError("killed between batches")
        return real(conn, below, limit)

    monkeypatch.setattr(store, "_delete_changes_below", crash_after_one_batch)
    with pytest.raises(RuntimeError, match="between batches"):
        store.prune_changes(retention=WEEK, batch_size=5)
    monkeypatch.undo()
    assert store.change_feed_floor() == held  # written with the batch that committed
    assert _feed(store) == before - set(sorted(p for p in before if p < held)[:5])
    rerun = store.prune_changes(retention=WEEK, batch_size=5)  # carries on where it stopped
    assert rerun.deleted == len({p for p in before if p < held}) - 5
    assert _feed(store) == {p for p in before if p >= held}
    fresh = _results(_index(store, tmp_path, "fresh"))
    _no_rebuild(store, monkeypatch)
    assert _results(behind) == fresh == _results(ahead)


def test_prune_changes_command_and_the_worker(settings, tmp_path, monkeypatch):
    store = open_store(settings.resolved_database_url)
    try:
        _upsert(store, _papers(0, 30))
        index = _index(store, settings.data_dir, "index")
        _write_changes(store)
        held, before = _reader(store, index).position, _feed(store)
        result = CliRunner().invoke(main, ["db", "prune-changes", "--json"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)
        assert out["deleted"] == len({p for p in before if p < held}) > 0 and out["remaining"] == len(_feed(store))
        assert out["below"] == store.feed_position_text(held) and out["held_by"] == [index._reader_name()]
        assert [(r["reader"], r["status"]) for r in out["readers"]] == [(index._reader_name(), "holds")]
        text = CliRunner().invoke(main, ["db", "prune-changes"], catch_exceptions=False).output
        assert text.startswith("pruned 0 changes") and "holds the feed back here" in text

        # The worker prunes on its first tick, then at most hourly.
        index.refresh(force=True)
        clock = [datetime(2025, 6, 3, 5, 0, tzinfo=UTC)]  # before the day's run
        worker = Worker(settings, store, clock=lambda: clock[0], sleep=lambda s: None, ingest_hook=None)
        assert worker.tick() is None and _feed(store) == {store.text_change_stats()[0]}
        _upsert(store, _papers(40, 3, "protein"))
        index.refresh(force=True)
        clock[0] += timedelta(minutes=30)
        worker.tick()
        assert len(_feed(store)) > 1
        clock[0] += timedelta(minutes=31)
        worker.tick()
        assert _feed(store) == {store.text_change_stats()[0]}
    finally:
        store.close()


def test_db_copy_keeps_positions(pg_databases, tmp_path):
    """A copy is a database of its own (its own identity, so its own feed epoch): the source's
    positions come along, but are of another numbering there and hold nothing back; the
    index of the same directory rebuilds for the copy, reports, and is then what holds it."""
    from paperboard.store.postgres.copy import copy_store

    with open_store(f"sqlite:///{tmp_path / 'pb.db'}") as lite, pg_databases.database() as url, open_store(url) as pg:
        lite.upsert_papers(_papers(0, 30))  # SQLite: nothing to wait for
        index = _index(lite, tmp_path, "index")
        _write_changes(lite)
        index.refresh(force=True)
        copy_store(lite, pg)
        _settle(pg)
        source = [(r.reader, r.label, r.epoch, r.position) for r in lite.feed_readers()]
        assert [(r.reader, r.label, r.epoch, r.position) for r in pg.feed_readers()] == source
        report = pg.prune_changes(retention=WEEK)
        assert [s for _, s in report.readers] == ["other epoch"] and _feed(pg) == {pg.text_change_stats()[0]}
        moved = KeywordIndex(pg, tmp_path / "index", min_papers=0)
        assert _results(moved) == _results(_index(pg, tmp_path, "fresh"))
        assert _reader(pg, moved).epoch == pg.text_change_stats()[1]
