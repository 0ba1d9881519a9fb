"""PostgreSQL's change feed for the keyword index (migration 0008): commit order, epochs, copies.

tests/search/test_keyword_index.py runs the index's behaviours on both backends; these are the
ones only PostgreSQL has: transactions commit in any order, so a change taken earlier may
become visible later, and databases are cloned, truncated and copied into.
"""

from __future__ import annotations

import psycopg
import pytest

from paperboard.models import Paper
from paperboard.search.keyword_index import KeywordIndex
from paperboard.search.query import parse_query
from paperboard.store import open_store
from paperboard.store.postgres.copy import copy_store


def _papers(n: int, word: str = "graph") -> list[Paper]:
    return [Paper(id=f"2506.{i:05d}", title=f"{word.title()} paper {i}", abstract=f"About {word} number {i}",
                  authors=["Ada Lovelace"], feed_day="2025-06-02") for i in range(n)]  # fmt: skip


@pytest.fixture
def pg_store(pg_databases):
    with pg_databases.database() as url:
        store = open_store(url)
        store.upsert_papers(_papers(20))
        yield store
        store.close()


def _index(store, tmp_path) -> KeywordIndex:
    return KeywordIndex(store, tmp_path / "index", min_papers=0)


def _keys(index: KeywordIndex, text: str) -> set[int]:
    index.refresh(force=True)
    return {k for k, _ in index.search(parse_query(text), limit=1000)}


def _retitle(conn: psycopg.Connection, paper_id: str, title: str) -> int:
    """Change a title in the connection's open transaction; the seq its change took."""
    conn.execute("UPDATE papers SET title = %s WHERE id = %s", (title, paper_id))
    return conn.execute("SELECT max(seq) FROM paper_changes WHERE xid = pg_current_xact_id()").fetchone()[0]


def _visible_seqs(store) -> set[int]:
    with store._db.reader() as conn:
        return {r["seq"] for r in conn.execute("SELECT seq FROM paper_changes")}


def test_a_change_committed_after_a_later_one_is_not_skipped(pg_store, tmp_path):
    """Transaction 1 changes a paper (seq s1) and stays open; transaction 2 adds one (s2 > s1)
    and commits. A reader now sees s2 but not s1: an index that applied "up to s2" would
    never apply s1. The feed holds s2 back until s1's transaction has ended."""
    index = _index(pg_store, tmp_path)
    assert _keys(index, "zeppelin") == set()
    keys = pg_store.paper_keys(["2506.00001"])
    with psycopg.connect(pg_store.url) as first:
        s1 = _retitle(first, "2506.00001", "Zeppelin flight control")
        pg_store.upsert_papers([Paper(id="2507.00001", title="Airship flight control", feed_day="2025-07-01")])
        visible = _visible_seqs(pg_store)
        assert s1 not in visible and max(visible) > s1  # the order that loses a change
        assert _keys(index, "zeppelin") == set()
        first.commit()
    keys |= pg_store.paper_keys(["2507.00001"])
    assert _keys(index, "zeppelin") == {keys["2506.00001"]}
    assert _keys(index, "airship") == {keys["2507.00001"]}
    assert _keys(index, "flight") == set(keys.values())


def test_a_later_transaction_with_an_earlier_seq_is_not_skipped(pg_store, tmp_path):
    """The other interleaving: the transaction with the smaller id takes the larger seq and
    commits first, the one with the earlier seq commits last. Ordering by seq alone (even
    holding back open transactions) would apply the larger seq first and skip the smaller."""
    index = _index(pg_store, tmp_path)
    index.refresh(force=True)
    keys = pg_store.paper_keys(["2506.00001", "2506.00002"])
    with psycopg.connect(pg_store.url) as early_id, psycopg.connect(pg_store.url) as late_id:
        early_id.execute("SELECT pg_current_xact_id()")  # takes its transaction id now
        s1 = _retitle(late_id, "2506.00001", "Zeppelin flight control")
        s2 = _retitle(early_id, "2506.00002", "Airship flight control")
        assert s1 < s2
        early_id.commit()
        assert _keys(index, "airship") == {keys["2506.00002"]}
        assert _keys(index, "zeppelin") == set()
        late_id.commit()
    assert _keys(index, "zeppelin") == {keys["2506.00001"]}
    assert _keys(index, "flight") == set(keys.values())
    assert len(index) == 20


def test_an_index_of_another_database_is_rebuilt(pg_databases, pg_store, tmp_path):
    """Test databases are clones of one template (same stored epoch): the database's own
    identity is part of the epoch, so the other database's index is never caught up."""
    index = _index(pg_store, tmp_path)
    assert len(_keys(index, "graph")) == 20
    with pg_databases.database() as url, open_store(url) as other:
        other.upsert_papers(_papers(5, "protein"))
        assert other.text_change_stats()[1] != pg_store.text_change_stats()[1]
        moved = _index(other, tmp_path)
        assert _keys(moved, "graph") == set()
        assert _keys(moved, "protein") == set(other.paper_keys([p.id for p in _papers(5)]).values())
        assert len(moved) == 5


def test_truncating_the_papers_starts_a_new_epoch(pg_store, tmp_path):
    index = _index(pg_store, tmp_path)
    assert len(_keys(index, "graph")) == 20
    epoch = pg_store.text_change_stats()[1]
    with pg_store._db.writer() as conn:
        conn.execute("TRUNCATE papers CASCADE")
    pg_store.upsert_papers(_papers(3, "protein"))
    assert pg_store.text_change_stats()[1] != epoch
    assert _keys(index, "graph") == set() and len(_keys(index, "protein")) == 3
    assert len(index) == 3


def test_db_copy_leaves_sqlite_change_feed_behind(pg_databases, tmp_path):
    """SQLite's paper_changes (its own seqs) stay behind; PostgreSQL's triggers record the
    copied papers in its own feed, and an index built from it finds them all."""
    with open_store(f"sqlite:///{tmp_path / 'pb.db'}") as lite:
        lite.upsert_papers(_papers(30))
        lite.set_hidden("2506.00003", True)
        with pg_databases.database() as url, open_store(url) as pg:
            reports = copy_store(lite, pg)
            assert "paper_changes" not in {r.table for r in reports} and all(r.ok for r in reports)
            with pg._db.reader() as conn:
                rows = conn.execute("SELECT count(*) AS n, count(DISTINCT paper_rowid) AS papers FROM paper_changes").fetchone()
            assert rows["n"] == rows["papers"] == 30
            assert pg.text_change_stats()[1] != lite.text_change_stats()[1]
            index = _index(pg, tmp_path)
            assert len(_keys(index, "graph")) == 29
            epoch = pg.text_change_stats()[1]
            copy_store(lite, pg, replace=True)  # TRUNCATE, then the papers again: a new epoch
            assert pg.text_change_stats()[1] != epoch
            assert len(_keys(index, "graph")) == 29 and len(index) == 29
