"""What a list of papers needs beyond the papers: comment counts and the user's votes,
saves and dismissals, fetched in one query each for the whole page (never one per card)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from ..models import Paper
from . import sessions

PAGE_SIZE = 30


@dataclass(slots=True)
class Card:
    paper: Paper
    comments: int = 0
    voted: bool = False
    score: float | None = None
    parts: dict[str, float] = field(default_factory=dict)
    saved: bool = False
    """In the viewer's library: the card's Save button shows "Saved" and unsaves."""
    dismissed: bool = False
    """Marked "Not interested" by the viewer: a dismissable card offers Undo instead."""

    def shown_score(self) -> tuple[str, str] | None:
        """The score and age as a card that shows its score prints them. The kept cards
        (card_cache.py) are keyed by these strings, not by the floats: trending's scores move
        with the clock on every request, and search results carry scores they never show."""
        if self.score is None:
            return None
        age = self.parts.get("age_hours")
        return f"{self.score:.4g}", "" if age is None else str(round(age, 1))


def cards(
    request: Request,
    papers: list[Paper],
    scores: list[float | None] | None = None,
    parts: list[dict[str, float]] | None = None,
) -> list[Card]:
    store = request.app.state.store
    ids = [p.id for p in papers]
    counts = store.comment_counts(ids) if ids else {}
    user = sessions.authenticate(request)
    voted: set[str] = set()
    saved: set[str] = set()
    dismissed: set[str] = set()
    if user and ids:
        voted = store.voted_ids(user.id, ids)
        saved = store.saved_ids(user.id, ids)
        dismissed = store.dismissed_ids(user.id, ids)
    out = []
    for i, p in enumerate(papers):
        out.append(
            Card(
                p, counts.get(p.id, 0), p.id in voted,
                scores[i] if scores else None, parts[i] if parts else {},
                saved=p.id in saved, dismissed=p.id in dismissed,
            )  # fmt: skip
        )
    return out


def page_number(value: int | None) -> int:
    return max(1, min(value or 1, 10_000))
