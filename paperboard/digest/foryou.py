"""The ``foryou`` digest: each opted-in user's own recommendations, daily (weekdays) or weekly.

The list is ``ranking.foryou.for_you`` for the period, the same one the page, the API and
the CLI show, computed once at planning time and stored in the outbox row (paper ids and
their reasons). A crash mid-send therefore resends exactly the planned email, never one
recomputed after the user saved or dismissed something, and the row's unique key
(subscriber, ``foryou``, period) keeps it to one email per period.

Two cadences, one outbox kind: a daily row's period is the feed day (``2025-06-03``), a
weekly row's is the ISO week (``2025-W23``), so a user who switches cadence mid-week cannot
collide with an earlier row. Planning names them apart (``foryou-daily``/``foryou-weekly``)
because the schedule plans them for different days: on a Monday, the daily for that day and
the weekly for the week that just ended.

A user with fewer than three positives gets the period's trending papers with a line
saying how to make the email personal (what the page shows them too), not silence: an
opt-in that sends nothing looks broken. A user whose list is empty gets no email.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from ..periods import Period, day, week_of
from ..store.base import Store
from ..store.digest import OutboxPlan, Subscriber
from .selection import FORYOU, Issue, Section, is_digest_weekday

FORYOU_DAILY, FORYOU_WEEKLY = "foryou-daily", "foryou-weekly"
PLAN_NAMES = {FORYOU_DAILY: "daily", FORYOU_WEEKLY: "weekly"}
"""Planning name -> the subscribers' cadence it serves."""

log = logging.getLogger("paperboard.digest")


@dataclass(slots=True)
class ForyouPlans:
    period: Period | None
    plans: list[OutboxPlan] = field(default_factory=list)
    recipients: int = 0
    papers: int = 0
    already: int = 0
    empty: int = 0
    failed: int = 0
    reason: str = ""


def period_for(cadence: str, d: date) -> Period | None:
    """The period a cadence covers for day ``d``; None for a daily on a weekend."""
    if cadence == "daily":
        return day(d) if is_digest_weekday(d) else None
    if cadence == "weekly":
        return week_of(d)
    raise ValueError(f"unknown For-you cadence {cadence!r}")


def foryou_issue(store: Store, user_id: int, period: Period, *, top_n: int) -> Issue | None:
    """The user's list for ``period`` as an outbox payload; None when it is empty."""
    from ..ranking.foryou import for_you

    result = for_you(store, user_id, start=period.start, end=period.end, limit=top_n)
    if not result.picks:
        return None
    section = Section([p.paper.id for p in result.picks], reasons=[p.reason for p in result.picks])
    return Issue(FORYOU, period.label, period.start.isoformat(), period.end.isoformat(), [section], cold=result.cold)


def plan_foryou(
    store: Store, cadence: str, d: date, *, top_n: int,
    subscribers: list[Subscriber] | None = None,
) -> ForyouPlans:  # fmt: skip
    """One plan per opted-in address with a non-empty list, skipping addresses already
    planned for the period before computing anything (a re-run costs no model fits)."""
    period = period_for(cadence, d)
    if period is None:
        return ForyouPlans(None, reason=f"nothing to send for {d.isoformat()} (not sent on weekends)")
    out = ForyouPlans(period)
    subs = store.foryou_subscribers(cadence) if subscribers is None else subscribers  # type: ignore[arg-type]
    done = store.planned_subscribers(FORYOU, period.label)
    for sub in subs:
        if sub.user_id is None:
            continue
        out.recipients += 1
        if sub.id in done:
            out.already += 1
            continue
        try:
            issue = foryou_issue(store, sub.user_id, period, top_n=top_n)
        except Exception:  # noqa: BLE001 - one user's failing model must not stop everyone's email
            log.exception("For-you list failed for user %s (%s)", sub.user_id, period.label)
            out.failed += 1
            continue
        if issue is None:
            out.empty += 1
            continue
        out.papers += issue.paper_count
        out.plans.append(OutboxPlan(sub.id, FORYOU, period.label, issue.to_payload()))
    return out
