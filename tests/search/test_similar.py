"""Similar papers: the fused scoring (search/similar.py) and the Searcher's two candidate stages."""

from __future__ import annotations

import pytest

from paperboard.models import Paper
from paperboard.search import searcher as searcher_module
from paperboard.search.embedder import DEFAULT_RERANKER, load_embedder
from paperboard.search.embedding import embed_missing
from paperboard.search.searcher import Searcher
from paperboard.search.similar import (
    TITLE_VIEW,
    Signal,
    choose_signals,
    lexical_scores,
    rank_similar,
    view_name,
)

# ------------------------------------------------------------------ the scoring, pure


def test_lexical_similarity_prefers_shared_rare_words():
    query = "Surface code decoders for quantum error correction"
    cands = {
        "qec": "Fast decoding of surface codes protects qubits from quantum errors",
        "generic": "A model for the task with results on the data",
        "other": "Graph neural networks predict molecule properties",
    }
    scores = lexical_scores(query, cands)
    assert max(scores, key=scores.get) == "qec"
    assert scores["other"] == 0.0
    assert lexical_scores(query, {}) == {}


def test_rank_similar_fuses_signals_by_weight():
    query = "alpha beta gamma"
    cands = {"lex": "alpha beta gamma delta", "vec": "epsilon zeta"}
    # Lexical evidence alone puts "lex" first ...
    assert [k for k, _, _ in rank_similar(query, cands)] == ["lex", "vec"]
    # ... a heavier vector signal that disagrees overturns it, and each part is reported.
    signal = Signal("minilm", {"lex": 0.1, "vec": 0.9}, 3.0)
    ranked = rank_similar(query, cands, [signal])
    assert [k for k, _, _ in ranked] == ["vec", "lex"]
    assert ranked[0][2] == {"lexical": 0.0, "minilm": 0.9}
    assert ranked[0][1] > ranked[1][1]


def test_rank_similar_survives_hostile_and_empty_text():
    cands = {1: "<script>alert(1)</script> '; DROP TABLE papers; --", 2: "", 3: "ünïcödé ≠ ∑ 🚀"}
    ranked = rank_similar("<b>bold</b> DROP TABLE", cands)
    assert sorted(k for k, _, _ in ranked) == [1, 2, 3]
    assert ranked[0][0] == 1
    assert rank_similar("", {}) == []


def test_choose_signals_needs_the_vectors_to_cover_the_pool():
    cands = list(range(10))
    full = {k: 0.5 for k in cands}
    sparse = {k: 0.5 for k in cands[:5]}
    corpus = {k: 0.1 for k in cands}
    names = lambda signals: [s.name for s in signals]  # noqa: E731
    assert names(choose_signals(cands, strong=full, title=full, corpus=corpus)) == ["minilm", "title"]
    assert names(choose_signals(cands, strong=full, title=sparse, corpus=corpus)) == ["minilm"]
    # Half the pool without the transformer's vector: the corpus model stands in.
    assert names(choose_signals(cands, strong=sparse, title=full, corpus=corpus)) == ["dense"]
    assert names(choose_signals(cands, strong=None, corpus=None)) == []
    assert view_name("m") == "m" and view_name("m", TITLE_VIEW) == "m/title"


# ------------------------------------------------------------------ through the Searcher

PAPERS = [
    ("2507.00001", "Surface code decoding for quantum error correction", "Neural decoders correct qubit errors in surface codes."),
    ("2507.00002", "Decoding quantum codes with belief propagation", "Belief propagation decodes quantum low-density parity-check codes."),
    ("2507.00003", "Diffusion policies for robot grasping", "Robots learn to grasp objects from demonstrations with diffusion models."),
    ("2507.00004", "Protein folding with transformers", "A transformer predicts protein structure from sequence."),
    ("2507.00005", "Fault-tolerant qubits and error thresholds", "Thresholds for fault-tolerant quantum computation with noisy qubits."),
    ("2507.00006", "Speech translation without transcripts", "Spoken language translated directly into text."),
]  # fmt: skip


@pytest.fixture
def store(tmp_store):
    tmp_store.upsert_papers([Paper(id=i, title=t, abstract=a, feed_day="2025-07-01") for i, t, a in PAPERS])
    searcher_module._indexes.clear()
    return tmp_store


def similar_ids(store, tmp_path, paper_id, **kw):
    hits = Searcher(store, index_dir=tmp_path / "index").similar(paper_id, **kw)
    return hits, [h.paper.id for h in hits]


def test_without_vectors_similar_papers_come_from_the_title_words(store, tmp_path):
    hits, ids = similar_ids(store, tmp_path, "2507.00001")
    assert ids and "2507.00001" not in ids
    assert set(ids[:2]) == {"2507.00002", "2507.00005"} or ids[0] == "2507.00002"
    assert set(hits[0].parts) == {"lexical"}


def test_corpus_vectors_then_transformer_vectors_are_fused(store, tmp_path):
    embed_missing(store, load_embedder())
    hits, ids = similar_ids(store, tmp_path, "2507.00001", limit=3)
    assert len(ids) == 3 and "2507.00001" not in ids
    assert set(hits[0].parts) == {"lexical", "dense"}
    strong = load_embedder(DEFAULT_RERANKER)
    embed_missing(store, strong)
    embed_missing(store, strong, view=TITLE_VIEW)
    assert store.count_without_vectors(view_name(DEFAULT_RERANKER, TITLE_VIEW)) == 0
    searcher = Searcher(store, index_dir=tmp_path / "index")
    hits = searcher.similar("2507.00001", limit=3)
    assert set(hits[0].parts) == {"lexical", "dense"}  # the kept list, served until it is rescored
    assert searcher.similar_keeper.refresh_dirty(10) == 1  # by the worker
    hits, ids = similar_ids(store, tmp_path, "2507.00001", limit=3)
    assert set(hits[0].parts) == {"lexical", "minilm", "title"}
    assert ids[0] in {"2507.00002", "2507.00005"} and "2507.00004" not in ids[:2]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_paper_without_vectors_is_still_proposed_by_the_keyword_stage(store, tmp_path):
    embed_missing(store, load_embedder())
    store.upsert_papers([Paper(id="2507.00009", title="Surface code decoding at scale", abstract="", feed_day="2025-07-02")])
    _, ids = similar_ids(store, tmp_path, "2507.00001")
    assert "2507.00009" in ids[:3]


def test_hidden_and_unknown_papers(store, tmp_path):
    store.set_hidden("2507.00002", True)
    _, ids = similar_ids(store, tmp_path, "2507.00001")
    assert "2507.00002" not in ids
    assert similar_ids(store, tmp_path, "2507.00002")[1] == []  # a hidden paper has no page
    assert similar_ids(store, tmp_path, "9999.99999")[1] == []


def test_embed_command_gives_the_transformer_model_title_vectors_too(tmp_path):
    import os
    import subprocess
    import sys

    from paperboard.store import open_store

    env = {**os.environ, "PAPERBOARD_DATA_DIR": str(tmp_path / "data")}
    env.pop("PAPERBOARD_DATABASE_URL", None)
    db = open_store(f"sqlite:///{tmp_path / 'data' / 'paperboard.db'}")
    db.upsert_papers([Paper(id=i, title=t, abstract=a, feed_day="2025-07-01") for i, t, a in PAPERS])
    db.close()
    cmd = [sys.executable, "-m", "paperboard", "embed", "--model", DEFAULT_RERANKER]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    db = open_store(f"sqlite:///{tmp_path / 'data' / 'paperboard.db'}")
    title = view_name(DEFAULT_RERANKER, TITLE_VIEW)
    assert db.vector_stats(DEFAULT_RERANKER)[0] == db.vector_stats(title)[0] == len(PAPERS)
    # A title vector is the title's own embedding, not the whole text's.
    key = db.paper_keys(["2507.00003"])["2507.00003"]
    got = db.get_vectors(title, [key])[key]
    # (int8 activations are quantised per batch, so a vector depends a little on its batch.)
    model = load_embedder(DEFAULT_RERANKER)
    want = model.encode([PAPERS[2][1]])[0]
    whole = db.get_vectors(DEFAULT_RERANKER, [key])[key]
    assert float(got @ want) > 0.98 and float(got @ want) > float(got @ whole) + 0.05
    before = db.vector_stats(title)
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # nothing left to do
    assert db.vector_stats(title) == before
    subprocess.run([*cmd, "--rebuild"], env=env, check=True, capture_output=True)
    count, _, epoch = db.vector_stats(title)
    assert count == len(PAPERS) and epoch != before[2]  # dropped and embedded again
    db.close()


def test_pool_lexical_scores_equal_the_tfidf_scorer():
    from paperboard.search.bm25 import TfIdf

    query = "Graph networks for molecules, and graph kernels"
    cands = {1: "Message passing graph networks for molecules", 2: "Kernels on graphs", 3: "Speech", 4: ""}
    ref = TfIdf([("q", query), *cands.items()])
    want = dict(zip(cands, ref.score(query, list(cands)), strict=True))
    got = lexical_scores(query, cands)
    assert got.keys() == want.keys() and all(abs(got[k] - want[k]) < 1e-12 for k in cands)


def test_pooled_array_scores_equal_the_dict_scorer_and_reuse_tokenised_papers():
    import random

    from paperboard.search.similar import TermVectors, pool_lexical_scores

    rng = random.Random(7)
    words = "graph graphs neural network molecule kernel diffusion the of and Ünïcode <b> x1 qubit error".split()
    terms = TermVectors(max_papers=20)
    for trial in range(150):
        query = " ".join(rng.choices(words, k=rng.randint(0, 12)))
        cands = {i: " ".join(rng.choices(words, k=rng.randint(0, 15))) for i in range(rng.randint(1, 8))}
        want = lexical_scores(query, cands)
        got = pool_lexical_scores(terms.encode(query), {k: terms.get((trial, k), t) for k, t in cands.items()})
        assert got.keys() == want.keys() and all(abs(got[k] - want[k]) < 1e-12 for k in want)
    assert len(terms) == 20  # the least recently used dropped
    first = terms.get("p", "graph kernels")
    assert terms.get("p", "graph kernels") is first  # tokenised once
    assert terms.get("p", "an edited abstract") is not first  # an edit is a new entry
    assert pool_lexical_scores(terms.encode("x"), {}) == {}


# ------------------------------------------------------------------ kept per paper


def test_similar_papers_are_scored_once_and_read_back(store, tmp_path, monkeypatch):
    embed_missing(store, load_embedder())
    searcher = Searcher(store, index_dir=tmp_path / "index")
    first = searcher.similar("2507.00001", limit=6)
    calls = []
    monkeypatch.setattr(Searcher, "score_similar", lambda self, key, limit: calls.append(key) or [])
    again = Searcher(store, index_dir=tmp_path / "index").similar("2507.00001", limit=6)  # another process, say
    assert calls == [] and again
    assert [(h.paper.id, round(h.score, 5), h.parts.keys()) for h in again] == [
        (h.paper.id, round(h.score, 5), h.parts.keys()) for h in first]  # fmt: skip
    assert [h.paper.id for h in searcher.similar("2507.00001", limit=2)] == [h.paper.id for h in first[:2]]
    searcher.similar("2507.00001", limit=50)  # longer than what is kept: scored on request
    assert len(calls) == 1


def test_a_neighbour_hidden_since_is_dropped_and_the_list_rescored(store, tmp_path):
    searcher = Searcher(store, index_dir=tmp_path / "index")
    keeper = searcher.similar_keeper
    before = [h.paper.id for h in searcher.similar("2507.00001")]
    gone = before[0]
    store.set_hidden(gone, True)
    shown = [h.paper.id for h in searcher.similar("2507.00001")]
    assert shown == before[1:]
    key = store.paper_keys(["2507.00001"])["2507.00001"]
    assert store.dirty_similar_keys(10) == [key]  # the worker's to rescore, not the page's
    assert keeper.refresh_dirty(10) == 1 and store.dirty_similar_keys(10) == []
    kept = [k for k, _, _ in store.kept_similar(key).neighbours]
    assert store.paper_keys([gone])[gone] not in kept and len(kept) == len(before) - 1
    store.set_hidden("2507.00001", True)
    assert searcher.similar("2507.00001") == []  # a hidden paper has no page, kept list or not


NEW_PAPER = Paper(id="2507.00010", title="Diffusion policies for robot grasping in clutter",
                  abstract="Robots grasp objects in clutter with diffusion policies.", feed_day="2025-07-02")  # fmt: skip


def test_a_new_paper_marks_the_lists_it_belongs_in_and_the_worker_rescores_them(store, tmp_path):
    searcher = Searcher(store, index_dir=tmp_path / "index")
    keeper = searcher.similar_keeper
    for pid in ("2507.00001", "2507.00002", "2507.00003"):
        searcher.similar(pid)
    key = store.paper_keys(["2507.00003"])["2507.00003"]
    assert not keeper.stale(store.kept_similar(key)) and store.dirty_similar_keys(10) == []
    store.upsert_papers([NEW_PAPER])
    new_key = store.paper_keys([NEW_PAPER.id])[NEW_PAPER.id]
    assert store.dirty_similar_keys(10) == []  # arriving alone marks nothing: scoring it does
    keeper.compute(new_key)  # the worker (or its first visitor) scores the new paper ...
    new_neighbours = {k for k, _, _ in store.kept_similar(new_key).neighbours}
    dirty = set(store.dirty_similar_keys(10))
    assert key in dirty and dirty <= new_neighbours  # ... which marks the lists it may belong in
    assert NEW_PAPER.id not in [h.paper.id for h in searcher.similar("2507.00003")]  # still served as kept
    assert keeper.refresh_dirty(10) == len(dirty) and store.dirty_similar_keys(10) == []
    assert [h.paper.id for h in searcher.similar("2507.00003")][0] == NEW_PAPER.id
    keeper.compute(key)  # rescoring an older paper marks nothing: its neighbours' lists know it
    assert store.dirty_similar_keys(10) == []


def test_a_list_left_dirty_without_a_worker_is_rescored_by_the_serving_process(store, tmp_path, monkeypatch):
    from datetime import timedelta

    from paperboard.search import similar_keeper

    searcher = Searcher(store, index_dir=tmp_path / "index")
    keeper = searcher.similar_keeper
    searcher.similar("2507.00003")
    store.upsert_papers([NEW_PAPER])
    keeper.compute(store.paper_keys([NEW_PAPER.id])[NEW_PAPER.id])
    key = store.paper_keys(["2507.00003"])["2507.00003"]
    assert key in store.dirty_similar_keys(10)
    searcher.similar("2507.00003")
    keeper.wait(timeout=60)
    assert key in store.dirty_similar_keys(10)  # within the grace: left to the worker
    monkeypatch.setattr(similar_keeper, "WORKER_GRACE", timedelta(0))
    assert NEW_PAPER.id not in [h.paper.id for h in searcher.similar("2507.00003")]  # served as kept ...
    keeper.wait(timeout=60)
    assert [h.paper.id for h in searcher.similar("2507.00003")][0] == NEW_PAPER.id  # ... then rescored
    assert key not in store.dirty_similar_keys(10)


def test_a_mark_made_while_a_list_is_scored_survives_its_write(store):
    from datetime import UTC, datetime, timedelta

    key = store.paper_keys(["2507.00001"])["2507.00001"]
    other = store.paper_keys(["2507.00002"])["2507.00002"]
    store.keep_similar(key, "1:lexical", "0", [(other, 1.0, {"lexical": 0.5})], newest_key=key)
    assert store.mark_similar_dirty([key], older_than_key=key) == 0  # not newer than the list
    assert store.mark_similar_dirty([key], older_than_key=key + 1) == 1
    assert store.mark_similar_dirty([key]) == 0  # already marked
    marked = store.kept_similar(key).dirty_since
    store.keep_similar(key, "1:lexical", "0", [], started_at=marked - timedelta(seconds=1))
    assert store.kept_similar(key).dirty_since == marked  # scored from before the mark: still dirty
    store.keep_similar(key, "1:lexical", "0", [], started_at=datetime.now(UTC))
    assert store.kept_similar(key).dirty_since is None and store.dirty_similar_keys(5) == []


def test_the_worker_scores_the_newest_papers_first_then_the_whole_corpus(store, tmp_path):
    from paperboard.search.backfill import VectorBackfill

    store.upsert_papers([
        Paper(id="2507.00011", title="Quantum error thresholds revisited",
              abstract="Noisy qubits and fault tolerance.", feed_day="2025-07-03"),
        Paper(id="2506.00012", title="An older paper on robot grasping with diffusion",
              abstract="Grasping objects with diffusion policies, a year ago.", feed_day="2025-06-01"),
    ])  # fmt: skip
    newest = list(store.paper_keys([i for i, _, _ in PAPERS] + ["2507.00011"]).values())
    old = store.paper_keys(["2506.00012"])["2506.00012"]
    backfill = VectorBackfill(store, tmp_path / "index", batch=2)
    while backfill.step():  # vectors first, then the kept lists, a batch of 2 per step
        if not store.papers_without_kept_similar([old]):  # the old paper only once ...
            assert store.papers_without_kept_similar(newest) == []  # ... the newest days are done
    assert store.papers_without_kept_similar([*newest, old]) == []  # then every paper
    assert backfill.warmed == len(newest) + 1
    assert store.unkept_similar_keys(10) == []
    assert backfill.step() == 0  # nothing left: the thread idles
