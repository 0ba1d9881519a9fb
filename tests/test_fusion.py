"""Rank fusion and the in-memory lexical scorers behave as the hybrid search relies on."""

from __future__ import annotations

import math

import pytest

from paperboard.search.bm25 import BM25, TfIdf, tokenize
from paperboard.search.fusion import rrf, score_fusion

# ------------------------------------------------------------------ rrf


def test_rrf_scores_are_sums_of_reciprocal_ranks() -> None:
    fused = rrf([["a", "b", "c"], ["b", "a", "d"]], k=60)
    scores = {item: score for item, score, _ in fused}
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["c"] == pytest.approx(1 / 63)
    assert scores["d"] == pytest.approx(1 / 63)


def test_rrf_item_high_in_both_lists_beats_item_top_of_one() -> None:
    fused = rrf([["x", "both", "y"], ["z", "both", "w"]])
    assert fused[0][0] == "both"


def test_rrf_ties_keep_first_seen_order() -> None:
    # a/b tie exactly, c/d tie exactly: order of first appearance decides, deterministically.
    assert [i for i, _, _ in rrf([["a", "c"], ["b", "d"]])] == ["a", "b", "c", "d"]
    assert [i for i, _, _ in rrf([["b", "d"], ["a", "c"]])] == ["b", "a", "d", "c"]


def test_rrf_parts_give_rank_per_list_and_none_when_missing() -> None:
    fused = {item: parts for item, _, parts in rrf([["a", "b"], ["c", "a"], []])}
    assert fused == {"a": (1, 2, None), "b": (2, None, None), "c": (None, 1, None)}


def test_rrf_missing_item_only_loses_that_lists_share() -> None:
    fused = dict((i, s) for i, s, _ in rrf([["a", "b"], ["a"]], k=1))
    assert fused == {"a": pytest.approx(1 / 2 + 1 / 2), "b": pytest.approx(1 / 3)}


def test_rrf_weights_shift_the_winner() -> None:
    lists = [["lex"], ["dense"]]
    assert rrf(lists, weights=[2, 1])[0][0] == "lex"
    assert rrf(lists, weights=[1, 2])[0][0] == "dense"
    assert [i for i, _, _ in rrf(lists, weights=[0, 1])] == ["dense", "lex"]
    assert rrf(lists, weights=[0, 1])[1][1] == 0.0


def test_rrf_duplicate_in_one_list_counts_once_at_best_rank() -> None:
    fused = rrf([["a", "b", "a"]], k=0)
    assert fused == [("a", 1.0, (1,)), ("b", 0.5, (2,))]


def test_rrf_smaller_k_favours_top_ranks() -> None:
    lists = [["a", "b"], ["c", "d", "b"]]
    # k=0: a list's winner (1/1) beats b (1/2 + 1/3); k=1000: b's presence in both lists wins.
    assert rrf(lists, k=0)[0][0] == "a"
    assert rrf(lists, k=1000)[0][0] == "b"


def test_rrf_empty_and_bad_arguments() -> None:
    assert rrf([]) == []
    assert rrf([[], []]) == []
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1, 2])
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[-1])
    with pytest.raises(ValueError):
        rrf([["a"]], k=-1)


# ------------------------------------------------------------------ score fusion


def test_score_fusion_is_scale_free() -> None:
    bm25 = {"a": 40.0, "b": 10.0, "c": 0.0}
    cosine = {"a": 0.2, "b": 0.9, "c": 0.1}
    once = [i for i, _, _ in score_fusion([bm25, cosine])]
    rescaled = [i for i, _, _ in score_fusion([{k: v * 1000 for k, v in bm25.items()}, cosine])]
    assert once == rescaled


def test_score_fusion_weights_and_missing_items() -> None:
    lex = {"a": 3.0, "b": 2.0, "c": 1.0}
    dense = {"c": 0.9, "d": 0.1}
    fused = {i: (s, parts) for i, s, parts in score_fusion([lex, dense], method="minmax")}
    assert fused["d"][1] == (None, 2)
    assert fused["a"][0] == pytest.approx(1.0 + 0.0)  # missing from dense: that list's floor
    assert fused["c"][0] == pytest.approx(0.0 + 1.0)
    heavy_dense = score_fusion([lex, dense], weights=[0.1, 1.0], method="minmax")
    assert heavy_dense[0][0] == "c"


def test_score_fusion_constant_list_contributes_nothing() -> None:
    fused = score_fusion([{"a": 1.0, "b": 1.0}, {"a": 0.0, "b": 5.0}])
    assert [i for i, _, _ in fused] == ["b", "a"]
    assert all(math.isfinite(s) for _, s, _ in fused)


# ------------------------------------------------------------------ lexical scorers

DOCS = [
    ("gnn", "Graph neural networks for molecules. Message passing over atoms and bonds."),
    ("cnn", "Convolutional networks for image classification on ImageNet."),
    ("rl", "Reinforcement learning agents play Atari games from pixels."),
    ("gnn2", "Graph attention networks: attention over graph neighbourhoods."),
    ("empty", ""),
]


def test_tokenize_folds_case_accents_plurals_and_drops_stopwords() -> None:
    assert tokenize("The Networks of Schrödinger's QUERIES") == ["network", "schrodinger", "query"]
    assert tokenize("") == [] and tokenize(None) == []
    assert tokenize("analysis class bus") == ["analysis", "class", "bus"]
    assert tokenize("3D point-clouds") == ["3d", "point", "cloud"]


def test_bm25_ranks_the_matching_documents_first() -> None:
    bm25 = BM25(DOCS)
    ranked = [d for d, _ in bm25.rank("graph networks")]
    assert set(ranked[:2]) == {"gnn", "gnn2"}
    assert bm25.score("graph networks", ["empty"]) == [0.0]


def test_bm25_rare_terms_weigh_more_than_common_ones() -> None:
    bm25 = BM25(DOCS)
    assert bm25.idf("atari") > bm25.idf("network") > 0


def test_bm25_scores_a_subset_with_corpus_statistics() -> None:
    bm25 = BM25(DOCS)
    full = dict(zip(bm25.ids, bm25.score("image pixels"), strict=True))
    subset = bm25.score("image pixels", ["rl", "cnn"])
    assert subset == [full["rl"], full["cnn"]]
    assert [d for d, _ in bm25.rank("image pixels", ["gnn", "rl", "cnn"])][-1] == "gnn"
    with pytest.raises(KeyError):
        bm25.score("image", ["not-indexed"])


def test_bm25_query_term_frequency_only_when_asked() -> None:
    plain = BM25(DOCS)
    qtf = BM25(DOCS, query_tf=True)
    q1, q3 = "attention", "attention attention attention"
    assert plain.score(q1, ["gnn2"]) == plain.score(q3, ["gnn2"])
    assert qtf.score(q3, ["gnn2"])[0] > qtf.score(q1, ["gnn2"])[0]


def test_bm25_longer_document_with_same_match_scores_lower() -> None:
    bm25 = BM25([("short", "quantum error correction"), ("long", "quantum " + "filler " * 50)])
    short, long = bm25.score("quantum")
    assert short > long > 0


def test_bm25_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        BM25(DOCS, b=1.5)
    with pytest.raises(ValueError):
        BM25([("a", "x"), ("a", "y")])


def test_bm25_unknown_query_and_empty_index() -> None:
    assert BM25(DOCS).score("zzzz qqqq") == [0.0] * len(DOCS)
    assert BM25([]).score("anything") == []


def test_tfidf_cosine_is_one_for_identical_text_and_zero_for_disjoint() -> None:
    tfidf = TfIdf(DOCS)
    same, disjoint, empty = tfidf.score(DOCS[1][1], ["cnn", "rl", "empty"])
    assert same == pytest.approx(1.0)
    assert disjoint == 0.0 and empty == 0.0
    assert tfidf.rank("graph attention")[0][0] == "gnn2"


def test_term_counts_equal_counting_the_tokens():
    from collections import Counter

    from paperboard.search.bm25 import term_counts, tokenize

    for text in ["", "Networks, networks and NETWORK's theories", "Schrödinger’s cats — über alles; 量子 计算", "a the of"]:
        assert term_counts(text) == Counter(tokenize(text))
