"""The "For you" page: one user's recommendations for a day, week or month.

The same list as ``/api/recommendations``, the CLI's ``recommend`` and the ``foryou`` digest
(``ranking/foryou.py``); this module only picks the period and renders. Each card carries
its reason and a "Not interested" button (a POST form, so it works without JavaScript).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from ...periods import day, week_of
from ...ranking.foryou import MIN_POSITIVES, for_you
from ...store.accounts import User
from .. import deps
from ..views import cards
from .pages import _period

router = APIRouter(include_in_schema=False)
LIMIT = 50


@router.get("/for-you")
def for_you_page(
    request: Request,
    user: Annotated[User, Depends(deps.require_user)],
    date: Annotated[str | None, Query(max_length=40)] = None,
    week: Annotated[str | None, Query(max_length=40)] = None,
    month: Annotated[str | None, Query(max_length=40)] = None,
):
    store = request.app.state.store
    period = _period(store, date, week, month)
    result = for_you(store, user.id, start=period.start, end=period.end, limit=LIMIT)
    if period.kind == "day":
        prev_day, next_day = store.adjacent_days(period.start)
        prev_p, next_p = (day(prev_day) if prev_day else None), (day(next_day) if next_day else None)
    else:
        prev_p, next_p = period.previous(), period.next()
    shown = cards(request, [p.paper for p in result.picks])
    return deps.render(
        request, "foryou/page.html",
        {
            "period": period, "prev": prev_p, "next": next_p, "cold": result.cold,
            "needed": max(0, MIN_POSITIVES - result.positives),
            "picks": list(zip(shown, result.picks, strict=True)),
            "week_label": week_of(period.start).label, "month_label": period.start.strftime("%Y-%m"),
            "nav": "foryou",
        },
    )  # fmt: skip
