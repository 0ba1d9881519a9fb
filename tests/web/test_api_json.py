"""The API's list endpoints build JSON values directly (``daily_paper_json``), not models.

The pydantic models stay the one description of the shape (OpenAPI): every entry served must
validate to its model and serialise, through pydantic, to exactly the JSON that was served."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from paperboard.web.api.models import DailyPaper, PaperOut, SearchResult, paper_json
from tests.web.conftest import make_paper


def _served(client, url: str) -> list[dict]:
    r = client.get(url)
    assert r.status_code == 200, r.text
    return r.json()


def test_list_entries_are_what_the_models_would_serialise(client):
    for url, model in (
        ("/api/daily_papers?limit=100", DailyPaper),
        ("/api/daily_papers?date=2026-07-01&sort=trending", DailyPaper),
        ("/api/papers/search?q=attention&limit=20", SearchResult),
        ("/api/papers/2607.00001/similar", SearchResult),
    ):
        entries = _served(client, url)
        assert entries, url
        for e in entries:
            assert json.loads(model.model_validate(e).model_dump_json()) == e, (url, e["paper"]["id"])


def test_datetimes_in_pydantic_form():
    """Microseconds, other offsets and missing dates in the form clients already parse
    (the caller's ``saved`` marks on these dicts: tests/web/test_library_api.py)."""
    now = datetime(2026, 7, 2, tzinfo=UTC)
    for published in (
        datetime(2026, 6, 30, 12, tzinfo=UTC),
        datetime(2026, 6, 30, 12, 0, 1, 250_000, tzinfo=UTC),
        datetime.fromisoformat("2026-06-30T23:30:00+02:00"),
        None,
    ):
        d = paper_json(make_paper("2607.00009", "Dates", published=published, upvotes=3), 2, now)
        assert json.loads(PaperOut.model_validate(d).model_dump_json()) == d

