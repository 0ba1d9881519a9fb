"""One user's "For you" list for a period: what the web page, the API, the CLI and the
``foryou`` digest all show, so they never disagree.

The model is fit when asked (``recommend.py``), from what the user has done up to now, so
a save or a dismissal changes the next page; there is no nightly batch to wait for. Until
the user has ``MIN_POSITIVES`` positives there is nothing to learn from, and the list is the
period's trending papers, saying so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from ..models import Paper
from ..store.base import PaperQuery

MIN_POSITIVES = 3
NO_REASON = "in this period, though nothing in it is close to what you saved"
"""A pick with no nearest positive (no shared words, no vectors yet): said as it is."""
POOL_LIMIT = 20_000
"""A month of arXiv is about 25k papers; the pool is the period's papers up to this many."""


@dataclass(frozen=True, slots=True)
class Pick:
    paper: Paper
    score: float | None
    reason: str
    because: str | None = None


@dataclass(slots=True)
class ForYou:
    picks: list[Pick] = field(default_factory=list)
    cold: bool = False
    positives: int = 0
    """How many positives the user has (the cold-start page says how many more it needs)."""


def latest_day(store) -> date | None:
    days = store.feed_days(limit=1)
    return days[0] if days else None


def _reason(kind: str, title: str) -> str:
    verb = {"claimed": "you wrote", "saved": "you saved", "upvoted": "you upvoted"}[kind]
    return f"because {verb} “{title}”"


def for_you(store, user_id: int, *, start: date, end: date, limit: int = 30) -> ForYou:
    """Best first; papers the user saved, upvoted, wrote or dismissed never appear."""
    from .recommend import POSITIVE_WEIGHTS, Profile, StoreFeatures, recommend
    from .trending import effective_now, rank_range

    signals = store.user_signals(user_id)
    positives = signals.positive_ids
    seen = set(positives) | set(signals.dismissed)
    if len(positives) < MIN_POSITIVES:
        entries = rank_range(store, start, end, now=effective_now(store), limit=limit + len(seen))
        keys = store.paper_keys([e.paper.id for e in entries])
        picks = [
            Pick(e.paper, None, "trending: save, upvote or claim papers and this page learns what you read")
            for e in entries
            if keys.get(e.paper.id) not in seen
        ]
        return ForYou(picks[:limit], cold=True, positives=len(positives))

    pool_papers = store.list_papers(PaperQuery(start=start, end=end, sort="date", limit=POOL_LIMIT))
    keys = store.paper_keys([p.id for p in pool_papers])
    by_key = {keys[p.id]: p for p in pool_papers if p.id in keys and keys[p.id] not in seen}
    weights: dict[int, float] = {}
    for kind in ("upvoted", "saved", "claimed"):  # the strongest signal of a paper wins
        for key in getattr(signals, kind):
            weights[key] = max(weights.get(key, 0.0), POSITIVE_WEIGHTS[kind])
    profile = Profile(positives=weights, negatives=set(signals.dismissed))
    ranked = recommend(StoreFeatures(store), profile, list(by_key), limit=limit, background=_background(store))
    kinds = {key: kind for kind in ("upvoted", "saved", "claimed") for key in getattr(signals, kind)}
    because = store.papers_by_keys([r.because for r in ranked if r.because is not None])
    picks = []
    for r in ranked:
        paper = by_key.get(r.key)
        if paper is None:
            continue
        origin = because.get(r.because) if r.because is not None else None
        reason = _reason(kinds.get(r.because, "saved"), origin.title) if origin else NO_REASON
        picks.append(Pick(paper, float(r.score), reason, origin.id if origin else None))
    return ForYou(picks, cold=False, positives=len(positives))


_backgrounds: dict[str, tuple[float, list[int]]] = {}
BACKGROUND_TTL = 600.0


def _background(store) -> list[int]:
    """An even sample of the corpus for the recommender's IDF and whitening, kept for ten
    minutes per database (the same sample keeps the recommender's statistics cached)."""
    from .recommend import BACKGROUND_SIZE

    now = time.monotonic()
    cached = _backgrounds.get(store.url)
    if cached is None or now - cached[0] > BACKGROUND_TTL:
        cached = _backgrounds[store.url] = (now, store.paper_key_sample(BACKGROUND_SIZE))
    return cached[1]
