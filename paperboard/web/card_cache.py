"""Rendered paper cards, kept between requests and shared by every page and viewer.

Why: a listing page renders 30 cards, and on the 75k corpus the card macro was the largest
part of a feed page's CPU (py-spy: template rendering ~40% of the busy time, the database
under 10%), while the same cards are shown again and again. A card's HTML depends only on its
paper, its counts, the viewer's marks on it (voted, saved, dismissed), whether anyone is
logged in, and two per-request strings: the viewer's CSRF token and the page it links back to.
Those two are rendered as placeholders and put in on the way out, so one entry serves every
page and every viewer that shows the card the same way.

The key is built from every field of the paper and of the card, not from the ones the macro
happens to read today, so a new field shown on cards cannot serve stale HTML; the test renders
each variation both ways (tests/web/test_card_cache.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import fields
from urllib.parse import quote

from markupsafe import Markup, escape

from ..models import Paper
from .views import Card

TOKEN = "pb-csrf-slot-7d1c4a"
"""Stands for the viewer's CSRF token in a kept card (letters only: escaping leaves it as is)."""
BACK = "/pb-back-slot-7d1c4a"
"""Stands for the page a card links back to; it appears URL-quoted and HTML-escaped."""
QUOTED_BACK = quote(BACK, safe="")
PAPER_FIELDS = tuple(Paper.model_fields)
CARD_FIELDS = tuple(f.name for f in fields(Card) if f.name not in ("paper", "score", "parts"))
"""Score and parts enter the key only as the card shows them (``Card.shown_score``)."""


def _frozen(value: object) -> object:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return value


def card_key(card: Card, logged_in: bool, show_score: bool, dismissable: bool) -> tuple:
    paper = card.paper
    return (
        tuple(_frozen(getattr(paper, name)) for name in PAPER_FIELDS),
        tuple(_frozen(getattr(card, name)) for name in CARD_FIELDS),
        card.shown_score() if show_score else None,
        logged_in, show_score, dismissable,
    )  # fmt: skip


class CardCache:
    """An LRU of rendered cards, safe to share between a server's threads."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._cards: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._cards)

    def __call__(self, macro, card: Card, next_url: str, show_score: bool, dismissable: bool,
                 user: object, csrf_token: str) -> Markup:  # fmt: skip
        """The card as ``macro`` renders it for this viewer and page (``macro`` is called only
        for a card not kept yet, with the placeholders for the two per-request strings)."""
        if self.size <= 0:
            return macro(card, next_url, show_score=show_score, dismissable=dismissable)
        # The paper's id and the full key's hash, not the key: the key holds the abstract
        # and every other field, which kept 2,048 cards' papers alive. Two variants of one
        # paper would have to collide on a 64-bit hash randomised per process.
        key = (card.paper.id, hash(card_key(card, bool(user), show_score, dismissable)))
        with self._lock:
            html = self._cards.get(key)
            if html is not None:
                self._cards.move_to_end(key)
                self.hits += 1
        if html is None:
            rendered = str(macro(card, BACK, show_score=show_score, dismissable=dismissable))
            html = rendered.replace(csrf_token, TOKEN) if csrf_token else rendered
            with self._lock:
                self.misses += 1
                self._cards[key] = html
                if len(self._cards) > self.size:
                    self._cards.popitem(last=False)
        return Markup(
            html.replace(TOKEN, str(escape(csrf_token)))
            .replace(QUOTED_BACK, quote(next_url, safe=""))
            .replace(BACK, str(escape(next_url)))
        )
