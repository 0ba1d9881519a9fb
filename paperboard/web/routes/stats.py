"""/stats: papers and upvotes per day over the last 90 days, as SVG bar charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from .. import deps
from ..charts import bar_chart

router = APIRouter(include_in_schema=False)


@router.get("/stats", response_class=HTMLResponse)
def stats(request: Request, days: Annotated[int, Query(ge=7, le=365)] = 90):
    store = request.app.state.store
    last = store.feed_days(limit=1)
    today = datetime.now(UTC).date()
    # An archive that stopped updating still shows its last 90 days, not an empty chart.
    end = min(today, last[0]) if last else today
    start = end - timedelta(days=days - 1)
    papers = store.papers_per_day(start, end)
    upvotes = store.upvotes_per_feed_day(start, end)
    votes_end = today
    votes_start = today - timedelta(days=days - 1)
    votes = store.votes_cast_per_day(votes_start, votes_end)
    summary = store.stats()
    return deps.render(
        request, "stats.html",
        {
            "days": days, "start": start, "end": end, "summary": summary,
            "n_papers": sum(d.count for d in papers), "n_upvotes": sum(d.count or 0 for d in upvotes),
            "n_votes": sum(d.count for d in votes),
            "papers_chart": bar_chart(papers, start, end, label="Papers per day"),
            "upvotes_chart": bar_chart(upvotes, start, end, label="Upvotes per day"),
            "votes_chart": bar_chart(votes, votes_start, votes_end, label="Votes cast per day"),
            "votes_start": votes_start, "votes_end": votes_end, "nav": "stats",
        },
    )  # fmt: skip
