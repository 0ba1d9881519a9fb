"""Any-word search keeps the rarest words within a postings budget."""

from __future__ import annotations

import pytest

from paperboard.models import Paper
from paperboard.search import query
from paperboard.search.query import parse_query
from paperboard.store.sqlite import termstats


def test_common_words_are_dropped_from_an_any_word_search(tmp_store, monkeypatch):
    if not hasattr(tmp_store, "_term_stats"):
        pytest.skip("SQLite FTS5 only: PostgreSQL ranks with its own index statistics")
    papers = [Paper(id=f"2506.{i:05d}", title=f"Learning policies {i}", feed_day="2025-06-02") for i in range(40)]
    papers.append(Paper(id="2506.09999", title="Zebra stripes", feed_day="2025-06-02"))
    tmp_store.upsert_papers(papers)
    monkeypatch.setattr(query, "POSTINGS_BUDGET", 10)
    hits = tmp_store.keyword_search(parse_query("learning zebra"), limit=100, match="any")
    assert [h.paper.id for h in hits] == ["2506.09999"]  # "learning" (40 postings) is over budget
    # The rarest word is always kept, even over budget; stemming is the index's own.
    hits = tmp_store.keyword_search(parse_query("learning policy"), limit=100, match="any")
    assert len(hits) == 40
    with tmp_store._db.reader() as conn:
        assert termstats.TermStats.stems(conn, ["policies", "Learning"]) == [["polici"], ["learn"]]


def test_all_words_query_of_very_common_words_runs_on_titles(tmp_store, monkeypatch):
    if not hasattr(tmp_store, "_term_stats"):
        pytest.skip("SQLite FTS5 only: PostgreSQL ranks with its own index statistics")
    papers = [Paper(id=f"2506.{i:05d}", title=f"Paper {i}", abstract="deep learning", feed_day="2025-06-02") for i in range(30)]
    papers.append(Paper(id="2506.09999", title="Deep learning at scale", feed_day="2025-06-02"))
    tmp_store.upsert_papers(papers)
    assert len(tmp_store.keyword_search(parse_query("deep learning"), limit=100)) == 31
    monkeypatch.setattr(termstats, "ALL_WORDS_BUDGET", 10)
    hits = tmp_store.keyword_search(parse_query("deep learning"), limit=100)
    assert [h.paper.id for h in hits] == ["2506.09999"]
    # A phrase is selective by itself: no restriction.
    assert len(tmp_store.keyword_search(parse_query('"deep learning"'), limit=100)) == 31
