"""Combine several rankings of the same papers into one.

Why two methods: reciprocal rank fusion needs only ranks, so it merges lists whose scores are
not comparable (BM25 is unbounded, cosine is in [-1, 1]) and lists that hold different papers
(keyword hits vs nearest neighbours). Normalised score fusion keeps *how much* better one
paper is than the next, which helps when both lists score the same pool; the benchmark
(bench/search_quality.py) shows which wins where.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Literal

FusedHit = tuple[Hashable, float, tuple[int | None, ...]]
"""(id, fused score, parts): parts[i] is the item's 1-based rank in ranking i, None if absent."""


def _check_weights(n: int, weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * n
    weights = [float(w) for w in weights]
    if len(weights) != n:
        raise ValueError(f"{len(weights)} weights for {n} rankings")
    if any(w < 0 or math.isnan(w) for w in weights):
        raise ValueError("weights must be non-negative numbers")
    return weights


def rrf(
    rankings: Sequence[Sequence[Hashable]],
    k: float = 60,
    weights: Sequence[float] | None = None,
) -> list[FusedHit]:
    """Reciprocal rank fusion: score = Σ_i weight_i / (k + rank_i), best first.

    An item missing from a ranking simply gets nothing from it. A repeated id within one
    ranking counts at its first (best) position. Ties are broken by the order in which items
    were first seen (ranking 0 first), so the output is deterministic.
    """
    if k < 0:
        raise ValueError("k must be >= 0")
    weights = _check_weights(len(rankings), weights)
    scores: dict[Hashable, float] = {}
    ranks: dict[Hashable, list[int | None]] = {}
    for i, ranking in enumerate(rankings):
        for position, item in enumerate(ranking, start=1):
            item_ranks = ranks.setdefault(item, [None] * len(rankings))
            if item_ranks[i] is not None:
                continue
            item_ranks[i] = position
            scores[item] = scores.get(item, 0.0) + weights[i] / (k + position)
    seen = {item: n for n, item in enumerate(ranks)}
    order = sorted(ranks, key=lambda item: (-scores[item], seen[item]))
    return [(item, scores[item], tuple(ranks[item])) for item in order]


def _normalise(scores: Mapping[Hashable, float], method: str) -> dict[Hashable, float]:
    if not scores:
        return {}
    values = list(scores.values())
    if method == "minmax":
        lo, hi = min(values), max(values)
        span = hi - lo
        return {k: (v - lo) / span if span > 0 else 0.0 for k, v in scores.items()}
    if method == "zscore":
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        return {k: (v - mean) / std if std > 0 else 0.0 for k, v in scores.items()}
    raise ValueError(f"unknown normalisation {method!r}")


def score_fusion(
    score_lists: Sequence[Mapping[Hashable, float]],
    weights: Sequence[float] | None = None,
    method: Literal["zscore", "minmax"] = "zscore",
) -> list[FusedHit]:
    """Weighted sum of per-list normalised scores, best first.

    Each list is normalised over its own items (z-score or min-max), so "2 standard deviations
    above this query's average" means the same for BM25 and cosine. An item missing from a list
    gets that list's minimum normalised value, i.e. "no better than the worst it returned".
    parts are ranks within each list, as in ``rrf``.
    """
    weights = _check_weights(len(score_lists), weights)
    normed = [_normalise(s, method) for s in score_lists]
    floors = [min(n.values()) if n else 0.0 for n in normed]
    items: dict[Hashable, None] = {}
    for s in score_lists:
        items.update(dict.fromkeys(s))
    list_ranks = []
    for s in score_lists:
        ordered = sorted(s, key=lambda item: -s[item])
        list_ranks.append({item: r for r, item in enumerate(ordered, start=1)})
    seen = {item: n for n, item in enumerate(items)}
    fused = {
        item: sum(w * n.get(item, f) for w, n, f in zip(weights, normed, floors, strict=True))
        for item in items
    }
    order = sorted(items, key=lambda item: (-fused[item], seen[item]))
    return [(item, fused[item], tuple(r.get(item) for r in list_ranks)) for item in order]
