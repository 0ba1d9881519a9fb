"""Filtered search through the keyword index and the vector stage: the same papers pass a
filter as on the database's path (store.keyword_search), on both backends.

The Tantivy index serves large corpora only; these tests switch it on for a small one
(``min_papers=0``). Each filter kind is checked three ways: the index's keyword stage against
the database's, the set of papers the index says pass against the database's and against
``_passes`` (the filter's meaning on one paper), and every hit of a hybrid or dense search
against the database's set.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime

import numpy as np
import pytest

from paperboard.models import Paper
from paperboard.search import keyword_index as ki
from paperboard.search import searcher as searcher_module
from paperboard.search.keyword_index import KeywordIndex, KeywordIndexUnavailable
from paperboard.search.query import parse_query
from paperboard.search.searcher import Searcher, _passes
from paperboard.store import PaperQuery, open_store

WORDS = "diffusion policy language model graph neural robot vision sparse attention protein".split()
ORGS = ["MIT", "mit", "Stanford", None]
CATS = ["cs.CL", "cs.RO", "cs.LG", "stat.ML"]


def _papers(n: int = 80, seed: int = 3) -> list[Paper]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        primary = rng.choice(CATS)
        others = rng.sample([c for c in CATS if c != primary], rng.randint(0, 2))
        authors = [f"Author {rng.randint(1, 12)}", rng.choice(["Jane Doe", "JANE DOE", "John Roe"])]
        out.append(Paper(
            id=f"2506.{i:05d}", title=" ".join(rng.sample(WORDS, 3)).title() + f" paper {i}",
            abstract="paper about " + " ".join(rng.choice(WORDS) for _ in range(8)),
            authors=authors, primary_category=primary, categories=[primary, *others],
            feed_day=f"2025-06-{1 + i % 10:02d}", organization=rng.choice(ORGS),
            published=datetime(2025, 5, 20 + i % 10, 12, tzinfo=UTC) if i % 7 else None,
        ))  # fmt: skip
    return out


@pytest.fixture
def store(store_factory):
    s = open_store(store_factory())
    s.upsert_papers(_papers())
    s.set_hidden("2506.00003", True)
    yield s
    s.close()


@pytest.fixture
def index(store, tmp_path):
    index = ki._shared[(store.url, str(tmp_path / "index"))] = KeywordIndex(store, tmp_path / "index", min_papers=0)
    yield index
    ki._shared.clear()


@pytest.fixture
def searcher(store, tmp_path, index):
    from paperboard.search.embedder import load_embedder
    from paperboard.search.embedding import embed_missing

    embed_missing(store, load_embedder())
    searcher_module._indexes.clear()
    yield Searcher(store, index_dir=tmp_path / "index")
    searcher_module._indexes.clear()


FILTERS = {
    "day range": PaperQuery(start=date(2025, 6, 3), end=date(2025, 6, 5)),
    "one day": PaperQuery(start=date(2025, 6, 4), end=date(2025, 6, 4)),
    "from a day": PaperQuery(start=date(2025, 6, 9)),
    "published": PaperQuery(published_from=date(2025, 5, 22), published_until=date(2025, 5, 24)),
    "published until": PaperQuery(published_until=date(2025, 5, 21)),
    "category": PaperQuery(category="stat.ML"),
    "organization": PaperQuery(organization="MiT"),
    "author": PaperQuery(author="  jane doe "),
    "combined": PaperQuery(start=date(2025, 6, 2), end=date(2025, 6, 8), category="cs.LG", author="Jane Doe"),
    "submitter": PaperQuery(submitted_by="nobody"),
}


def _db_passing(store, filters: PaperQuery | None, text: str = "paper") -> set[int]:
    """Keys of the papers the database's search returns for a word every paper has."""
    hits = store.keyword_search(parse_query(text), filters, limit=10_000)
    return set(store.paper_keys([h.paper.id for h in hits]).values())


def test_the_index_passes_the_same_papers_as_the_database(store, index):
    for kind in FILTERS:
        _check_the_same_papers_pass(store, index, kind)


def _check_the_same_papers_pass(store, index, kind):
    filters = FILTERS[kind]
    expected = _db_passing(store, filters)
    papers = store.papers_by_keys(list(_db_passing(store, None)))
    assert expected == {k for k, p in papers.items() if _passes(p, parse_query("paper"), filters)}
    assert set(index.passing_keys(None, filters, limit=10_000)) == expected
    assert index.count_passing(None, filters)[0] == len(expected)
    keys, share = index.filter_plan(None, filters, exact_max=10_000)
    assert set(keys) == expected and share == pytest.approx(len(expected) / len(papers))
    if len(expected) > 1:
        assert index.filter_plan(None, filters, exact_max=len(expected) - 1)[0] is None  # too many: the graph's
    if kind != "submitter":
        assert expected and len(expected) < len(papers), "the filter should keep some papers, not all"
    for text in ("graph neural", "robot -vision", '"sparse attention"', "ti:protein", "cat:cs.RO policy"):
        parsed = parse_query(text)
        got = {k for k, _ in index.search(parsed, limit=10_000, filters=filters, categories=parsed.categories)}
        hits = store.keyword_search(parsed, filters, limit=10_000)
        assert got == set(store.paper_keys([h.paper.id for h in hits]).values()), text


def test_a_filter_adds_nothing_to_the_ranking(store, index):
    parsed = parse_query("graph neural")
    everything = index.search(parsed, limit=1000)
    filtered = index.search(parsed, limit=1000, filters=FILTERS["category"])
    kept = {k for k, _ in filtered}
    assert filtered == [(k, s) for k, s in everything if k in kept]


def test_hybrid_and_dense_hits_all_pass(store, searcher, monkeypatch):
    # A scan of the passing papers' vectors; exact among the listed passing papers; the graph's, post-filtered
    for scan_max, exact_max in ((100_000, 5_000), (0, 5_000), (0, 0)):
        monkeypatch.setattr(searcher_module, "FILTER_SCAN_MAX", scan_max)
        monkeypatch.setattr(searcher_module, "FILTER_EXACT_MAX", exact_max)
        for kind in ("day range", "category", "organization", "author", "combined"):
            _check_hits_pass(store, searcher, monkeypatch, kind)


COLUMN_KINDS = {"day range", "one day", "from a day", "published", "published until", "category"}


def test_the_filter_columns_pass_the_same_papers_as_the_database(store, index):
    """Days and categories are answered from the in-memory columns, the same papers as the
    database's filter; the other filters (and exclusions) are left to the index's postings."""
    visible = len(_db_passing(store, None))
    for kind, filters in FILTERS.items():
        got = index.filter_mask(None, filters)
        if kind not in COLUMN_KINDS:
            assert got is None, kind
            continue
        mask, total = got
        assert set(np.flatnonzero(mask).tolist()) == _db_passing(store, filters), kind
        assert total == visible
    parsed = parse_query("paper cat:cs.RO cat:cs.LG")
    days = PaperQuery(start=date(2025, 6, 2), end=date(2025, 6, 6))
    mask, _ = index.filter_mask(parsed, days, parsed.categories)
    expected = {k for k, _ in index.search(parsed, limit=1000, filters=days, categories=parsed.categories)}
    assert expected and set(np.flatnonzero(mask).tolist()) == expected
    assert set(np.flatnonzero(index.filter_mask(None, PaperQuery(category="no.SUCH"))[0]).tolist()) == set()
    assert index.filter_mask(parse_query("robot -vision"), FILTERS["category"]) is None


def _check_hits_pass(store, searcher, monkeypatch, kind):
    filters = FILTERS[kind]
    expected = _db_passing(store, filters)
    for mode in ("hybrid", "dense", "bm25"):
        hits = searcher.search("graph neural robot", filters=filters, mode=mode, limit=50).hits
        keys = set(store.paper_keys([h.paper.id for h in hits]).values())
        assert hits and keys <= expected, mode
    db_calls = []
    real = store.keyword_search
    with monkeypatch.context() as m:
        m.setattr(store, "keyword_search", lambda *a, **kw: db_calls.append(a) or real(*a, **kw))
        searcher.search("graph neural robot", filters=filters, limit=10)
    assert not db_calls, "the index answers a filtered query: the database is not the search engine"


@pytest.mark.sqlite_only  # the vectors of this check are the in-process index's
def test_dense_stage_with_a_selective_filter_is_exact(store, searcher):
    filters = FILTERS["combined"]
    passing = sorted(_db_passing(store, filters))
    query = searcher.embedder.encode_query("graph neural robot")
    vectors = searcher.index().vectors(passing)
    exact = sorted(passing, key=lambda k: -float(vectors[k] @ query))[:5]
    got = searcher._dense_filtered(searcher.index(), parse_query("graph neural robot"), filters, query, 5)
    assert [k for k, _ in got] == exact
    assert [s for _, s in got] == pytest.approx([float(vectors[k] @ query) for k in exact], abs=2e-3)


def test_exclusions_with_a_day_filter_in_the_dense_stage(store, searcher, monkeypatch):
    """The columns' papers, then the excluded words checked on the index: the same papers as
    an exact search among those the index says pass, in both the scan and the graph's path."""
    parsed, filters = parse_query("graph neural -robot"), FILTERS["day range"]
    query = searcher.embedder.encode_query(parsed.free_text)
    index = searcher_module.shared_keyword_index(store, searcher.index_dir)
    passing = index.passing_keys(parsed, filters, limit=10_000)
    assert passing and set(passing) < _db_passing(store, filters)  # the exclusion drops some
    exact = [k for k, _ in searcher.index().search_among(query, 5, passing)]
    assert [k for k, _ in searcher._dense_filtered(searcher.index(), parsed, filters, query, 5)] == exact
    monkeypatch.setattr(searcher_module, "FILTER_SCAN_MAX", 0)
    monkeypatch.setattr(searcher_module, "FILTER_EXACT_MAX", 0)
    got = searcher._dense_filtered(searcher.index(), parsed, filters, query, 5)
    assert got and {k for k, _ in got} <= set(passing)


def test_exclusions_and_categories_constrain_the_dense_stage(store, searcher):
    hits = searcher.search("graph neural -robot cat:cs.RO", mode="dense", limit=50).hits
    assert hits
    for h in hits:
        assert "cs.RO" in h.paper.categories
        assert "robot" not in f"{h.paper.title} {h.paper.abstract}".lower()


def test_hidden_papers_only_when_asked_and_then_from_the_database(store, searcher):
    hidden = store.paper_keys(["2506.00003"])["2506.00003"]
    assert hidden not in _db_passing(store, PaperQuery(start=date(2025, 6, 1)))
    for mode in ("hybrid", "dense", "bm25"):
        hits = searcher.search("paper", filters=PaperQuery(start=date(2025, 6, 1)), mode=mode, limit=200).hits
        assert "2506.00003" not in {h.paper.id for h in hits}
    with pytest.raises(KeywordIndexUnavailable):
        searcher_module.shared_keyword_index(store, searcher.index_dir).count_passing(None, PaperQuery(include_hidden=True))
    hits = searcher.search("paper", filters=PaperQuery(include_hidden=True), mode="bm25", limit=200).hits
    assert "2506.00003" in {h.paper.id for h in hits}


def test_the_database_answers_while_the_index_is_unavailable(store, searcher, tmp_path):
    filters = FILTERS["combined"]
    with_index = {h.paper.id for h in searcher.search("paper", filters=filters, mode="bm25", limit=200).hits}
    other = KeywordIndex(store, tmp_path / "other", min_papers=0)
    ki._shared[(store.url, str(tmp_path / "other"))] = other
    lagging = Searcher(store, index_dir=tmp_path / "other")
    with ki._file_lock(tmp_path / "other" / "keywords.lock"):  # another process is building it
        with pytest.raises(KeywordIndexUnavailable):
            other.count_passing(None, filters)
        for mode in ("bm25", "hybrid", "dense"):
            hits = lagging.search("paper", filters=filters, mode=mode, limit=200).hits
            assert {h.paper.id for h in hits} <= with_index and hits, mode
        assert {h.paper.id for h in lagging.search("paper", filters=filters, mode="bm25", limit=200).hits} == with_index


def test_the_index_follows_changes_of_the_filtered_fields(store, index):
    """An organization added later (hf-daily), a category or a day changed: the change feed
    carries them (migration 0020) and the index applies them."""
    index.refresh(force=True)
    assert index.filter_mask(None, FILTERS["category"]) is not None  # the columns exist: they follow too
    paper = store.get_paper("2506.00010")
    store.upsert_papers([paper.model_copy(update={"organization": "Zeta Lab", "categories": [*paper.categories, "q-bio.BM"]})])
    index.refresh(force=True)
    key = store.paper_keys(["2506.00010"])["2506.00010"]
    assert index.passing_keys(None, PaperQuery(organization="zeta lab"), limit=10) == [key]
    assert _db_passing(store, PaperQuery(organization="zeta lab")) == {key}
    for filters in (PaperQuery(category="q-bio.BM"), PaperQuery(start=date(2025, 6, 30))):
        assert set(index.passing_keys(None, filters, limit=10)) == _db_passing(store, filters)
        assert set(np.flatnonzero(index.filter_mask(None, filters)[0]).tolist()) == _db_passing(store, filters)
    with store._db.writer() as conn:  # what no ingest does today, but the feed must carry
        sql = "UPDATE papers SET feed_day = '2025-06-30', categories = '[\"q-bio.BM\"]' WHERE rowid = " + str(key)
        conn.execute(sql if "sqlite" in store.url else sql.replace("'[\"q-bio.BM\"]'", "ARRAY['q-bio.BM']"))
    index.refresh(force=True)
    for filters in (PaperQuery(category="q-bio.BM"), PaperQuery(start=date(2025, 6, 30))):
        assert set(index.passing_keys(None, filters, limit=10)) == _db_passing(store, filters) == {key}
        assert set(np.flatnonzero(index.filter_mask(None, filters)[0]).tolist()) == {key}
    store.set_hidden("2506.00010", True)  # hidden: in no filter's papers
    index.refresh(force=True)
    for filters in (PaperQuery(category="q-bio.BM"), PaperQuery(start=date(2025, 6, 30)), PaperQuery(end=date(2025, 7, 1))):
        assert key not in set(np.flatnonzero(index.filter_mask(None, filters)[0]).tolist())
        assert set(np.flatnonzero(index.filter_mask(None, filters)[0]).tolist()) == _db_passing(store, filters)


def test_an_index_of_the_old_schema_is_rebuilt_with_the_filter_fields(store, tmp_path, monkeypatch):
    import tantivy

    def old_schema():  # schema 1: the text fields only
        sb = tantivy.SchemaBuilder()
        sb.add_integer_field("key", stored=False, indexed=True, fast=True)
        for name, tok in (("title", "en_stem"), ("abstract", "en_stem"), ("authors", "default")):
            sb.add_text_field(name, stored=False, tokenizer_name=tok)
        return sb.build()

    with monkeypatch.context() as m:
        m.setattr(ki, "_schema", old_schema)
        m.setattr(ki, "SCHEMA_VERSION", 1)
        m.setattr(ki, "_document", lambda t: tantivy.Document(key=t.key, title=t.title, abstract=t.abstract, authors=" ".join(t.authors)))
        old = KeywordIndex(store, tmp_path / "index", min_papers=0)
        old.refresh(force=True)
        assert json.loads((tmp_path / "index" / "keywords.json").read_text())["schema"] == 1
    upgraded = KeywordIndex(store, tmp_path / "index", min_papers=0)
    filters = FILTERS["category"]
    assert set(upgraded.passing_keys(None, filters, limit=1000)) == _db_passing(store, filters)
    assert json.loads((tmp_path / "index" / "keywords.json").read_text())["schema"] == ki.SCHEMA_VERSION


def test_post_filtering_keeps_only_passing_candidates_in_graph_order(store, searcher, monkeypatch):
    monkeypatch.setattr(searcher_module, "FILTER_EXACT_MAX", 0)
    monkeypatch.setattr(searcher_module, "FILTER_SCAN_MAX", 0)
    query = searcher.embedder.encode_query("graph neural")
    for kind in ("category", "author"):  # checked on the columns; on the index's postings
        filters = FILTERS[kind]
        got = searcher._dense_filtered(searcher.index(), parse_query("graph neural"), filters, query, 10)
        expected = _db_passing(store, filters)
        assert got and {k for k, _ in got} <= expected, kind
        scores = np.asarray([s for _, s in got])
        assert (np.diff(scores) <= 1e-6).all()


@pytest.mark.sqlite_only  # the vectors of this check are the in-process index's
def test_a_day_or_category_filter_scans_every_passing_vector(store, searcher, tmp_path):
    """The scan of the passing papers (filter columns + the vector storage restricted to them)
    finds the exact nearest, on the exact index of a small corpus and on the HNSW graph's
    fp16 storage (a graph forced on this corpus)."""
    from paperboard.search.index import VectorIndex

    query = searcher.embedder.encode_query("graph neural robot")
    graph = VectorIndex(store, searcher.index().model, tmp_path / "graph", exact_limit=10)
    assert len(graph) and type(graph._impl).__name__ == "_Hnsw"
    for kind in ("day range", "category", "published"):
        filters = FILTERS[kind]
        passing = sorted(_db_passing(store, filters))
        vectors = searcher.index().vectors(passing)
        exact = sorted(passing, key=lambda k: -float(vectors[k] @ query))[:5]
        got = searcher._dense_filtered(searcher.index(), parse_query("graph neural robot"), filters, query, 5)
        assert [k for k, _ in got] == exact, kind
        mask = np.zeros(max(passing) + 1, dtype=bool)
        mask[passing] = True
        scanned = graph.search_mask(query, 5, mask)
        assert [s for _, s in scanned] == pytest.approx([float(vectors[k] @ query) for k in exact], abs=2e-3), kind
        assert {k for k, _ in scanned} <= set(passing)
    assert graph.search_mask(query, 5, np.zeros(10, dtype=bool)) == []


BROAD = {
    "category": PaperQuery(category="cs.LG"),
    "days": PaperQuery(start=date(2025, 6, 2), end=date(2025, 6, 8)),
    "category and days": PaperQuery(start=date(2025, 6, 3), category="cs.CL"),
    "published": PaperQuery(published_from=date(2025, 5, 21)),
}


def test_a_broad_filter_read_off_the_unfiltered_ranking_is_the_filtered_ranking(store, index, monkeypatch):
    """The filtered top k taken from the unfiltered ranking (``_search_masked``) equals the
    filtered query's: the same scores, the same papers above the last score, whatever the
    ties (this corpus is a dozen words, so many papers score alike), or the filtered query
    answers."""
    taken, declined = 0, 0
    real = KeywordIndex._search_masked

    def spy(self, *args):
        nonlocal taken, declined
        found = real(self, *args)
        taken, declined = taken + (found is not None), declined + (found is None)
        return found

    for text in ("graph neural", "robot", "diffusion policy language", "paper", '"sparse attention"', "cat:cs.RO model"):
        parsed = parse_query(text)
        for kind, filters in BROAD.items():
            for limit in (1, 2, 3, 5, 8, 13):
                for match in ("all", "any"):
                    with monkeypatch.context() as m:
                        m.setattr(KeywordIndex, "_search_masked", spy)
                        got = index.search(parsed, limit=limit, match=match, filters=filters, categories=parsed.categories)
                    with monkeypatch.context() as m:
                        m.setattr(ki, "MASK_FETCH_MAX", 0)  # the filtered query only
                        want = index.search(parsed, limit=limit, match=match, filters=filters, categories=parsed.categories)
                    where = (text, kind, limit, match)
                    assert [s for _, s in got] == pytest.approx([s for _, s in want]), where
                    if want:
                        last = want[-1][1]
                        assert {k for k, s in got if s > last} == {k for k, s in want if s > last}, where
    assert taken > 50 and declined > 0, (taken, declined)
