"""Hybrid search through the Searcher: stages, syntax, filters, index upkeep, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date

import numpy as np
import pytest

from paperboard.models import Paper
from paperboard.search import searcher as searcher_module
from paperboard.search.embedder import load_embedder
from paperboard.search.embedding import embed_missing
from paperboard.search.index import VectorIndex
from paperboard.search.query import QueryError
from paperboard.search.searcher import Searcher, fuse
from paperboard.store import PaperQuery, QuerySyntaxError, SearchHit, open_store

PAPERS = [
    ("2506.00001", "Diffusion policies for robot manipulation", "We train diffusion models to output robot actions for grasping and manipulation.", ["cs.RO"], "2025-06-02"),
    ("2506.00002", "Protein structure prediction with transformers", "A transformer predicts the folded 3D structure of proteins from amino acid sequences.", ["q-bio.BM"], "2025-06-02"),
    ("2506.00003", "Preference optimization aligns text-to-image generators", "Aligning image generation models with human preferences without a reward model.", ["cs.CV"], "2025-06-03"),
    ("2506.00004", "Sparse attention for long documents", "Efficient attention mechanisms let language models read very long documents.", ["cs.CL"], "2025-06-03"),
    ("2506.00005", "Federated learning under differential privacy", "Training models across many phones while keeping user data private.", ["cs.LG"], "2025-06-04"),
    ("2506.00006", "Quantum error correction with surface codes", "Decoding surface codes to protect qubits from noise.", ["quant-ph"], "2025-06-04"),
    ("2506.00007", "Speech translation without transcripts", "Translating spoken language directly into text in another language.", ["cs.CL"], "2025-06-05"),
    ("2506.00008", "Graph neural networks for molecules", "Message passing networks predict chemical properties of molecules.", ["cs.LG"], "2025-06-05"),
    ("2506.00009", "A title only paper about weather forecasting", "", ["physics.ao-ph"], "2025-06-05"),
]  # fmt: skip


@pytest.fixture
def store(tmp_store):
    tmp_store.upsert_papers(
        [Paper(id=i, title=t, abstract=a, categories=c, feed_day=d, authors=["Ada Lovelace"] if i.endswith("1") else ["Alan Turing"])
         for i, t, a, c, d in PAPERS]
    )  # fmt: skip
    searcher_module._indexes.clear()
    return tmp_store


@pytest.fixture
def embedded(store):
    embed_missing(store, load_embedder())
    return store


def ids(response) -> list[str]:
    return [h.paper.id for h in response.hits]


def test_vague_question_finds_the_right_paper_by_meaning(embedded, tmp_path):
    s = Searcher(embedded, index_dir=tmp_path / "index")
    # No keyword in common with the paper's text: only the dense stage can find it.
    assert ids(s.search("keeping smartphone users' information secret during training", mode="dense"))[0] == "2506.00005"
    hybrid = s.search("keeping smartphone users' information secret during training")
    assert hybrid.mode == "hybrid" and ids(hybrid)[0] == "2506.00005"


def test_each_mode_and_the_fusion_parts(embedded, tmp_path):
    s = Searcher(embedded, index_dir=tmp_path / "index")
    bm25 = s.search("diffusion robot", mode="bm25")
    assert bm25.mode == "bm25" and ids(bm25)[0] == "2506.00001"
    hybrid = s.search("diffusion robot")
    top = hybrid.hits[0]
    assert top.paper.id == "2506.00001" and {"fused", "bm25", "dense"} <= set(top.parts)


def test_fusion_rewards_agreement_and_keeps_a_clear_keyword_lead():
    papers = {i: Paper(id=f"2506.0000{i}", title=f"T{i}", feed_day="2025-06-02") for i in range(1, 6)}
    kw = [SearchHit(papers[1], 9.0), SearchHit(papers[2], 8.0), SearchHit(papers[3], 7.0)]
    dense = [SearchHit(papers[3], 0.9), SearchHit(papers[4], 0.8), SearchHit(papers[1], 0.7)]
    for method in ("rrf", "zscore"):
        fused = fuse(kw, dense, method=method, dense_weight=1.0)
        assert [h.paper.id for h in fused][:2] == ["2506.00001", "2506.00003"], method
        only_dense = next(h for h in fused if h.paper.id == "2506.00004")
        assert only_dense.parts.get("bm25") is None and only_dense.parts["dense_rank"] == 2
    # An exact-title-like keyword score far ahead of the pack survives a weak dense opinion.
    kw = [SearchHit(papers[5], 30.0), SearchHit(papers[2], 12.0), SearchHit(papers[3], 11.0), SearchHit(papers[4], 10.0)]
    dense = [SearchHit(papers[2], 0.62), SearchHit(papers[3], 0.61), SearchHit(papers[4], 0.6), SearchHit(papers[5], 0.45)]
    assert fuse(kw, dense)[0].paper.id == "2506.00005"
    assert fuse(kw, dense, method="rrf")[0].paper.id != "2506.00005"  # why zscore is the default


def test_query_syntax_and_filters_hold_in_every_stage(embedded, tmp_path):
    s = Searcher(embedded, index_dir=tmp_path / "index")
    assert "2506.00007" not in ids(s.search("language -speech", limit=20))
    assert ids(s.search('"sparse attention"')) == ["2506.00004"]
    assert set(ids(s.search("models cat:cs.CL"))) <= {"2506.00004", "2506.00007"}
    assert ids(s.search("au:lovelace")) == ["2506.00001"]
    june3 = PaperQuery(start=date(2025, 6, 3), end=date(2025, 6, 3))
    assert set(ids(s.search("models", filters=june3))) <= {"2506.00003", "2506.00004"}
    assert set(ids(s.search("learning", filters=PaperQuery(author="Ada Lovelace")))) <= {"2506.00001"}


def test_an_arxiv_id_or_url_jumps_to_the_paper(store):
    s = Searcher(store)
    for q in ("2506.00004", "https://arxiv.org/abs/2506.00004v2", "arXiv:2506.00004"):
        r = s.search(q)
        assert r.jumped_to_id == "2506.00004" and ids(r) == ["2506.00004"]


def test_paper_without_abstract_is_found_by_title(embedded):
    assert ids(Searcher(embedded).search("weather forecasting"))[0] == "2506.00009"


@pytest.mark.parametrize(
    "q", ["", "   ", "-robot", '"', "*", "NEAR(a b)", "a OR OR b", "'; DROP TABLE papers; --",
          "SELECT * FROM users WHERE 1=1", "ünïcödé 日本語 🙂 ∑", "\x00\x01", "x" * 250],
)  # fmt: skip
def test_bad_queries_give_results_or_a_clear_error(embedded, q):
    try:
        Searcher(embedded).search(q)
    except QuerySyntaxError as exc:
        assert "no words" in str(exc)
    assert embedded.count_papers() == len(PAPERS)


def test_over_long_query_is_refused(store):
    with pytest.raises(QueryError, match="longer than 1000"):
        Searcher(store).search("x" * 10_000)


def test_similar_papers_exclude_the_paper_itself(embedded, tmp_path):
    similar = Searcher(embedded, index_dir=tmp_path / "index").similar("2506.00008", limit=3)
    assert len(similar) == 3 and "2506.00008" not in [h.paper.id for h in similar]
    assert similar[0].score >= similar[-1].score


def test_without_vectors_hybrid_falls_back_to_keywords(store):
    r = Searcher(store).search("graph molecules")
    assert r.mode == "bm25" and ids(r)[0] == "2506.00008"
    # Similar papers without vectors: lexical neighbours found by the title's words.
    assert "2506.00008" not in [h.paper.id for h in Searcher(store).similar("2506.00008")]


@pytest.mark.parametrize("exact_limit", [1_000_000, 2])  # exact search, then the HNSW graph
def test_index_follows_the_store_incrementally(embedded, tmp_path, exact_limit):
    index = VectorIndex(embedded, "minilm-static-256", tmp_path / "index", exact_limit=exact_limit)
    assert len(index) == len(PAPERS)
    embedded.upsert_papers([Paper(id="2506.00010", title="Volcano eruption prediction from seismic data", feed_day="2025-06-06")])
    embed_missing(embedded, load_embedder())
    index.refresh(force=True)
    assert len(index) == len(PAPERS) + 1
    query = load_embedder().encode_query("predicting volcanic eruptions")
    key = embedded.paper_keys(["2506.00010"])["2506.00010"]
    assert index.search(query, 1)[0][0] == key
    # The index hands back the vectors it holds (the hybrid stage scores keyword hits with
    # them); a key it does not hold is simply absent.
    held = index.vectors([key, 10**9])
    stored = embedded.get_vectors("minilm-static-256", [key])[key]
    assert list(held) == [key] and np.allclose(held[key], stored, atol=1e-3)  # the graph keeps fp16


def test_a_large_graph_is_built_in_a_child_process_and_loaded(embedded, tmp_path, monkeypatch):
    """The build's memory stays out of the serving process; the loaded graph answers the same."""
    from paperboard.search import index as index_module

    monkeypatch.setattr(index_module, "BUILD_IN_CHILD_ABOVE", 0)

    def no_bulk_add(self, keys, vectors):
        raise AssertionError("the graph must be built in the child process, not here")

    monkeypatch.setattr(index_module._Hnsw, "add", no_bulk_add)
    index = VectorIndex(embedded, "minilm-static-256", tmp_path / "index", exact_limit=2)
    assert len(index) == len(PAPERS)
    query = load_embedder().encode_query("predicting volcanic eruptions")
    exact = VectorIndex(embedded, "minilm-static-256", None, exact_limit=10**6)
    assert [k for k, _ in index.search(query, 3)] == [k for k, _ in exact.search(query, 3)]


def test_missing_or_corrupt_index_file_is_rebuilt(embedded, tmp_path):
    index_dir = tmp_path / "index"
    built = VectorIndex(embedded, "minilm-static-256", index_dir, exact_limit=2)
    built.refresh(force=True)
    built.save()
    hnsw = next(index_dir.glob("*.hnsw"))
    hnsw.write_bytes(b"garbage" * 10)
    reborn = VectorIndex(embedded, "minilm-static-256", index_dir, exact_limit=2)
    assert len(reborn) == len(PAPERS)
    (index_dir / "minilm-static-256.json").write_text("{not json")
    assert len(VectorIndex(embedded, "minilm-static-256", index_dir, exact_limit=2)) == len(PAPERS)
    for f in index_dir.iterdir():
        f.unlink()
    assert len(VectorIndex(embedded, "minilm-static-256", index_dir, exact_limit=2)) == len(PAPERS)


def test_changed_text_is_embedded_again(embedded):
    model = "minilm-static-256"
    assert embedded.count_without_vectors(model) == 0
    embedded.upsert_papers([Paper(id="2506.00004", version=2, title="Sparse attention, revisited", feed_day="2025-06-03")])
    assert [t.paper_id for t in embedded.papers_without_vectors(model)] == ["2506.00004"]
    assert embed_missing(embedded, load_embedder()).embedded == 1


def test_embed_resumes_after_kill_9_without_duplicates(tmp_path):
    from tests.spine.corpus import write_corpus

    write_corpus(tmp_path / "daily", days=12, per_day=400)
    env = {**os.environ, "PAPERBOARD_DATA_DIR": str(tmp_path / "data")}
    env.pop("PAPERBOARD_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "paperboard"]
    subprocess.run([*cmd, "ingest", "-q", "--no-embed", "arxiv-daily", str(tmp_path / "daily")], env=env, check=True)
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'paperboard.db'}")
    total = store.count_papers()
    proc = subprocess.Popen([*cmd, "embed"], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while store.vector_stats("minilm-static-256")[0] == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = store.vector_stats("minilm-static-256")[0]
    assert killed and 0 < partial < total, "embed finished before the kill: make the corpus bigger"
    # The re-run resumes the corpus model only: the stronger model's backfill of every paper is
    # minutes of CPU and resumes by the same ``papers_without_vectors`` path.
    subprocess.run([*cmd, "embed", "--model", "minilm-static-256"], env=env, check=True, capture_output=True)
    count, max_seq, _ = store.vector_stats("minilm-static-256")
    # Every paper embedded exactly once: one vector each, and no write was ever repeated.
    assert count == total and max_seq == total
    hits = json.loads(subprocess.run([*cmd, "search", "diffusion policy", "--json"], env=env, check=True, capture_output=True, text=True).stdout)
    assert hits
    store.close()


def test_vectors_round_trip_exactly(store):
    vectors = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    keys = list(store.paper_keys(["2506.00001", "2506.00002", "2506.00003"]).values())
    store.put_vectors("test-model", keys, vectors)
    got = store.get_vectors("test-model", keys)
    assert all(np.array_equal(got[k], vectors[i]) for i, k in enumerate(keys))


def test_rerank_stage_uses_the_stronger_model_when_its_vectors_exist(embedded, tmp_path):
    s = Searcher(embedded, index_dir=tmp_path / "index", rerank=True)
    assert s.search("robots grasping objects").mode == "hybrid"  # no re-ranker vectors yet
    embed_missing(embedded, load_embedder("minilm-l6-int8"))
    r = s.search("robots grasping objects")
    assert r.mode == "hybrid+rerank" and r.hits[0].paper.id == "2506.00001"
    assert "minilm" in r.hits[0].parts and "rerank" in r.hits[0].parts


def test_the_graph_replaces_a_re_embedded_paper_and_survives_a_reload(tmp_path):
    from paperboard.search.index import _Hnsw

    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(50, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    graph = _Hnsw(16)
    graph.add(np.arange(1, 51), vecs)
    moved = vecs[0].copy()
    graph.add(np.array([7, 7]), np.stack([vecs[1], moved]))  # twice in one batch: the last wins
    assert len(graph) == 50 and graph.dead == 1
    keys, scores = graph.search(moved, 2)
    assert {1, 7} == set(keys.tolist()) and scores[0] == pytest.approx(1.0, abs=1e-3)
    assert np.allclose(graph.vectors([7])[7], moved, atol=1e-3)
    graph.save(tmp_path / "g.hnsw")
    again = _Hnsw.load(tmp_path / "g.hnsw", 16)
    assert len(again) == 50 and again.dead == 1
    assert set(again.search(moved, 2)[0].tolist()) == {1, 7}
    assert again.vectors([10**6, 7]).keys() == {7}


def test_the_stronger_model_retrieves_once_its_vectors_cover_the_corpus(embedded, tmp_path):
    """Until then the static model serves; afterwards the dense stage and the fusion's dense
    scores are the stronger model's cosines, and no second re-ranking pass runs."""
    from paperboard.search.embedder import DEFAULT_EMBEDDER, DEFAULT_RERANKER

    strong = load_embedder(DEFAULT_RERANKER)
    embed_missing(embedded, strong, limit=4)  # a backfill under way: 4 of 9
    searcher_module._dense_models.clear()
    assert searcher_module.dense_model(embedded) == DEFAULT_EMBEDDER
    assert Searcher(embedded, index_dir=tmp_path / "index", rerank=True).embedder.name == DEFAULT_EMBEDDER
    embed_missing(embedded, strong)
    searcher_module._dense_models.clear()
    assert searcher_module.dense_model(embedded) == DEFAULT_RERANKER
    searcher = Searcher(embedded, index_dir=tmp_path / "index", rerank=True)
    response = searcher.search("keeping phone users' data private while training", limit=3)
    assert response.mode == "hybrid" and ids(response)[0] == "2506.00005"
    from paperboard.search.query import parse_query

    query = strong.encode_query(parse_query("keeping phone users' data private while training").free_text)
    key = embedded.paper_keys(["2506.00005"])["2506.00005"]
    cosine = float(embedded.get_vectors(DEFAULT_RERANKER, [key])[key] @ query)
    assert response.hits[0].parts["dense"] == pytest.approx(cosine, abs=2e-3)
    dense = searcher.search("keeping phone users' data private while training", limit=3, mode="dense")
    assert ids(dense)[0] == "2506.00005"
    searcher_module._dense_models.clear()


def test_a_serving_searcher_moves_to_the_stronger_model_without_a_restart(embedded, tmp_path, monkeypatch):
    """The web app keeps one searcher for its life: when the worker's backfill completes,
    the next searches use the stronger model (the recount runs in a thread, so no search
    waits for it), and a search never mixes the two models."""
    from paperboard.search.embedder import DEFAULT_EMBEDDER, DEFAULT_RERANKER

    searcher_module._dense_models.clear()
    searcher = Searcher(embedded, index_dir=tmp_path / "index")
    assert searcher.search("private training on phones", limit=3).hits
    assert searcher.embedder.name == DEFAULT_EMBEDDER
    embed_missing(embedded, load_embedder(DEFAULT_RERANKER))  # the backfill completes
    monkeypatch.setattr(searcher_module, "COVERAGE_TTL", 0.0)
    deadline = time.monotonic() + 30
    while searcher_module._dense_models[embedded.url][1] != DEFAULT_RERANKER and time.monotonic() < deadline:
        searcher.search("private training on phones", limit=3)  # starts the recount, answers meanwhile
        time.sleep(0.05)
    response = searcher.search("keeping phone users' data private while training", limit=3)
    assert searcher.embedder.name == DEFAULT_RERANKER
    assert response.mode == "hybrid" and ids(response)[0] == "2506.00005"
    assert searcher.similar("2506.00005", limit=3)
    searcher_module._dense_models.clear()
