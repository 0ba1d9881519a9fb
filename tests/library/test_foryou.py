"""The "For you" list (ranking/foryou.py) on both backends, over the demo corpus."""

from __future__ import annotations

from datetime import date

import pytest

from paperboard.models import Paper
from paperboard.ranking.foryou import MIN_POSITIVES, for_you
from paperboard.sources import demo

DAY = date(2025, 11, 3)  # every demo paper's feed day


@pytest.fixture
def store(tmp_store):
    tmp_store.upsert_papers([p for p in demo.read() if isinstance(p, Paper)])
    return tmp_store


def _ids(store, words: str) -> list[str]:
    from paperboard.search.query import parse_query

    return [h.paper.id for h in store.keyword_search(parse_query(words), None, limit=20, match="any")]


def test_cold_start_shows_trending_without_what_the_user_marked(store):
    ada = store.create_user("ada", "x").id
    saved = _ids(store, "robot")[0]
    store.save_paper(ada, saved)
    result = for_you(store, ada, start=DAY, end=DAY, limit=10)
    assert result.cold and result.positives == 1 and len(result.picks) == 10
    assert saved not in [p.paper.id for p in result.picks]
    assert all(p.reason.startswith("trending") and p.score is None for p in result.picks)
    ranked = [p.paper.upvotes for p in result.picks]
    assert ranked == sorted(ranked, reverse=True)  # trending: the most upvoted of a one-day period


def test_three_positives_turn_on_the_personal_ranking_with_reasons(store):
    ada = store.create_user("ada", "x").id
    robots = _ids(store, "robot robotic manipulation locomotion")
    for pid in robots[: MIN_POSITIVES - 1]:
        store.save_paper(ada, pid)
    store.set_vote(ada, robots[MIN_POSITIVES - 1], True)  # an upvote counts as a positive too
    dismissed = robots[MIN_POSITIVES]
    store.dismiss_paper(ada, dismissed)
    result = for_you(store, ada, start=DAY, end=DAY, limit=100)
    assert not result.cold and result.positives == MIN_POSITIVES
    shown = [p.paper.id for p in result.picks]
    assert not set(shown) & set(robots[: MIN_POSITIVES + 1])  # positives and the dismissal never
    assert len(shown) == 71 - MIN_POSITIVES - 1 == len(set(shown))
    titles = {store.get_paper(pid).title: pid for pid in robots[:MIN_POSITIVES]}
    for pick in result.picks:
        assert pick.because in titles.values()
        assert titles_in(pick.reason, titles) and pick.reason.startswith("because you ")
    scores = [p.score for p in result.picks]
    assert scores == sorted(scores, reverse=True)
    # What the user likes ranks above what they do not: a robotics paper left in the pool
    # comes before the median paper.
    left = [pid for pid in robots[MIN_POSITIVES + 1 :] if pid in shown]
    assert left and min(shown.index(pid) for pid in left) < len(shown) // 2


def titles_in(reason: str, titles: dict[str, str]) -> bool:
    return any(f"“{t}”" in reason for t in titles)


def test_the_background_sample_is_even_and_visible_only(store):
    keys = store.paper_key_sample(10)
    assert 5 <= len(keys) <= 10 and keys == sorted(keys)
    hidden = store.papers_by_keys(keys[:1])
    store.set_hidden(next(iter(hidden.values())).id, True)
    assert keys[0] not in store.paper_key_sample(10)
