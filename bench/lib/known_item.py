"""Known-item search with paraphrased questions, over a whole corpus (../shared/bench/known-item).

Each question describes one arxiv-daily paper the way a researcher types it when the title is
forgotten; the paper must come back from the whole corpus. Printed per configuration:
MRR@10 (0 beyond 10), R@1, R@10, R@50 and the mean latency per question, for each stage
alone, the exact scan of each model's vectors, the default search as shipped, and the
variants tried. Fusion settings are fitted by 5-fold cross-validation over the questions
(folds by position), and the held-out figure is printed beside the figure of the shipped
setting, so no setting is tuned to these questions unseen.

On a corpus with copies (the 1M one, papers repeated under new ids), the copies of each
question's own paper are left out of its ranking: the rest are distractors.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperboard.search import searcher as searcher_module
from paperboard.search.embedder import DEFAULT_EMBEDDER, DEFAULT_RERANKER, load_embedder
from paperboard.search.query import parse_query
from paperboard.search.searcher import CANDIDATES, STRONG_DENSE_WEIGHT, Searcher, fuse_scores

DEPTH = 50
WEIGHTS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
FOLDS = 5


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    paper_id: str


def load_questions(path: Path) -> list[Question]:
    with path.open(newline="", encoding="utf-8") as f:
        return [Question(r["query"], r["id"]) for r in csv.DictReader(f, delimiter="\t")]


def rank_of(ranked: Sequence[int], target: int, skip: frozenset[int] = frozenset()) -> int | None:
    """1-based rank of ``target`` among ``ranked`` without the ``skip`` keys (its copies)."""
    n = 0
    for key in ranked:
        if key in skip:
            continue
        n += 1
        if key == target:
            return n
        if n >= DEPTH:
            break
    return None


def summary(ranks: Sequence[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "MRR@10": sum(1 / r for r in ranks if r and r <= 10) / n,
        "R@1": sum(1 for r in ranks if r == 1) / n,
        "R@10": sum(1 for r in ranks if r and r <= 10) / n,
        "R@50": sum(1 for r in ranks if r and r <= 50) / n,
    }


class KnownItemBench:
    def __init__(self, store, index_dir: Path, questions: list[Question], copies: dict[str, list[str]] | None = None):
        self.store, self.index_dir, self.questions = store, index_dir, questions
        ids = [q.paper_id for q in questions]
        keys = store.paper_keys(ids)
        missing = [i for i in ids if i not in keys]
        if missing:
            raise SystemExit(f"known-item: {len(missing)} question papers are not in the store: {missing[:5]}")
        self.targets = [keys[q.paper_id] for q in questions]
        self.skips = [frozenset()] * len(questions)
        if copies:
            self.skips = [frozenset(store.paper_keys(copies.get(q.paper_id, [])).values()) for q in questions]
        self.rows: list[tuple[str, dict[str, float], float]] = []

    # -- runs --------------------------------------------------------------------------
    def run(self, name: str, ranked_keys: Callable[[Question], list[int]]) -> dict[str, float]:
        ranks, start = [], time.perf_counter()
        for q, target, skip in zip(self.questions, self.targets, self.skips, strict=True):
            ranks.append(rank_of(ranked_keys(q), target, skip))
        ms = (time.perf_counter() - start) * 1000 / max(len(self.questions), 1)
        result = summary(ranks)
        self.rows.append((name, result, ms))
        return result

    def searcher(self, *, model: str | None = None, rerank: bool = True) -> Searcher:
        return Searcher(self.store, index_dir=self.index_dir, model=model, rerank=rerank)

    def search_keys(self, searcher: Searcher, mode: str = "hybrid") -> Callable[[Question], list[int]]:
        def ranked(q: Question) -> list[int]:
            hits = searcher.search(q.text, limit=DEPTH + 20, mode=mode).hits  # room for skipped copies
            return list(self.store.paper_keys([h.paper.id for h in hits]).values())

        return ranked

    def exact_keys(self, model: str) -> Callable[[Question], list[int]] | None:
        keys, mats = [], []
        for batch in self.store.iter_vectors(model):
            keys.append(batch.keys)
            mats.append(batch.vectors)
        if not keys:
            return None
        key_arr, matrix = np.concatenate(keys), np.concatenate(mats)
        embedder = load_embedder(model)

        def ranked(q: Question) -> list[int]:
            scores = matrix @ embedder.encode_query(q.text)
            top = np.argpartition(-scores, DEPTH + 20)[: DEPTH + 20]
            return key_arr[top[np.argsort(-scores[top])]].tolist()

        return ranked

    # -- the whole table ---------------------------------------------------------------
    def evaluate(self) -> None:
        strong_ready = searcher_module.dense_model(self.store) == DEFAULT_RERANKER
        shipped = self.searcher()
        self.run("default search (as shipped)", self.search_keys(shipped))
        self.run("  keyword stage alone (BM25, Tantivy/FTS5)", self.search_keys(shipped, "bm25"))
        self.run(f"  dense stage alone ({shipped.embedder.name}, ANN)", self.search_keys(shipped, "dense"))
        for model in (DEFAULT_RERANKER, DEFAULT_EMBEDDER):
            fn = self.exact_keys(model)
            if fn is not None:
                self.run(f"  exact cosine scan, {model}", fn)
        static = self.searcher(model=DEFAULT_EMBEDDER)
        self.run(f"static dense stage alone ({DEFAULT_EMBEDDER}, ANN)", self.search_keys(static, "dense"))
        self.run("static hybrid, no re-ranking", self.search_keys(self.searcher(model=DEFAULT_EMBEDDER, rerank=False)))
        if strong_ready:
            self.run(f"static hybrid, top {searcher_module.RERANK_TOP} re-ranked by {DEFAULT_RERANKER} (last release)",
                     self.search_keys(static))  # fmt: skip
        self.fusion_variants(shipped)

    def fusion_variants(self, searcher: Searcher) -> None:
        """The shipped stages' candidates, fused with other settings, and the weight chosen
        by cross-validation."""
        stages = []
        for q in self.questions:
            got = searcher.stage_scores(parse_query(q.text), CANDIDATES)
            if got is None:
                print("  (fusion variants need both in-process indexes: skipped)")
                return
            stages.append(got)

        def fused_ranks(method: str, weight: float, subset: Sequence[int]) -> list[int | None]:
            out = []
            for i in subset:
                kw, dense = stages[i]
                order = fuse_scores(kw, dense, method=method, dense_weight=weight)
                out.append(rank_of([k for k, _, _ in order], self.targets[i], self.skips[i]))
            return out

        everyone = range(len(self.questions))
        for w in WEIGHTS:
            self.rows.append((f"variant: z-score, dense weight {w:g}", summary(fused_ranks("zscore", w, everyone)), 0.0))
        for w in (1.0, 2.0):
            self.rows.append((f"variant: RRF k=60, dense weight {w:g}", summary(fused_ranks("rrf", w, everyone)), 0.0))
        held_out: list[int | None] = []
        chosen = []
        for fold in range(FOLDS):
            test = [i for i in everyone if i % FOLDS == fold]
            train = [i for i in everyone if i % FOLDS != fold]
            best = max(WEIGHTS, key=lambda w: summary(fused_ranks("zscore", w, train))["MRR@10"])
            chosen.append(best)
            held_out += fused_ranks("zscore", best, test)
        self.rows.append((f"z-score weight by {FOLDS}-fold CV (chosen {chosen}; shipped {STRONG_DENSE_WEIGHT:g})",
                          summary(held_out), 0.0))  # fmt: skip

    def print(self, title: str) -> None:
        print(f"\n== known-item: {title}: {len(self.questions)} paraphrased questions ==")
        width = max(len(n) for n, _, _ in self.rows) + 2
        print(f"{'configuration':<{width}}{'MRR@10':>8}{'R@1':>7}{'R@10':>7}{'R@50':>7}{'ms/q':>8}")
        for name, r, ms in self.rows:
            print(f"{name:<{width}}{r['MRR@10']:>8.3f}{r['R@1']:>7.2f}{r['R@10']:>7.2f}{r['R@50']:>7.2f}"
                  f"{(f'{ms:.1f}' if ms else ''):>8}")  # fmt: skip
