"""The "For you" ranking: what it must never return, what a dismissal does, and its reasons.

Synthetic papers in four topics: each topic has its own words and its own direction in a small
vector space, so a paper's text and vector agree on what it is about, as real ones do.
"""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from paperboard.models import Paper
from paperboard.ranking import recommend as rec
from paperboard.ranking.recommend import Profile, StoreFeatures, recommend

TOPICS = ["quantum", "vision", "robots", "language"]
TOPIC_WORDS = 40
"""Each topic draws from its own 40 words ("quantum0" ... "quantum39"), so no single word is in
more than a tenth of the papers: commoner words are dropped as uninformative (``MAX_DF``)."""
FILLER = "study evaluate experiment dataset analysis performance baseline improve".split()
DIM = 24


class Features:
    """An in-memory ``FeatureSource``; ``calls`` counts reads, to see caching work."""

    def __init__(
        self, vectors: dict[int, np.ndarray], texts: dict[int, str], cache_key: object = None
    ):
        self._v, self._t = vectors, texts
        if cache_key is not None:
            self.cache_key = cache_key
        self.calls = 0

    def vectors(self, keys):
        self.calls += 1
        return {k: self._v[k] for k in keys if k in self._v}

    def texts(self, keys):
        return {k: self._t[k] for k in keys if k in self._t}


def corpus(per_topic: int = 30, seed: int = 0):
    """key -> topic, plus the features: keys 1.. in topic order."""
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    directions = {t: rng.normal(size=DIM) for t in TOPICS}
    topic_of, vectors, texts = {}, {}, {}
    key = 0
    for topic in TOPICS:
        words = [f"{topic}{i}" for i in range(TOPIC_WORDS)]
        for _ in range(per_topic):
            key += 1
            topic_of[key] = topic
            v = directions[topic] + 0.6 * rng.normal(size=DIM)
            vectors[key] = (v / np.linalg.norm(v)).astype(np.float32)
            texts[key] = " ".join(pyrng.choices(words, k=8) + pyrng.choices(FILLER, k=8))
    return topic_of, vectors, texts


@pytest.fixture(autouse=True)
def fresh_caches():
    rec.clear_caches()
    yield
    rec.clear_caches()


def keys_of(topic_of, topic):
    return [k for k, t in topic_of.items() if t == topic]


def test_ranks_papers_on_the_saved_topic_first():
    topic_of, vectors, texts = corpus()
    saved = keys_of(topic_of, "robots")[:5]
    pool = [k for k in topic_of if k not in saved]
    got = recommend(Features(vectors, texts), Profile({k: 1.0 for k in saved}), pool, limit=20)
    assert len(got) == 20
    assert [topic_of[r.key] for r in got] == ["robots"] * 20
    assert all(a.score >= b.score for a, b in zip(got, got[1:], strict=False))


def test_saved_and_dismissed_papers_are_never_recommended():
    topic_of, vectors, texts = corpus()
    saved = keys_of(topic_of, "vision")[:6]
    dismissed = set(keys_of(topic_of, "vision")[6:9]) | {keys_of(topic_of, "quantum")[0]}
    pool = list(topic_of)  # the pool holds them all
    profile = Profile({k: 1.0 for k in saved}, dismissed)
    got = recommend(Features(vectors, texts), profile, pool, limit=len(pool))
    returned = {r.key for r in got}
    assert not returned & set(saved)
    assert not returned & dismissed
    assert returned == set(pool) - set(saved) - dismissed


def test_a_paper_both_saved_and_dismissed_counts_as_saved_and_is_not_returned():
    topic_of, vectors, texts = corpus()
    k = keys_of(topic_of, "vision")[0]
    got = recommend(Features(vectors, texts), Profile({k: 1.0}, {k}), list(topic_of), limit=200)
    assert k not in {r.key for r in got}
    assert topic_of[got[0].key] == "vision"


def test_dismissing_a_paper_moves_papers_like_it_down():
    topic_of, vectors, texts = corpus()
    saved = keys_of(topic_of, "quantum")[:4] + keys_of(topic_of, "language")[:4]
    pool = [k for k in topic_of if k not in saved]
    features = Features(vectors, texts)
    before = [
        r.key for r in recommend(features, Profile({k: 1.0 for k in saved}), pool, limit=len(pool))
    ]
    language = [k for k in keys_of(topic_of, "language") if k in pool]
    dismissed = language[0]
    after_profile = Profile({k: 1.0 for k in saved}, {dismissed})
    after = [r.key for r in recommend(features, after_profile, pool, limit=len(pool))]
    like_it = [k for k in language if k != dismissed]
    rank_before = np.mean([before.index(k) for k in like_it])
    rank_after = np.mean([after.index(k) for k in like_it])
    assert rank_after > rank_before + 5
    quantum = [k for k in keys_of(topic_of, "quantum") if k in pool]
    assert np.mean([after.index(k) for k in quantum]) < np.mean([before.index(k) for k in quantum])


def test_because_is_the_nearest_positive_by_plain_cosine():
    topic_of, vectors, texts = corpus()
    saved = keys_of(topic_of, "robots")[:3] + keys_of(topic_of, "vision")[:3]
    pool = [k for k in topic_of if k not in saved]
    got = recommend(Features(vectors, texts), Profile({k: 1.0 for k in saved}), pool, limit=30)
    for r in got:
        nearest = max(saved, key=lambda p: float(vectors[p] @ vectors[r.key]))
        assert r.because == nearest


def test_heavier_positives_pull_their_topic_ahead():
    topic_of, vectors, texts = corpus()
    robots, vision = keys_of(topic_of, "robots")[:3], keys_of(topic_of, "vision")[:3]
    pool = [k for k in topic_of if k not in robots + vision]
    features = Features(vectors, texts)

    def top_topics(weights):
        got = recommend(features, Profile(weights), pool, limit=10)
        return [topic_of[r.key] for r in got]

    claimed_robots = {
        **{k: rec.POSITIVE_WEIGHTS["claimed"] for k in robots},
        **{k: 0.5 for k in vision},
    }
    claimed_vision = {
        **{k: 0.5 for k in robots},
        **{k: rec.POSITIVE_WEIGHTS["claimed"] for k in vision},
    }
    assert top_topics(claimed_robots).count("robots") > 5
    assert top_topics(claimed_vision).count("vision") > 5


def test_no_positives_no_pool_or_no_room_mean_no_recommendations():
    topic_of, vectors, texts = corpus()
    features = Features(vectors, texts)
    pool = list(topic_of)
    assert recommend(features, Profile(), pool, limit=10) == []
    assert recommend(features, Profile({}, {1, 2}), pool, limit=10) == []
    assert recommend(features, Profile({1: 1.0}), [], limit=10) == []
    assert recommend(features, Profile({1: 1.0}), [1], limit=10) == []
    assert recommend(features, Profile({1: 1.0}), pool, limit=0) == []
    assert (
        recommend(features, Profile({1: 0.0}), pool, limit=10) == []
    )  # a zero weight is no signal


def test_a_single_positive_is_enough_to_rank():
    topic_of, vectors, texts = corpus()
    one = keys_of(topic_of, "language")[0]
    got = recommend(Features(vectors, texts), Profile({one: 1.0}), list(topic_of), limit=10)
    assert [topic_of[r.key] for r in got].count("language") >= 8
    assert all(r.because == one for r in got)


def test_papers_without_vectors_are_ranked_by_their_words():
    topic_of, vectors, texts = corpus()
    saved = keys_of(topic_of, "robots")[:5]
    unembedded = keys_of(topic_of, "robots")[5:10] + keys_of(topic_of, "vision")[:5]
    partial = {k: v for k, v in vectors.items() if k not in unembedded and k != saved[0]}
    pool = [k for k in topic_of if k not in saved]
    got = recommend(
        Features(partial, texts), Profile({k: 1.0 for k in saved}), pool, limit=len(pool)
    )
    order = [r.key for r in got]
    assert set(order) == set(pool)
    robots_without = [order.index(k) for k in unembedded if topic_of[k] == "robots"]
    vision_without = [order.index(k) for k in unembedded if topic_of[k] == "vision"]
    assert max(robots_without) < min(vision_without)
    assert all(r.because in saved[1:] for r in got if r.key not in unembedded)
    assert all(r.because in saved for r in got if r.key in unembedded[:5])


def test_papers_with_neither_vector_nor_text_are_kept_but_ranked_last():
    topic_of, vectors, texts = corpus()
    saved = keys_of(topic_of, "robots")[:5]
    ghost = 10_000
    pool = [k for k in topic_of if k not in saved] + [ghost]
    got = recommend(
        Features(vectors, texts), Profile({k: 1.0 for k in saved}), pool, limit=len(pool)
    )
    order = [r.key for r in got]
    assert ghost in order
    assert order.index(ghost) > max(
        order.index(k) for k in keys_of(topic_of, "robots") if k in pool
    )
    assert next(r for r in got if r.key == ghost).because is None


def test_a_bare_vectors_callable_ranks_by_meaning_alone():
    topic_of, vectors, _ = corpus()
    saved = keys_of(topic_of, "quantum")[:4]
    pool = [k for k in topic_of if k not in saved]
    got = recommend(
        lambda keys: {k: vectors[k] for k in keys}, Profile({k: 1.0 for k in saved}), pool, limit=15
    )
    assert [topic_of[r.key] for r in got] == ["quantum"] * 15


def test_text_only_sources_rank_by_words():
    topic_of, _, texts = corpus()
    saved = keys_of(topic_of, "vision")[:4]
    pool = [k for k in topic_of if k not in saved]
    got = recommend(Features({}, texts), Profile({k: 1.0 for k in saved}), pool, limit=15)
    assert [topic_of[r.key] for r in got].count("vision") >= 14


def test_a_background_sample_is_used_and_its_statistics_cached():
    topic_of, vectors, texts = corpus()
    saved = keys_of(topic_of, "robots")[:4]
    pool = [k for k in topic_of if k not in saved][::2]
    background = rec.background_sample(list(topic_of), size=50)
    assert background == rec.background_sample(list(reversed(topic_of)), size=50)
    assert len(background) == 50
    features = Features(vectors, texts, cache_key="test")
    first = recommend(
        features, Profile({k: 1.0 for k in saved}), pool, limit=10, background=background
    )
    calls = features.calls
    second = recommend(
        features, Profile({k: 1.0 for k in saved}), pool, limit=10, background=background
    )
    assert first == second
    assert features.calls == calls + 1  # only the profile's vectors are read again
    assert [topic_of[r.key] for r in first].count("robots") >= 9


def test_boost_adds_to_the_fused_score():
    topic_of, vectors, texts = corpus()
    saved = keys_of(topic_of, "robots")[:4]
    pool = [k for k in topic_of if k not in saved]
    lifted = keys_of(topic_of, "language")[3]
    got = recommend(
        Features(vectors, texts),
        Profile({k: 1.0 for k in saved}),
        pool,
        limit=5,
        boost={lifted: 100.0},
    )
    assert got[0].key == lifted


def test_paper_terms_keep_word_pairs():
    terms = rec.paper_terms("Diffusion policies for robot grasping")
    assert terms["diffusion policy"] == 1
    assert terms["robot"] == 1
    assert "for" not in terms


def test_store_features_read_a_real_store(tmp_store):
    topic_of, vectors, texts = corpus(per_topic=8)
    ids = {k: f"2601.{k:05d}" for k in topic_of}
    tmp_store.upsert_papers(
        [
            Paper(id=ids[k], title=texts[k][:40], abstract=texts[k], feed_day="2026-01-05")
            for k in topic_of
        ]
    )
    key_of = tmp_store.paper_keys(list(ids.values()))
    keys = [key_of[ids[k]] for k in topic_of]
    tmp_store.put_vectors(rec.MODEL, keys, np.asarray([vectors[k] for k in topic_of], np.float32))
    topic = {key_of[ids[k]]: t for k, t in topic_of.items()}
    saved = [k for k in keys if topic[k] == "language"][:3]
    pool = [k for k in keys if k not in saved]
    got = recommend(StoreFeatures(tmp_store), Profile({k: 1.0 for k in saved}), pool, limit=5)
    assert [topic[r.key] for r in got] == ["language"] * 5
    assert all(r.because in saved for r in got)


def test_beats_random_on_real_authors_by_words_alone(shared_dir):
    """Author continuation on three months of the shared listing, words only (no vectors
    needed): the same protocol as bench/recommend.py, small enough for a test."""
    from collections import defaultdict

    from paperboard.models import RecordError
    from paperboard.sources import arxiv_daily

    first, text, authors = {}, {}, {}
    for item in arxiv_daily.read(
        shared_dir / "data" / "arxiv-daily", since=date(2026, 1, 1), until=date(2026, 2, 14)
    ):
        if isinstance(item, RecordError):
            continue
        first.setdefault(item.id, item.feed_day)
        text[item.id] = f"{item.title}\n{item.abstract}"
        authors[item.id] = item.authors
    ids = sorted(first)
    key = {i: n for n, i in enumerate(ids)}
    split = date(2026, 2, 1)
    before, after = defaultdict(list), defaultdict(list)
    for i in ids:
        for a in set(authors[i]):
            (after if first[i] >= split else before)[a].append(key[i])
    people = sorted(a for a in after if len(after[a]) >= 2 and len(before[a]) >= 3)[:30]
    assert len(people) >= 10
    pool = [key[i] for i in ids if first[i] >= split]
    features = Features({}, {key[i]: text[i] for i in ids}, cache_key="shared")
    recall = []
    for a in people:
        got = {
            r.key for r in recommend(features, Profile({k: 1.0 for k in before[a]}), pool, limit=50)
        }
        recall.append(len(got & set(after[a])) / len(after[a]))
    assert np.mean(recall) > 5 * 50 / len(pool)
