"""Kept cards (web/card_cache.py) are byte-for-byte the cards the macro renders, for every
variation of paper, card, viewer and page, and a change to any of them is never served stale."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from paperboard.models import Paper
from paperboard.web.card_cache import BACK, TOKEN, CardCache
from paperboard.web.templating import make_templates
from paperboard.web.views import Card

CACHED = '{% from "_macros.html" import card with context %}{{ card(c, back, show_score=s, dismissable=d) }}'
DIRECT = '{% from "_macros.html" import card_body with context %}{{ card_body(c, back, show_score=s, dismissable=d) }}'


@pytest.fixture(scope="module")
def env():
    return make_templates(card_cache_size=64).env


def _paper(**changes) -> Paper:
    fields = dict(
        id="2401.00001", version=2, title='Attention <script>alert("x")</script> & more',
        abstract="We study $\\alpha$-things. A second sentence.", authors=["Ada Lovelace", "Alan Turing"],
        author_count=2, categories=["cs.LG", "cs.AI"], primary_category="cs.LG",
        published=datetime(2024, 1, 2, 3, 4, tzinfo=UTC), updated=datetime(2024, 1, 3, tzinfo=UTC),
        comment="10 pages", journal_ref="J. Tests 1", doi="10.1/x", license="CC-BY",
        code_urls=["https://github.com/a/b"], project_urls=["https://a.example/p"], organization="Org & Co",
        feed_day=date(2024, 1, 2), submitted_by="ada", upvotes=7, tldr="Proposes <b>things</b>.",
    )  # fmt: skip
    fields.update(changes)
    return Paper(**fields)


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str):
        return value + " x"
    if isinstance(value, list):
        return ["https://c.example/first", *value]
    if isinstance(value, dict):
        return {**value, "age_hours": 3.0}
    if isinstance(value, datetime | date):
        return value + timedelta(days=1)
    raise AssertionError(f"no variation for {value!r}")


def _render(env, source: str, card: Card, *, back="/", user=None, token="tok123", s=False, d=False) -> str:
    return env.from_string(source).render(c=card, back=back, user=user, csrf_token=token, s=s, d=d)


def _same(env, card: Card, **kw) -> str:
    cached = _render(env, CACHED, card, **kw)
    assert cached == _render(env, DIRECT, card, **kw)
    return cached


def test_a_kept_card_is_the_rendered_card_for_every_viewer_and_page(env):
    card = Card(_paper(), comments=3, voted=True, score=0.25, parts={"age_hours": 5.0}, saved=True)
    seen = set()
    for user in (None, {"name": "ada"}):
        for back in ("/", '/?q=a&b="<x>"#frag', "/trending?days=7"):
            for token in ("tok123", "other&token"):
                for s in (False, True):
                    for d in (False, True):
                        seen.add(_same(env, card, back=back, user=user, token=token, s=s, d=d))
    assert len(seen) > 10
    out = _same(env, card, back='/?q="<x>"', token="tok123", user={"name": "ada"})
    assert TOKEN not in out and BACK not in out and "tok123" in out and "&lt;script&gt;" in out
    cache = env.globals["card_cache"]
    assert cache.hits > 0 and cache.misses > 0


@pytest.mark.parametrize("name", [n for n in Paper.model_fields])
def test_a_change_to_any_field_of_the_paper_is_never_served_stale(env, name):
    base = _paper()
    before = _same(env, Card(base, comments=1))
    changed = _paper(**{name: _changed(getattr(base, name))}) if name != "id" else _paper(id="2401.00002")
    after = _same(env, Card(changed, comments=1))
    if name in {"id", "title", "authors", "organization", "primary_category", "published", "code_urls",
                "project_urls", "submitted_by", "upvotes", "tldr", "author_count"}:  # fmt: skip
        assert after != before, name  # shown on the card


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Card) if f.name != "paper"])
def test_a_change_to_any_field_of_the_card_is_never_served_stale(env, name):
    base = Card(_paper(), comments=2, voted=False, score=0.5, parts={"age_hours": 1.0}, saved=False)
    before = _same(env, base, s=True, d=True, user={"name": "ada"})
    after = _same(env, dataclasses.replace(base, **{name: _changed(getattr(base, name))}), s=True, d=True,
                  user={"name": "ada"})  # fmt: skip
    assert after != before, name


def test_the_cache_keeps_at_most_its_size(env):
    cache = CardCache(size=3)
    macro = env.get_template("_macros.html").make_module({"user": None, "csrf_token": "t"}).card_body
    for i in range(10):
        cache(macro, Card(_paper(upvotes=i)), "/", False, False, None, "t")
    assert len(cache) == 3


def test_scores_key_a_kept_card_only_as_the_card_prints_them():
    """Search results carry scores they never show, and trending's scores move with the clock
    on every request: keyed by the raw floats, every such card was rendered anew."""
    env = make_templates(card_cache_size=64).env
    cache = env.globals["card_cache"]

    def render(score: float, age: float, s: bool) -> str:
        return _same(env, Card(_paper(), score=score, parts={"age_hours": age}), s=s)

    render(0.123456, 5.01, s=False)
    misses = cache.misses
    render(0.987654, 7.0, s=False)  # a search hit: the score is not shown
    assert cache.misses == misses
    shown = render(0.12345671, 5.01, s=True)
    assert "score 0.1235" in shown and "age 5.0 h" in shown
    misses = cache.misses
    assert render(0.12345678, 5.04, s=True) == shown  # prints the same: kept
    assert cache.misses == misses
    assert "score 0.1237" in render(0.1237, 5.04, s=True)  # prints differently: rendered
    assert cache.misses == misses + 1
