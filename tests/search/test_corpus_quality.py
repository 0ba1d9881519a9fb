"""The search issue's bar, on real data: the demo corpus mixed into the whole arxiv-daily corpus.

Every demo paper's exact title must find it first; its abstract's first sentence must find it
in the top 3 for at least 95% of them.
"""

from __future__ import annotations

import re
import threading

import pytest

from paperboard.ingest import ingest
from paperboard.search import searcher as searcher_module
from paperboard.search.embedder import load_embedder
from paperboard.search.embedding import embed_missing
from paperboard.search.keyword_index import shared_keyword_index
from paperboard.search.searcher import Searcher
from paperboard.sources import arxiv_daily, demo
from paperboard.store import open_store

pytestmark = pytest.mark.timeout(900)
"""The first test carries the corpus fixture: 75k papers ingested and embedded, about 3 minutes
alone and more beside make test's other processes (pytest's 300 s default cut it)."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from tests.conftest import SHARED

    folder = SHARED / "data" / "arxiv-daily"
    if not folder.is_dir():
        pytest.skip(f"benchmark data not found at {SHARED} (CI has it; a fresh clone may not)")
    path = tmp_path_factory.mktemp("quality") / "paperboard.db"
    store = open_store(f"sqlite:///{path}")
    ingest(store, arxiv_daily.read(folder), batch_size=5000)
    ingest(store, demo.read())
    # The keyword index is built beside the static vectors (it needs only the texts), as a
    # serving process builds it while the worker embeds: this module is make test's longest.
    keywords = shared_keyword_index(store, path.parent / "index")
    building = threading.Thread(target=keywords.refresh, kwargs={"force": True})
    building.start()
    embed_missing(store, load_embedder(), batch_size=2048)
    building.join()
    keywords._check_ready()  # built, or raises why not
    searcher_module._indexes.clear()
    yield store, Searcher(store, index_dir=path.parent / "index")
    store.close()


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip(), maxsplit=1)[0]


@pytest.mark.shared
def test_every_demo_title_finds_its_paper_first(corpus):
    store, searcher = corpus
    papers = [p for p in demo.read()]
    assert store.count_papers() >= 74_728
    misses = []
    for p in papers:
        target = store.get_paper(p.id).id  # a demo card may have merged into its arXiv record
        top = searcher.search(p.title, limit=1).hits
        if not top or top[0].paper.id != target:
            misses.append((p.title, top[0].paper.title if top else None))
    assert not misses, misses


@pytest.mark.shared
def test_first_sentence_of_the_abstract_finds_the_paper_in_the_top_3(corpus):
    store, searcher = corpus
    papers = [p for p in demo.read()]
    found = 0
    for p in papers:
        target = store.get_paper(p.id).id
        hits = searcher.search(first_sentence(p.abstract), limit=3).hits
        found += target in [h.paper.id for h in hits]
    assert found / len(papers) >= 0.95, f"{found}/{len(papers)} in the top 3"


@pytest.mark.shared
def test_the_bar_holds_with_re_ranking_by_the_stronger_model(corpus):
    """The default once an installation has the stronger model's vectors: the top 50 are
    re-ranked by BM25 + MiniLM-int8. Only the papers any of these queries puts in its top 50
    get int8 vectors (embedding all 75k takes half an hour), which is all re-ranking reads.

    ~3k papers embedded by the transformer, about 2 minutes alone (the module's timeout covers
    it). Every second demo paper (by position on the page, 36 of 71): all 71 put some 6,000
    papers through the transformer, 4-6 minutes and a third of make test's CPU, and the
    whole-corpus figure for re-ranking is bench/search_quality.py's known-item table."""
    from paperboard.search.embedder import DEFAULT_RERANKER
    from paperboard.search.embedding import embed_papers

    store, searcher = corpus
    queries = []
    for p in list(demo.read())[::2]:
        target = store.get_paper(p.id).id
        queries += [(target, p.title, 1), (target, first_sentence(p.abstract), 3)]
    candidates = {h.paper.id for _, q, _ in queries for h in searcher.search(q, limit=50).hits}
    strong = load_embedder(DEFAULT_RERANKER)
    ids = sorted(candidates)
    for i in range(0, len(ids), 512):
        embed_papers(store, strong, ids[i : i + 512])
    reranking = Searcher(store, index_dir=searcher.index_dir, rerank=True)
    found = {1: 0, 3: 0}
    misses = []
    for target, q, k in queries:
        response = reranking.search(q, limit=k)
        assert response.mode in ("hybrid+rerank", "bm25"), response.mode  # bm25: exact phrases
        hit = target in [h.paper.id for h in response.hits]
        found[k] += hit
        if k == 1 and not hit:
            misses.append(q)
    assert not misses, misses
    assert found[3] / (len(queries) // 2) >= 0.95, f"{found[3]}/{len(queries) // 2} in the top 3"
