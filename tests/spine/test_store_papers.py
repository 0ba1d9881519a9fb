"""The papers store: idempotent, order-independent upserts and the reads the product needs."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime

import pytest

from paperboard.ids import local_id_for_title
from paperboard.models import Paper
from paperboard.search.query import parse_query
from paperboard.store import PaperQuery, QuerySyntaxError, open_store
from tests.spine.corpus import snapshot


def paper(pid: str, title: str = "A Paper", day: str = "2025-06-02", **kw) -> Paper:
    return Paper(id=pid, title=title, abstract=kw.pop("abstract", "An abstract."), feed_day=day, **kw)


def test_reupsert_changes_nothing(tmp_store):
    papers = [paper(f"2506.{i:05d}", f"Title {i}") for i in range(50)]
    first = tmp_store.upsert_papers(papers)
    again = tmp_store.upsert_papers(papers)
    assert (first.inserted, first.updated) == (50, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 50)
    assert tmp_store.count_papers() == 50


def test_newer_version_wins_whatever_the_order(settings, tmp_path):
    v1 = paper("2506.00001", "Old title", version=1, day="2025-06-02")
    v2 = paper("2506.00001", "New title", version=2, day="2025-06-05")
    results = []
    for order, name in (([v1, v2], "a"), ([v2, v1], "b")):
        store = open_store(f"sqlite:///{tmp_path / name}.db")
        for p in order:
            store.upsert_papers([p])
        got = store.get_paper("2506.00001")
        results.append((got.title, got.version, got.feed_day))
        store.close()
    assert results[0] == results[1] == ("New title", 2, date(2025, 6, 2))


def test_relisting_keeps_first_feed_day_and_newest_content(tmp_store):
    day1 = paper("2506.00001", "T", day="2025-06-02", updated=datetime(2025, 6, 2, tzinfo=UTC), abstract="first")
    day9 = paper("2506.00001", "T", day="2025-06-09", updated=datetime(2025, 6, 9, tzinfo=UTC), abstract="second")
    tmp_store.upsert_papers([day9])
    result = tmp_store.upsert_papers([day1])
    got = tmp_store.get_paper("2506.00001")
    assert result.updated == 1
    assert got.feed_day == date(2025, 6, 2) and got.abstract == "second"


def test_duplicates_within_one_batch_are_one_paper(tmp_store):
    p = paper("2506.00001")
    result = tmp_store.upsert_papers([p, p, p])
    assert result.inserted == 1 and result.unchanged == 2
    assert tmp_store.count_papers() == 1


def test_random_order_batches_give_the_same_store(tmp_path):
    rng = random.Random(3)
    records = []
    for i in range(40):
        for v in range(1, rng.randint(1, 3) + 1):
            records.append(paper(f"2506.{i:05d}", f"Paper {i} v{v}", version=v, day=f"2025-06-{v + 1:02d}", upvotes=rng.randint(0, 5)))
    snaps = []
    for trial in range(3):
        rng.shuffle(records)
        store = open_store(f"sqlite:///{tmp_path / str(trial)}.db")
        for i in range(0, len(records), 7):
            store.upsert_papers(records[i : i + 7])
        snaps.append(snapshot(store))
        store.close()
    assert snaps[0] == snaps[1] == snaps[2]


def test_organization_and_links_do_not_depend_on_arrival_order(tmp_store):
    """The newest record naming an organization decides it; links from every version are kept.

    Each arrival order goes to its own paper id, one record per upsert, so each is a separate
    history in one store.
    """

    def versions(pid: str) -> list[Paper]:
        return [
            paper(pid, "V1", version=1, organization="Beta", code_urls=["https://github.com/b/one"]),
            paper(pid, "V2", version=2, organization="Alpha", code_urls=["https://github.com/a/two"]),
            paper(pid, "V3", version=3, project_urls=["https://example.org/three"]),
        ]

    got = set()
    for n, order in enumerate(itertools.permutations(range(3))):
        pid = f"2506.{n:05d}"
        records = versions(pid)
        for i in order:
            tmp_store.upsert_papers([records[i]])
        p = tmp_store.get_paper(pid)
        got.add((p.title, p.version, p.organization, tuple(p.code_urls), tuple(p.project_urls)))
    assert got == {("V3", 3, "Alpha", ("https://github.com/a/two", "https://github.com/b/one"),
                    ("https://example.org/three",))}  # fmt: skip


def test_seed_card_merges_into_arxiv_paper_of_same_title(tmp_store):
    title = "SePPO: Semi-Policy Preference Optimization for Diffusion Alignment"
    card = paper(local_id_for_title(title), title, day="2024-10-07", upvotes=2, organization="Lab",
                 abstract="Code will be released in https://github.com/DwanZhang-AI/SePPO.")
    tmp_store.upsert_papers([card])
    result = tmp_store.upsert_papers([paper("2410.05255", title.upper(), day="2024-10-08", authors=["A B"])])
    assert result.inserted == 0 and result.updated == 1
    assert tmp_store.count_papers() == 1
    merged = tmp_store.get_paper("2410.05255")
    assert merged.organization == "Lab" and merged.upvotes == 2 and merged.authors == ["A B"]
    assert merged.feed_day == date(2024, 10, 7)
    assert "https://github.com/DwanZhang-AI/SePPO" in merged.code_urls
    # The local id keeps working (links shared before the merge), and re-importing is a no-op.
    assert tmp_store.get_paper(card.id).id == "2410.05255"
    assert tmp_store.upsert_papers([card]).inserted == 0
    assert tmp_store.count_papers() == 1


def test_arxiv_papers_with_the_same_title_stay_apart(tmp_store):
    tmp_store.upsert_papers([paper("2506.00001", "Attention"), paper("2506.00002", "Attention")])
    assert tmp_store.count_papers() == 2


def test_imported_upvotes_never_decrease(tmp_store):
    tmp_store.upsert_papers([paper("2506.00001", upvotes=10)])
    tmp_store.upsert_papers([paper("2506.00001", upvotes=3)])
    assert tmp_store.get_paper("2506.00001").upvotes == 10


def test_feeds_by_day_week_month_sorted_and_paginated(tmp_store):
    tmp_store.upsert_papers(
        [paper(f"2506.{i:05d}", f"P{i}", day=f"2025-06-{1 + i % 10:02d}", upvotes=i) for i in range(30)]
    )
    day = tmp_store.list_papers(PaperQuery(start=date(2025, 6, 3), end=date(2025, 6, 3)))
    assert [p.upvotes for p in day] == [22, 12, 2]
    week = tmp_store.list_papers(PaperQuery(start=date(2025, 6, 2), end=date(2025, 6, 8), limit=5))
    assert [p.upvotes for p in week] == [27, 26, 25, 24, 23]
    page2 = tmp_store.list_papers(PaperQuery(start=date(2025, 6, 2), end=date(2025, 6, 8), limit=5, offset=5))
    assert [p.upvotes for p in page2] == [22, 21, 17, 16, 15]
    by_date = tmp_store.list_papers(PaperQuery(sort="date", limit=3))
    assert all(p.feed_day == date(2025, 6, 10) for p in by_date)
    assert tmp_store.count_papers(PaperQuery(start=date(2025, 6, 1), end=date(2025, 6, 30))) == 30
    assert tmp_store.adjacent_days(date(2025, 6, 3)) == (date(2025, 6, 2), date(2025, 6, 4))
    assert tmp_store.feed_days(limit=2) == [date(2025, 6, 10), date(2025, 6, 9)]


def test_filters_by_organization_author_category(tmp_store):
    tmp_store.upsert_papers([
        paper("2506.00001", "One", organization="Amazon", authors=["Ada Lovelace", "Alan Turing"], categories=["cs.CL"]),
        paper("2506.00002", "Two", organization="Meta", authors=["Alan Turingson"], categories=["cs.CV", "cs.CL"]),
    ])  # fmt: skip
    assert [p.id for p in tmp_store.list_papers(PaperQuery(organization="amazon"))] == ["2506.00001"]
    assert [p.id for p in tmp_store.list_papers(PaperQuery(author="alan turing"))] == ["2506.00001"]
    assert len(tmp_store.list_papers(PaperQuery(category="cs.CL"))) == 2


def test_keyword_search_ranks_title_matches_first(tmp_store):
    tmp_store.upsert_papers([
        paper("2506.00001", "Graph neural networks for molecules", abstract="We study chemistry."),
        paper("2506.00002", "A study of chemistry", abstract="Using graph neural networks for molecules."),
        paper("2506.00003", "Unrelated", abstract="Nothing here."),
    ])  # fmt: skip
    hits = tmp_store.keyword_search(parse_query("graph neural molecules"))
    assert [h.paper.id for h in hits] == ["2506.00001", "2506.00002"]
    assert hits[0].score > hits[1].score


def test_keyword_search_syntax(tmp_store):
    tmp_store.upsert_papers([
        paper("2506.00001", "Diffusion policy for robots", authors=["Sergey Levine"], categories=["cs.RO"]),
        paper("2506.00002", "Policy diffusion in economics", authors=["Jane Doe"], categories=["econ.GN"]),
    ])  # fmt: skip
    ids = lambda q: sorted(h.paper.id for h in tmp_store.keyword_search(parse_query(q)))  # noqa: E731
    assert ids('"diffusion policy"') == ["2506.00001"]
    assert ids("diffusion -robots") == ["2506.00002"]
    assert ids("au:levine policy") == ["2506.00001"]
    assert ids("ti:economics") == ["2506.00002"]
    assert ids("policy cat:cs.RO") == ["2506.00001"]
    assert ids("policies") == ["2506.00001", "2506.00002"]


@pytest.mark.parametrize(
    "q",
    ['"unbalanced', "NEAR(a b", "a OR", "*", "'; DROP TABLE papers; --", "title:x)", "^x", "a AND NOT b",
     "x" * 240, "日本語のクエリ", "🙂 emoji"],
)  # fmt: skip
def test_hostile_queries_never_crash(tmp_store, q):
    tmp_store.upsert_papers([paper("2506.00001", "Papers table drop")])
    try:
        tmp_store.keyword_search(parse_query(q))
    except QuerySyntaxError as exc:
        assert str(exc)
    assert tmp_store.count_papers() == 1


def test_query_with_only_exclusions_is_a_clear_error(tmp_store):
    with pytest.raises(QuerySyntaxError, match="no words"):
        tmp_store.keyword_search(parse_query("-robots"))


def test_hidden_papers_are_not_listed(tmp_store):
    tmp_store.upsert_papers([paper("2506.00001"), paper("2506.00002", "B")])
    assert tmp_store.set_hidden("2506.00001", True)
    assert tmp_store.get_paper("2506.00001") is None
    assert [p.id for p in tmp_store.list_papers(PaperQuery())] == ["2506.00002"]
    assert tmp_store.get_paper("2506.00001", include_hidden=True) is not None


def test_checkpoints_round_trip(tmp_store):
    assert tmp_store.get_checkpoint("oai") is None
    tmp_store.set_checkpoint("oai", "token-1")
    tmp_store.set_checkpoint("oai", "token-2")
    assert tmp_store.get_checkpoint("oai") == "token-2"
    tmp_store.set_checkpoint("oai", None)
    assert tmp_store.get_checkpoint("oai") is None


def test_papers_read_back_equal_what_was_stored(tmp_store):
    """Rows are rebuilt unvalidated (``Paper.from_store``): the result must be the very paper
    that went in, with pydantic's bookkeeping as ``model_construct`` leaves it."""
    full = Paper(
        id="2506.00001", version=3, title="Full <b>Paper</b>", abstract="We do X. Then Y.",
        authors=["Ana Núñez", "Bo Li"], categories=["cs.CL", "cs.AI"], primary_category="cs.CL",
        published=datetime(2025, 6, 1, 12, 30, tzinfo=UTC), updated=datetime(2025, 6, 3, tzinfo=UTC),
        comment="ICML", journal_ref="J 1", doi="10.1/x", license="CC-BY",
        code_urls=["https://github.com/a/b"], project_urls=["https://a.io"], organization="Org",
        feed_day="2025-06-02", upvotes=4, tldr="Does X.",
    )  # fmt: skip
    bare = paper("2506.00002", "Bare")
    tmp_store.upsert_papers([full, bare])
    keys = tmp_store.paper_keys([full.id, bare.id])
    for original in (full, bare):
        reads = [
            tmp_store.get_paper(original.id),
            tmp_store.papers_by_keys([keys[original.id]])[keys[original.id]],
            next(p for p in tmp_store.list_papers(PaperQuery()) if p.id == original.id),
        ]
        for got in reads:
            assert got == original
            assert got.model_dump() == original.model_dump()
            constructed = Paper.model_construct(**got.model_dump())
            assert got.model_fields_set == constructed.model_fields_set
            got.upvotes += 1  # attributes stay assignable, per instance
            assert got.upvotes == original.upvotes + 1 and "upvotes" in got.model_fields_set
