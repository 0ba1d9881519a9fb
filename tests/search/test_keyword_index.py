"""The Tantivy keyword index: same matches as the database, follows the store, survives crashes.

It serves the keyword stage of large corpora on both backends; these tests switch it on for
small ones (``min_papers=0``) so every property can be checked in a second, on SQLite and, when
a server is available, PostgreSQL (tests/postgres/test_keyword_feed.py adds its commit order).
"""

from __future__ import annotations

import json
import random

import pytest

from paperboard.models import Paper
from paperboard.search import keyword_index as ki
from paperboard.search.keyword_index import KeywordIndex, KeywordIndexUnavailable
from paperboard.search.query import parse_query
from paperboard.search.searcher import Searcher
from paperboard.store import PaperQuery, QuerySyntaxError, open_store

WORDS = "diffusion policy language model graph neural robot vision sparse attention protein".split()


def _papers(n: int, seed: int = 1) -> list[Paper]:
    rng = random.Random(seed)
    return [
        Paper(
            id=f"2506.{i:05d}", title=" ".join(rng.sample(WORDS, 3)).title() + f" {i}",
            abstract=" ".join(rng.choice(WORDS) for _ in range(8)),
            authors=[f"Author {rng.randint(1, 9)}" for _ in range(2)],
            categories=[rng.choice(["cs.CL", "cs.RO"])], feed_day="2025-06-02",
        )
        for i in range(n)
    ]  # fmt: skip


@pytest.fixture
def store(store_factory):
    s = open_store(store_factory())
    s.upsert_papers(_papers(200))
    yield s
    s.close()


def _index(store, tmp_path) -> KeywordIndex:
    return KeywordIndex(store, tmp_path / "index", min_papers=0)


def _keys(index: KeywordIndex, text: str, match: str = "all") -> set[int]:
    return {k for k, _ in index.search(parse_query(text), limit=1000, match=match)}


def _fts_keys(store, text: str) -> set[int]:
    ids = [h.paper.id for h in store.keyword_search(parse_query(text), limit=1000)]
    return set(store.paper_keys(ids).values())


@pytest.mark.parametrize(
    "text", ["graph", "graph neural", '"neural robot"', "ti:protein -vision", "au:author", "policy -sparse -model",
             "abs:attention ti:robot", "policies"],
)  # fmt: skip
def test_all_words_match_the_same_papers_as_fts5(store, tmp_path, text):
    index = _index(store, tmp_path)
    got = _keys(index, text)
    assert got == _fts_keys(store, text)
    assert got, "the query should match something in this corpus"


PHRASE_PAPERS = {
    "2508.00001": ("In this paper we study graphs", "We show that the method works, on the other hand."),
    "2508.00002": ("Graphs in this work", "In this paper, in order to scale, we use neural networks."),
    "2508.00003": ("Paper this in", "this in paper order to in: the words, never in order"),
    "2508.00004": ("Neural network pruning", "A neural network is pruned; see the paper."),
    "2508.00005": ("Long words", "in " + "x" * 45 + " this paper, in " + "y" * 45 + " order to"),
    "2508.00006": ("State of the art", "state-of-the-art results in this paper's tables"),
}
PHRASES = ['"in this paper"', '"neural networks"', '"in order to"', 'ti:"in this"', 'abs:"this paper"',
           '"state of the art"', '"on the other hand"', '"this in"', '"of the" graphs', 'graphs -"in this paper"',
           '"in ' + "x" * 45 + ' this"', 'au:"author 3"', '"paper s tables"']  # fmt: skip


def test_phrases_match_the_papers_with_the_words_in_order(store, tmp_path, monkeypatch):
    """A phrase is answered from the word pairs' postings (schema 4): the same papers as the
    words' positions, stemming, fields, exclusions and unindexed long words included."""
    store.upsert_papers([Paper(id=pid, title=t, abstract=a, feed_day="2025-08-01") for pid, (t, a) in PHRASE_PAPERS.items()])
    index = _index(store, tmp_path)
    by_pairs = {text: _keys(index, text) for text in PHRASES}
    with monkeypatch.context() as m:
        m.setattr(ki, "pair_tokens", lambda text: [])  # every phrase through the words' positions
        by_words = {text: _keys(index, text) for text in PHRASES}
    assert by_pairs == by_words
    keys = store.paper_keys(list(PHRASE_PAPERS))
    assert by_pairs['"in this paper"'] == {keys["2508.00001"], keys["2508.00002"], keys["2508.00006"]}
    assert by_pairs['"in order to"'] == {keys["2508.00002"]}  # not across the unindexed long word
    assert by_pairs['"neural networks"'] == {keys["2508.00002"], keys["2508.00004"]}  # stems
    assert by_pairs['ti:"in this"'] == {keys["2508.00001"], keys["2508.00002"]}
    assert by_pairs['"on the other hand"'] == {keys["2508.00001"]}
    assert keys["2508.00001"] not in by_pairs['graphs -"in this paper"'] and keys["2508.00002"] not in by_pairs['graphs -"in this paper"']
    assert "pairs" in ki.query_string(parse_query('"in this paper"'), "all")  # the pairs do answer


def test_title_words_rank_first(store, tmp_path):
    store.upsert_papers([Paper(id="2507.00001", title="Quantum tomography", abstract="x", feed_day="2025-07-01"),
                         Paper(id="2507.00002", title="Other", abstract="quantum tomography here", feed_day="2025-07-01")])  # fmt: skip
    index = _index(store, tmp_path)
    ranked = index.search(parse_query("quantum tomography"), limit=5)
    keys = store.paper_keys(["2507.00001", "2507.00002"])
    assert [k for k, _ in ranked] == [keys["2507.00001"], keys["2507.00002"]]
    assert ranked[0][1] > ranked[1][1] > 0


def test_follows_inserts_updates_hides_and_unhides(store, tmp_path):
    index = _index(store, tmp_path)
    assert _keys(index, "zeppelin") == set()
    store.upsert_papers([Paper(id="2507.00001", title="Zeppelin flight control", feed_day="2025-07-01")])
    index.refresh(force=True)
    key = store.paper_keys(["2507.00001"])["2507.00001"]
    assert _keys(index, "zeppelin") == {key}
    store.upsert_papers([Paper(id="2507.00001", version=2, title="Airship flight control", feed_day="2025-07-01")])
    index.refresh(force=True)
    assert _keys(index, "zeppelin") == set() and _keys(index, "airship") == {key}
    store.set_hidden("2507.00001", True)
    index.refresh(force=True)
    assert _keys(index, "airship") == set()
    store.set_hidden("2507.00001", False)
    index.refresh(force=True)
    assert _keys(index, "airship") == {key}


def _delete_paper(store, paper_id: str) -> None:
    """No store method deletes a paper; a maintainer's SQL may, and the index must follow."""
    with store._db.writer() as conn:
        conn.execute("DELETE FROM papers WHERE id = " + ("%s" if store.url.startswith("postgres") else "?"), (paper_id,))


def test_follows_deletes(store, tmp_path):
    index = _index(store, tmp_path)
    before = _keys(index, "graph")
    gone = next(iter(before))
    pid = next(p for p, k in store.paper_keys([p.id for p in _papers(200)]).items() if k == gone)
    _delete_paper(store, pid)
    index.refresh(force=True)
    assert _keys(index, "graph") == before - {gone} == _fts_keys(store, "graph")
    assert len(index) == 199


def test_reopened_index_catches_up_without_rebuilding(store, tmp_path, monkeypatch):
    _index(store, tmp_path).refresh()
    store.upsert_papers([Paper(id="2507.00001", title="Zeppelin", feed_day="2025-07-01")])

    def no_rebuild(**_kw):
        raise AssertionError("a saved, current index must not be rebuilt")

    monkeypatch.setattr(store, "searchable_texts", no_rebuild)
    again = _index(store, tmp_path)
    assert len(_keys(again, "zeppelin")) == 1
    assert len(again) == 201


@pytest.mark.parametrize("damage", ["corrupt", "segments", "foreign_epoch", "meta_ahead", "meta_missing"])
def test_damaged_or_foreign_index_is_rebuilt(store, tmp_path, damage):
    _index(store, tmp_path).refresh()
    meta_path = tmp_path / "index" / "keywords.json"
    meta = json.loads(meta_path.read_text())
    if damage == "corrupt":
        for f in (tmp_path / "index" / "keywords").iterdir():
            f.write_bytes(b"\x00garbage")
    elif damage == "segments":  # the index's own metadata intact, its data files truncated
        for f in (tmp_path / "index" / "keywords").iterdir():
            if not f.name.endswith(".json") and not f.name.endswith(".lock"):
                f.write_bytes(f.read_bytes()[:7])
    elif damage == "foreign_epoch":
        meta_path.write_text(json.dumps({**meta, "epoch": "another-database"}))
    elif damage == "meta_ahead":
        meta_path.write_text(json.dumps({**meta, "max_seq": meta["max_seq"] + 1000}))
    else:
        meta_path.unlink()
    index = _index(store, tmp_path)
    try:
        got = _keys(index, "graph")
    except KeywordIndexUnavailable:  # found broken while answering: FTS5 answers, then rebuilt
        index.refresh(force=True)
        got = _keys(index, "graph")
    assert got == _fts_keys(store, "graph")
    assert len(index) == 200


def test_crash_mid_catch_up_resumes_without_loss_or_duplicates(store, tmp_path, monkeypatch):
    _index(store, tmp_path).refresh()
    store.upsert_papers([Paper(id=f"2507.{i:05d}", title=f"Zeppelin {i}", feed_day="2025-07-01") for i in range(10)])
    monkeypatch.setattr(ki, "BATCH", 3)
    real = store.text_changes
    calls = {"n": 0}

    def crashing(**kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real(**kw)

    monkeypatch.setattr(store, "text_changes", crashing)
    with pytest.raises(RuntimeError):
        _index(store, tmp_path).refresh()
    monkeypatch.setattr(store, "text_changes", real)
    resumed = _index(store, tmp_path)
    assert len(_keys(resumed, "zeppelin")) == 10
    assert len(resumed) == 210  # nothing indexed twice


def test_busy_writer_falls_back_to_fts5(store, tmp_path):
    first = _index(store, tmp_path)
    first.refresh()
    store.upsert_papers([Paper(id="2507.00001", title="Zeppelin", feed_day="2025-07-01")])
    writer = first._index.writer(heap_size=ki.WRITER_HEAP)  # another process writing, say
    try:
        other = _index(store, tmp_path)
        with pytest.raises(KeywordIndexUnavailable):
            other.search(parse_query("zeppelin"), limit=5)
        searcher = Searcher(store, index_dir=tmp_path / "index")
        ki._shared[(store.url, str(tmp_path / "index"))] = other
        hits = searcher.search("zeppelin", mode="bm25").hits
        assert [h.paper.id for h in hits] == ["2507.00001"]
    finally:
        del writer
        ki._shared.clear()


def test_searcher_uses_the_index_for_plain_and_filtered_queries_and_fts5_for_hidden_ones(store, tmp_path, monkeypatch):
    searcher = Searcher(store, index_dir=tmp_path / "index")
    ki._shared[(store.url, str(tmp_path / "index"))] = _index(store, tmp_path)
    fts_calls = []
    real = store.keyword_search
    monkeypatch.setattr(store, "keyword_search", lambda *a, **kw: fts_calls.append(a) or real(*a, **kw))
    try:
        plain = searcher.search("graph neural", mode="bm25", limit=5).hits
        assert plain and not fts_calls
        assert all({"graph", "neural"} <= set(f"{h.paper.title} {h.paper.abstract}".lower().split()) for h in plain)
        filtered = searcher.search("graph", mode="bm25", filters=PaperQuery(category="cs.RO"), limit=50).hits
        assert not fts_calls and filtered and all("cs.RO" in h.paper.categories for h in filtered)
        hidden = searcher.search("graph", mode="bm25", filters=PaperQuery(include_hidden=True), limit=50).hits
        assert fts_calls and hidden  # hidden papers are in no index: the database answers
    finally:
        ki._shared.clear()


def test_widening_to_any_word_keeps_papers_with_every_word_first(store, tmp_path):
    index = _index(store, tmp_path)
    searcher = Searcher(store, index_dir=tmp_path / "index")
    ki._shared[(store.url, str(tmp_path / "index"))] = index
    try:
        hits = searcher.search("graph zeppelin", mode="bm25", limit=10).hits  # no paper has both
        assert len(hits) == 10 and all("graph" in f"{h.paper.title} {h.paper.abstract}".lower() for h in hits)
    finally:
        ki._shared.clear()


@pytest.mark.parametrize(
    "q",
    ['"unbalanced', "NEAR(a b", "a OR", "*", "'; DROP TABLE papers; --", "title:x)", "^x", "a AND NOT b",
     "x" * 240, "日本語のクエリ", "🙂 emoji", 'ti:"a b" -"c d"', "key:1", "title:graph"],
)  # fmt: skip
def test_hostile_queries_never_crash_or_reach_tantivy_syntax(store, tmp_path, q):
    index = _index(store, tmp_path)
    try:
        parsed = parse_query(q)
    except QuerySyntaxError:
        return
    for match in ("all", "any"):
        for key, _ in index.search(parsed, limit=10, match=match):
            assert isinstance(key, int)
    assert ki.query_string(parsed, "all").count('"') % 2 == 0


def test_one_process_builds_while_the_others_use_fts5(store, tmp_path):
    """Building writes files: a second process finding the build lock taken waits for it
    (answering from FTS5) instead of deleting the files under the first one."""
    with ki._file_lock(tmp_path / "index" / "keywords.lock") as locked:  # the "other process"
        assert locked
        index = _index(store, tmp_path)
        with pytest.raises(KeywordIndexUnavailable):
            index.search(parse_query("graph"), limit=5)
        assert not (tmp_path / "index" / "keywords").exists()
    index.refresh(force=True)
    assert _keys(index, "graph") == _fts_keys(store, "graph")


@pytest.fixture
def embedded_searcher(store, tmp_path):
    from paperboard.search import searcher as searcher_module
    from paperboard.search.embedder import load_embedder
    from paperboard.search.embedding import embed_missing

    embed_missing(store, load_embedder())
    searcher_module._indexes.clear()
    ki._shared[(store.url, str(tmp_path / "index"))] = _index(store, tmp_path)
    yield Searcher(store, index_dir=tmp_path / "index")
    ki._shared.clear()
    searcher_module._indexes.clear()


@pytest.mark.sqlite_only  # PostgreSQL's vectors live in the database: the general path always answers
@pytest.mark.parametrize("q", ["graph neural", "robot vision attention", "protein", "sparse -graph"])
def test_hybrid_on_keys_ranks_exactly_like_the_general_path(store, embedded_searcher, monkeypatch, q):
    fast = embedded_searcher.search(q, limit=10, offset=5)
    took_fast_path = embedded_searcher._hybrid_by_keys(parse_query(q), None, 50, 5, 15) is not None
    assert took_fast_path  # an exclusion too: the keyword index tells which papers have the word
    monkeypatch.setattr(embedded_searcher, "_hybrid_by_keys", lambda *a, **kw: None)
    general = embedded_searcher.search(q, limit=10, offset=5)
    assert fast.mode == general.mode == "hybrid"
    assert [h.paper.id for h in fast.hits] == [h.paper.id for h in general.hits]
    assert [h.score for h in fast.hits] == pytest.approx([h.score for h in general.hits])
    assert [h.parts.get("bm25_rank") for h in fast.hits] == [h.parts.get("bm25_rank") for h in general.hits]


@pytest.mark.sqlite_only
def test_hybrid_on_keys_never_shows_a_hidden_paper_and_keeps_the_page_full(store, embedded_searcher):
    top = [h.paper.id for h in embedded_searcher.search("graph neural", limit=10).hits]
    for pid in top[:3]:
        store.set_hidden(pid, True)
    ki._shared[(store.url, str(embedded_searcher.index_dir))].refresh(force=True)
    again = [h.paper.id for h in embedded_searcher.search("graph neural", limit=10).hits]
    assert len(again) == 10 and not set(top[:3]) & set(again)


def test_a_large_rebuild_runs_in_a_child_process(store, tmp_path, monkeypatch):
    """The build's memory peak stays out of the serving process; the result is the same."""
    monkeypatch.setattr(ki, "BUILD_IN_CHILD_ABOVE", 0)
    built_here = []
    monkeypatch.setattr(KeywordIndex, "_catch_up", lambda self, *a, **kw: built_here.append(a) or 0)
    index = _index(store, tmp_path)
    index.refresh(force=True)
    assert not built_here, "the rebuild must not run in this process"
    assert _keys(index, "graph") == _fts_keys(store, "graph")
    assert len(index) == 200


@pytest.mark.sqlite_only
def test_rerank_on_keys_ranks_exactly_like_the_general_path(store, embedded_searcher, monkeypatch):
    from paperboard.search.embedder import DEFAULT_RERANKER, load_embedder
    from paperboard.search.embedding import embed_missing

    embedded_searcher.rerank_enabled = True
    assert embedded_searcher.search("graph neural", limit=10).mode == "hybrid"  # no vectors of its own yet
    embed_missing(store, load_embedder(DEFAULT_RERANKER))
    for q in ("graph neural", "robot vision attention"):
        fast = embedded_searcher.search(q, limit=10, offset=5)
        with monkeypatch.context() as m:
            m.setattr(embedded_searcher, "_hybrid_by_keys", lambda *a, **kw: None)
            general = embedded_searcher.search(q, limit=10, offset=5)
        assert fast.mode == general.mode == "hybrid+rerank"
        assert [h.paper.id for h in fast.hits] == [h.paper.id for h in general.hits]
        assert [h.score for h in fast.hits] == pytest.approx([h.score for h in general.hits])
        assert [h.parts["minilm"] for h in fast.hits] == pytest.approx([h.parts["minilm"] for h in general.hits])


def test_any_word_widening_keeps_the_rarest_words_within_the_budget(store, tmp_path, monkeypatch):
    """SQLite takes document frequencies from FTS5's vocabulary, PostgreSQL (none cheap) from
    the index itself: both keep the rare words and drop the common ones over the budget."""
    from paperboard.search import query

    monkeypatch.setattr(query, "POSTINGS_BUDGET", 100)
    index = _index(store, tmp_path)
    index.refresh()
    terms = parse_query('graph zeppelin "neural robot" protein').positive
    kept = index.rarest_terms(terms)
    assert [t.words for t in kept] == [("neural", "robot"), ("zeppelin",)]  # every WORDS word is in >100 papers
    monkeypatch.setattr(query, "POSTINGS_BUDGET", 10_000)
    assert {t.words for t in index.rarest_terms(terms)} == {t.words for t in terms}


COVER_PAPERS = {
    "2509.00001": ("Benchmarks", "We reach the state of the art on the benchmark in vision."),
    "2509.00002": ("Near misses", "A state of an art form; the art of the state; state of the artists."),
    "2509.00003": ("Fast models", "A model that is state of the art and on the other hand fast."),
    "2509.00004": ("Sides", "On the other side of the hand, the state of a art."),
    "2509.00005": ("The state of the art of graph learning", "A survey."),
}
COVER_PHRASES = ['"state of the art"', '"the state of the art"', '"state of the art on the benchmark"',
                 '"on the other hand fast"', 'ti:"the state of the art"', '"state of the art" -vision',
                 '"state of the art" vision', 'abs:"the art of the state"', '"of the art of graph"']  # fmt: skip


def test_long_phrases_read_a_cover_of_their_pairs_and_match_the_same_papers(store, tmp_path, monkeypatch):
    """Four words or more: every second pair and the last (``pair_cover``), the same papers as
    every pair and as the words' positions, with near misses that share pairs but not the
    phrase, fields, exclusions and both match modes."""
    store.upsert_papers([Paper(id=pid, title=t, abstract=a, feed_day="2025-09-01") for pid, (t, a) in COVER_PAPERS.items()])
    index = _index(store, tmp_path)
    assert ki.pair_cover(["a_b", "b_c", "c_d"]) == [(0, "a_b"), (2, "c_d")]
    assert ki.pair_cover(["a_b", "b_c", "c_d", "d_e"]) == [(0, "a_b"), (2, "c_d"), (3, "d_e")]

    def found(text: str, match: str) -> set[int]:
        parsed = parse_query(text)
        return {k for k, _ in index.search(parsed, limit=100, match=match)}

    for match in ("all", "any"):
        covered = {text: found(text, match) for text in COVER_PHRASES}
        with monkeypatch.context() as m:
            m.setattr(ki, "_phrase_query", lambda index, term: None)  # every pair
            every_pair = {text: found(text, match) for text in COVER_PHRASES}
        with monkeypatch.context() as m:
            m.setattr(ki, "pair_tokens", lambda text: [])  # the words' positions
            by_words = {text: found(text, match) for text in COVER_PHRASES}
        assert covered == every_pair == by_words, match
    assert ki._phrase_query(index._index, parse_query('"state of the art"').positive[0]) is not None
    keys = store.paper_keys(list(COVER_PAPERS))
    assert found('"state of the art"', "all") == {keys["2509.00001"], keys["2509.00003"], keys["2509.00005"]}
    assert found('"on the other hand fast"', "all") == {keys["2509.00003"]}
    assert found('"state of the art" -vision', "all") == {keys["2509.00003"], keys["2509.00005"]}
