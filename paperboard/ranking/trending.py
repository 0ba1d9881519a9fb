"""Trending: which recent papers people are voting on and discussing.

The score is Hacker News's gravity ranking applied to papers::

    trending_score = (upvotes + 2 × comments) / (age_hours + 2) ^ 1.8

- ``upvotes``: the paper's upvotes (imported count plus votes cast here);
- ``comments``: visible comments; a comment is worth two upvotes, because writing one costs
  more than a click;
- ``age_hours``: hours from the start (00:00 UTC) of the paper's feed day to *now*;
- the ``+ 2`` keeps brand-new papers from dividing by almost zero, and the gravity ``1.8``
  makes a day-old paper need about 3× the points of a paper from the next day to rank
  level with it (``(50/26)^1.8 ≈ 3.2``).

Only papers from the last ``days`` feed days (default 30) are candidates. *now* is the real
clock, but never later than the end of the newest feed day in the store: an archive that
stopped updating shows what was trending when it stopped, instead of an empty or flat list.
The API returns the score and these parts with every paper (``trending_score``,
``trending``), so a ranking can always be explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ..models import Paper
from ..store.base import Store

GRAVITY = 1.8
COMMENT_WEIGHT = 2.0
AGE_OFFSET_HOURS = 2.0


@dataclass(slots=True)
class TrendingEntry:
    paper: Paper
    score: float
    parts: dict[str, float] = field(default_factory=dict)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def trending_score(
    upvotes: int, comments: int, feed_day: date, now: datetime
) -> tuple[float, dict[str, float]]:
    """The score and the parts that made it (the formula in this module's docstring)."""
    age_hours = max(0.0, (now - _day_start(feed_day)).total_seconds() / 3600)
    points = upvotes + COMMENT_WEIGHT * comments
    decay = (age_hours + AGE_OFFSET_HOURS) ** GRAVITY
    score = points / decay
    parts = {
        "upvotes": float(upvotes),
        "comments": float(comments),
        "comment_weight": COMMENT_WEIGHT,
        "age_hours": round(age_hours, 3),
        "gravity": GRAVITY,
        "points": points,
        "decay": round(decay, 6),
    }
    return score, parts


def effective_now(store: Store, now: datetime | None = None) -> datetime:
    """The clock trending uses: real time, stopped at the end of the newest feed day."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    days = store.feed_days(limit=1)
    if days:
        end = _day_start(days[0] + timedelta(days=1))
        now = min(now, end)
    return now


def trending_papers(
    store: Store,
    *,
    now: datetime | None = None,
    limit: int = 50,
    category: str | None = None,
    days: int = 30,
    offset: int = 0,
) -> list[TrendingEntry]:
    """The ``limit`` best-scoring visible papers of the last ``days`` feed days, best first."""
    clock = effective_now(store, now)
    end = clock.date() if clock.time() != time(0) else clock.date() - timedelta(days=1)
    start = end - timedelta(days=max(1, days) - 1)
    return rank_range(store, start, end, now=clock, category=category, limit=limit, offset=offset)


def rank_range(
    store: Store,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    category: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[TrendingEntry]:
    """Papers of feed days ``start..end`` ranked by trending score (the API's sort=trending)."""
    clock = now or effective_now(store)
    top = store.trending_top(
        start, end, clock, gravity=GRAVITY, comment_weight=COMMENT_WEIGHT,
        age_offset_hours=AGE_OFFSET_HOURS, category=category, limit=limit, offset=offset,
    )  # fmt: skip
    papers = store.get_papers([c.paper_id for c, _ in top])
    out = []
    for c, _ in top:
        if c.paper_id in papers:
            score, parts = trending_score(c.upvotes, c.comments, c.feed_day, clock)
            out.append(TrendingEntry(papers[c.paper_id], round(score, 9), parts))
    return out
