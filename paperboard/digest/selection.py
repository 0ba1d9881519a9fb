"""What each digest kind contains, decided once at planning time and kept in the outbox.

The outbox stores the chosen paper ids (an ``Issue``), not the rendered email: a resumed
send renders exactly the papers that were planned, and an alert's "new since the last
email" window is advanced in the same transaction that plans the email.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ..periods import Period, day, week_of
from ..search.searcher import Searcher
from ..store.base import PaperQuery, QuerySyntaxError, Store
from ..store.digest import SavedSearch

DAILY, WEEKLY, ALERTS, FORYOU = "daily", "weekly", "alerts", "foryou"
TRENDING_CANDIDATES = 500


@dataclass(slots=True)
class Section:
    paper_ids: list[str]
    query: str | None = None
    category: str | None = None
    reasons: list[str] = field(default_factory=list)
    """For-you only: each paper's reason, in ``paper_ids`` order, as computed at planning."""


@dataclass(slots=True)
class Issue:
    kind: str
    period: str
    start: str
    end: str
    sections: list[Section] = field(default_factory=list)
    cold: bool = False
    """For-you only: the user has too few positives yet, so these are trending papers."""

    @property
    def paper_count(self) -> int:
        return sum(len(s.paper_ids) for s in self.sections)

    def to_payload(self) -> str:
        # The For-you fields are left out when unused, so the other kinds' payloads (and
        # the rows planned before them) keep their exact form.
        d = asdict(self)
        if not self.cold:
            del d["cold"]
        for s in d["sections"]:
            if not s["reasons"]:
                del s["reasons"]
        return json.dumps(d, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_payload(cls, payload: str) -> Issue:
        d = json.loads(payload)
        return cls(
            kind=d["kind"],
            period=d["period"],
            start=d["start"],
            end=d["end"],
            sections=[Section(**s) for s in d.get("sections", [])],
            cold=bool(d.get("cold", False)),
        )


def is_digest_weekday(d: date) -> bool:
    """The daily trending digest goes out Monday to Friday, like the original's."""
    return d.weekday() < 5


def daily_period(d: date) -> Period:
    return day(d)


def weekly_period(d: date) -> Period:
    return week_of(d)


def daily_issue(store: Store, d: date, *, top_n: int) -> Issue | None:
    """The day's feed ranked by trending score; None on weekends or an empty day."""
    if not is_digest_weekday(d):
        return None
    from ..ranking.trending import trending_papers

    end_of_day = datetime.combine(d + timedelta(days=1), time.min, tzinfo=UTC)
    entries = trending_papers(store, now=end_of_day, limit=TRENDING_CANDIDATES, days=1)
    ids = [e.paper.id for e in entries if e.paper.feed_day == d][:top_n]
    if not ids:
        return None
    p = daily_period(d)
    return Issue(DAILY, p.label, p.start.isoformat(), p.end.isoformat(), [Section(ids)])


def weekly_issue(store: Store, d: date, *, top_n: int) -> Issue | None:
    """The ISO week containing ``d``, its papers by upvotes."""
    p = weekly_period(d)
    papers = store.list_papers(PaperQuery(start=p.start, end=p.end, sort="upvotes", limit=top_n))
    if not papers:
        return None
    return Issue(WEEKLY, p.label, p.start.isoformat(), p.end.isoformat(), [Section([x.id for x in papers])])


def alert_issue(
    store: Store,
    searches: list[SavedSearch],
    d: date,
    *,
    top_n: int,
    searcher: Searcher | None = None,
    cache: dict[tuple, list[str]] | None = None,
) -> tuple[Issue | None, list[tuple[int, date]]]:
    """Papers matching each saved search with a feed day after the last one emailed, up to ``d``.

    Returns the issue (None when nothing is new) and the marks that advance each search's
    window to ``d``: planned together with the email, so no paper is sent twice or skipped.
    """
    searcher = searcher or Searcher(store)
    sections: list[Section] = []
    marks: list[tuple[int, date]] = []
    starts: list[date] = []
    for ss in searches:
        if ss.last_day is not None and ss.last_day >= d:
            continue
        start = ss.last_day + timedelta(days=1) if ss.last_day else None
        marks.append((ss.id, d))
        if start:
            starts.append(start)
        key = (ss.query, ss.category, start, d, top_n)
        ids = cache.get(key) if cache is not None else None
        if ids is None:
            ids = _matching_ids(searcher, ss, start, d, top_n)
            if cache is not None:
                cache[key] = ids
        if ids:
            sections.append(Section(ids, ss.query, ss.category))
    if not sections:
        return None, marks
    p = day(d)
    first = min(starts).isoformat() if len(starts) == len(marks) and starts else ""
    return Issue(ALERTS, p.label, first, p.end.isoformat(), sections), marks


def _matching_ids(searcher: Searcher, ss: SavedSearch, start: date | None, d: date, top_n: int) -> list[str]:
    filters = PaperQuery(start=start, end=d, category=ss.category, limit=top_n)
    try:
        response = searcher.search(ss.query, filters=filters, limit=top_n)
    except (QuerySyntaxError, ValueError):
        return []  # a query that cannot run today matches nothing
    # The searcher may answer an arXiv id with that paper whatever the filters: re-check.
    return [
        h.paper.id
        for h in response.hits
        if (start is None or h.paper.feed_day >= start)
        and h.paper.feed_day <= d
        and (not ss.category or ss.category in h.paper.categories)
    ]
