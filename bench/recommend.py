"""Recommendations: does "For you" find what a researcher writes next?

Author continuation on ``../shared/data/arxiv-daily``. A paper is *first announced* on the day
of the first daily listing that holds its id (later listings of the same id are updates; the
arXiv id's month is the submission month, not the announcement). Every author with >= 5 papers
first announced before 2026-03-01 and >= 2 in March 2026 is one user: the earlier papers are
their saves (the profile), the pool is every paper first announced in March 2026, and their
March papers are the targets. No method sees author names, except the one row that says so.

Side by side, in one run, recall@50, recall@300 and nDCG@10 of
- random; trending (upvotes: the listing carries none, so this is random with a tie-break);
- the centroid of the profile's TF-IDF vectors;
- arxiv-sanity-lite's per-user SVM with its own settings (sklearn TF-IDF over title + abstract,
  1-2-grams, 20,000 features, min_df 5, max_df 0.1, sublinear tf; ``LinearSVC(C=0.01,
  class_weight="balanced", max_iter=10000, tol=1e-6)``, profile papers 1 and every other paper
  of the corpus 0 — its ``compute.py`` also appends author names, left out here by the rule);
- Paperboard's ``ranking.recommend`` (numpy only), and the same with a boost for papers by
  frequent co-authors from the profile (what following people would add).
The SVM takes seconds per user on 54k papers, so all methods are compared on one seeded
sample of users; every method but the SVM is also reported on all users and on the two
halves of the author split (weights were tuned on the first half only).

Then the latency of one user's ranking against the real SQLite store (vectors and texts read
through ``StoreFeatures``), per day's pool and per 3,000-paper pool (a week of a busier feed),
and a constructed profile showing that a dismissal moves papers like it down.

    .venv/bin/python bench/recommend.py                # 10-15 minutes, half of it the SVM
    .venv/bin/python bench/recommend.py --svm-users 50 # quicker, noisier
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.lib.corpus import CORPUS, prepared_75k  # noqa: E402
from paperboard.models import RecordError  # noqa: E402
from paperboard.ranking import recommend as rec  # noqa: E402
from paperboard.sources import arxiv_daily  # noqa: E402
from paperboard.store import open_store  # noqa: E402

POOL_START, POOL_END = date(2026, 3, 1), date(2026, 4, 1)
MIN_PROFILE, MIN_TARGETS = 5, 2
SPLIT_SEED, SAMPLE_SEED = 11, 7
ABLATIONS = {
    "  - words only": {"DENSE_WEIGHT": 0.0},
    "  - meaning only (whitened MiniLM)": {"LEXICAL_WEIGHT": 0.0},
    "  - without the hubness correction": {"HUB_WEIGHT": 0.0},
}
"""Paperboard with one part switched off, on the sample only (what each part adds)."""
FOLLOW_BOOST = 1.0
"""Bench-only: pool standard deviations added for a paper by someone the user would follow
(an author on >= 2 of their profile papers, themselves excluded)."""


@dataclass
class Corpus:
    ids: list[str]  # every paper first announced before POOL_END, by first day
    first: dict[str, date]
    text: dict[str, str]
    authors: dict[str, list[str]]
    keys: dict[str, int] = field(default_factory=dict)

    @property
    def pool(self) -> list[str]:
        return [i for i in self.ids if self.first[i] >= POOL_START]


def load_corpus(path: Path) -> Corpus:
    """Each id's first listing day; title, abstract and authors as last listed (what the
    store holds, so texts match the stored vectors)."""
    first: dict[str, date] = {}
    text: dict[str, str] = {}
    authors: dict[str, list[str]] = {}
    for item in arxiv_daily.read(path, until=date.fromordinal(POOL_END.toordinal() - 1)):
        if isinstance(item, RecordError):
            continue
        first.setdefault(item.id, item.feed_day)
        text[item.id] = f"{item.title}\n{item.abstract}"
        authors[item.id] = list(item.authors)
    ids = sorted(first, key=lambda i: (first[i], i))
    return Corpus(ids, first, text, authors)


@dataclass
class User:
    name: str
    profile: list[str]
    targets: list[str]


def users_of(c: Corpus) -> list[User]:
    before, during = defaultdict(list), defaultdict(list)
    for i in c.ids:
        side = during if c.first[i] >= POOL_START else before
        for a in set(c.authors[i]):
            side[a].append(i)
    names = sorted(
        a for a in during if len(during[a]) >= MIN_TARGETS and len(before[a]) >= MIN_PROFILE
    )
    return [User(a, before[a], during[a]) for a in names]


# --- metrics --------------------------------------------------------------------------------


def metrics(ranked: list[str], targets: set[str]) -> tuple[float, float, float]:
    """recall@50, recall@300, nDCG@10 (binary gains) of one user's ranking."""
    rank = {p: r for r, p in enumerate(ranked[:300])}
    hits = [rank[t] for t in targets if t in rank]
    dcg = sum(1 / np.log2(r + 2) for r in hits if r < 10)
    ideal = sum(1 / np.log2(r + 2) for r in range(min(len(targets), 10)))
    n = len(targets)
    return sum(r < 50 for r in hits) / n, sum(r < 300 for r in hits) / n, dcg / ideal


def mean(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    a = np.asarray(rows, float)
    return tuple(a.mean(0)) if len(a) else (float("nan"),) * 3


# --- methods --------------------------------------------------------------------------------


def order_by(scores: np.ndarray, pool: list[str], rng: random.Random) -> list[str]:
    tie = np.array([rng.random() for _ in pool])
    return [pool[i] for i in np.lexsort((tie, -scores))]


class Baselines:
    """The arxiv-sanity-lite features (sklearn, test extra only) for the SVM and the centroid."""

    def __init__(self, c: Corpus) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(
            input="content",
            encoding="utf-8",
            decode_error="replace",
            strip_accents="unicode",
            lowercase=True,
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=20000,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
        )
        self.row = {i: n for n, i in enumerate(c.ids)}
        self.x = (
            vec.fit_transform([c.text[i].replace("\n", " ") for i in c.ids])
            .astype(np.float32)
            .tocsr()
        )
        self.pool_rows = np.array([self.row[i] for i in c.pool])

    def centroid(self, u: User) -> np.ndarray:
        center = np.asarray(self.x[[self.row[i] for i in u.profile]].mean(0)).ravel()
        return self.x[self.pool_rows] @ center

    def svm(self, u: User) -> np.ndarray:
        from sklearn.svm import LinearSVC

        y = np.zeros(self.x.shape[0], np.float32)
        y[[self.row[i] for i in u.profile]] = 1.0
        clf = LinearSVC(class_weight="balanced", verbose=False, max_iter=10000, tol=1e-6, C=0.01)
        clf.fit(self.x, y)
        return clf.decision_function(self.x[self.pool_rows])


class MemoryFeatures:
    """The store's vectors and texts held in memory, so quality runs do not time SQLite."""

    cache_key = "bench-memory"

    def __init__(self, vectors: dict[int, np.ndarray], texts: dict[int, str]) -> None:
        self._v, self._t = vectors, texts

    def vectors(self, keys: list[int]) -> dict[int, np.ndarray]:
        return {k: self._v[k] for k in keys if k in self._v}

    def texts(self, keys: list[int]) -> dict[int, str]:
        return {k: self._t[k] for k in keys if k in self._t}


def followed(u: User, c: Corpus) -> set[str]:
    counts = Counter(a for i in u.profile for a in set(c.authors[i]) if a != u.name)
    return {a for a, n in counts.items() if n >= 2}


# --- runs -----------------------------------------------------------------------------------


def quality(args, c: Corpus, users: list[User], store) -> dict[str, dict[str, tuple]]:
    log = print
    pool = c.pool
    key_of, id_of = c.keys, {k: i for i, k in c.keys.items()}
    pool_keys = [key_of[i] for i in pool]
    background = rec.background_sample([key_of[i] for i in c.ids if c.first[i] < POOL_START])
    t = time.perf_counter()
    vectors: dict[int, np.ndarray] = {}
    wanted = set(key_of.values())
    for batch in store.iter_vectors(rec.MODEL):
        for k, v in zip(batch.keys.tolist(), batch.vectors, strict=True):
            if k in wanted:
                vectors[k] = v
    feats = MemoryFeatures(vectors, {key_of[i]: c.text[i] for i in c.ids})
    upvotes = {k: p.upvotes for k, p in store.papers_by_keys(pool_keys).items()}
    log(
        f"  vectors of {len(vectors):,} papers, upvotes of the pool ({sum(v > 0 for v in upvotes.values())} nonzero) in {time.perf_counter() - t:.0f}s"
    )

    t = time.perf_counter()
    base = Baselines(c)
    log(f"  arxiv-sanity-lite TF-IDF {base.x.shape} in {time.perf_counter() - t:.0f}s")

    shuffled = users[:]
    random.Random(SPLIT_SEED).shuffle(shuffled)
    tune = {u.name for u in shuffled[: len(shuffled) // 2]}
    sample = {
        u.name for u in random.Random(SAMPLE_SEED).sample(users, min(args.svm_users, len(users)))
    }

    results: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))

    def record(method: str, u: User, ranked: list[str]) -> None:
        m = metrics(ranked, set(u.targets))
        results[method]["all"].append(m)
        results[method]["tune" if u.name in tune else "held-out"].append(m)
        if u.name in sample:
            results[method]["sample"].append(m)

    t = time.perf_counter()
    for n, u in enumerate(users):
        rng = random.Random(f"{SAMPLE_SEED}:{u.name}")
        record("random", u, order_by(np.zeros(len(pool)), pool, rng))
        ups = np.array([upvotes.get(key_of[i], 0) for i in pool], float)
        record("trending (upvotes)", u, order_by(ups, pool, rng))
        record("TF-IDF centroid", u, order_by(base.centroid(u), pool, rng))
        profile = rec.Profile(positives={key_of[i]: 1.0 for i in u.profile})
        got = rec.recommend(feats, profile, pool_keys, limit=300, background=background)
        record("Paperboard", u, [id_of[r.key] for r in got])
        follow = followed(u, c)
        boost = {key_of[i]: FOLLOW_BOOST for i in pool if follow.intersection(c.authors[i])}
        got = rec.recommend(
            feats, profile, pool_keys, limit=300, background=background, boost=boost
        )
        record("Paperboard + followed co-authors (uses names)", u, [id_of[r.key] for r in got])
        if (n + 1) % 500 == 0:
            log(f"  {n + 1}/{len(users)} users ranked ({time.perf_counter() - t:.0f}s)")

    for name, setting in ABLATIONS.items():
        saved = {k: getattr(rec, k) for k in setting}
        for k, v in setting.items():
            setattr(rec, k, v)
        try:
            for u in users:
                if u.name in sample:
                    profile = rec.Profile(positives={key_of[i]: 1.0 for i in u.profile})
                    got = rec.recommend(feats, profile, pool_keys, limit=300, background=background)
                    record(name, u, [id_of[r.key] for r in got])
        finally:
            for k, v in saved.items():
                setattr(rec, k, v)

    t = time.perf_counter()
    done = 0
    for u in users:
        if u.name in sample:
            record("arxiv-sanity-lite SVM", u, order_by(base.svm(u), pool, random.Random(u.name)))
            done += 1
            if done % 25 == 0:
                log(f"  SVM {done}/{len(sample)} users ({time.perf_counter() - t:.0f}s)")
    return {
        m: {k: mean(v) for k, v in parts.items()} | {"n": {k: len(v) for k, v in parts.items()}}
        for m, parts in results.items()
    }


def latency(c: Corpus, store) -> dict[str, tuple[float, float, float]]:
    """Milliseconds per user ranking against the SQLite store; the first call on a pool pays
    for tokenising and whitening it (reported as "cold"), later users reuse it."""
    rec.clear_caches()
    feats = rec.StoreFeatures(store)
    key_of = c.keys
    background = rec.background_sample([key_of[i] for i in c.ids if c.first[i] < POOL_START])
    users = users_of(c)
    rng = random.Random(3)
    by_day = defaultdict(list)
    for i in c.pool:
        by_day[c.first[i]].append(key_of[i])
    days = [d for d in sorted(by_day) if len(by_day[d]) >= 100]
    pools = {
        "day": [by_day[d] for d in days],
        "3,000 papers": [[key_of[i] for i in c.pool[s : s + 3000]] for s in (0, 3000)],
    }
    t = time.perf_counter()
    rec.recommend(
        feats,
        rec.Profile({key_of[users[0].profile[0]]: 1.0}),
        pools["day"][0],
        limit=1,
        background=background,
    )
    stats_ms = (time.perf_counter() - t) * 1000
    out = {}
    for name, ps in pools.items():
        cold, warm = [], []
        for pool in ps:
            for j in range(60 if name == "day" else 150):
                u = rng.choice(users)
                profile = rec.Profile({key_of[i]: 1.0 for i in u.profile})
                t = time.perf_counter()
                rec.recommend(feats, profile, pool, limit=50, background=background)
                (warm if j else cold).append((time.perf_counter() - t) * 1000)
        sizes = [len(p) for p in ps]
        out[name] = (
            np.percentile(warm, 50),
            np.percentile(warm, 99),
            np.median(cold),
            min(sizes),
            max(sizes),
            len(warm),
        )
    out["background"] = stats_ms
    return out


def dismissal_demo(c: Corpus, users: list[User], store) -> list[str]:
    """One user's ranking of one day; dismiss the top paper; where do the ten papers most like
    it (plain cosine, among the day's papers) go?"""
    rec.clear_caches()
    feats = rec.StoreFeatures(store)
    key_of = c.keys
    background = rec.background_sample([key_of[i] for i in c.ids if c.first[i] < POOL_START])
    day = date(2026, 3, 17)
    pool = [key_of[i] for i in c.pool if c.first[i] == day]
    u = next(u for u in users if len(u.profile) >= 10)
    profile = rec.Profile({key_of[i]: 1.0 for i in u.profile})
    before = [
        r.key for r in rec.recommend(feats, profile, pool, limit=len(pool), background=background)
    ]
    gone = before[0]
    vecs = store.get_vectors(rec.MODEL, pool)
    v = vecs[gone]
    like = sorted((k for k in pool if k != gone and k in vecs), key=lambda k: -float(vecs[k] @ v))[
        :10
    ]
    profile.negatives.add(gone)
    after = [
        r.key for r in rec.recommend(feats, profile, pool, limit=len(pool), background=background)
    ]
    rb = [before.index(k) + 1 for k in like]
    ra = [after.index(k) + 1 for k in like]
    title = store.papers_by_keys([gone])[gone].title
    return [
        f"constructed profile: {len(u.profile)} papers of one author; pool: the {len(pool)} papers of {day}",
        f"dismissed the top recommendation: {title[:80]!r}",
        f"  dismissed paper in the new ranking: {'yes' if gone in after else 'no'}",
        f"  the 10 papers most like it: median rank {np.median(rb):.0f} -> {np.median(ra):.0f}; moved down {sum(a > b for a, b in zip(ra, rb, strict=True))}/10",
        f"  ranks before: {rb}",
        f"  ranks after:  {ra}",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument(
        "--svm-users", type=int, default=400, help="seeded sample every method is compared on"
    )
    ap.add_argument("--users", type=int, default=0, help="limit the users (0: all; for quick runs)")
    args = ap.parse_args()
    if not args.corpus.exists():
        sys.exit(f"no corpus at {args.corpus}")
    started = time.perf_counter()
    data_dir = prepared_75k()
    store = open_store(f"sqlite:///{data_dir / 'paperboard.db'}", migrate=False)
    c = load_corpus(args.corpus)
    c.keys = store.paper_keys(c.ids)
    c.ids = [i for i in c.ids if i in c.keys]
    users = users_of(c)
    if args.users:
        users = random.Random(SAMPLE_SEED).sample(users, args.users)
    print(
        f"corpus: {len(c.ids):,} papers first announced up to {POOL_END} ({len(c.pool):,} in March 2026 = the pool); "
        f"{len(users):,} users (>= {MIN_PROFILE} papers before, >= {MIN_TARGETS} in March)"
    )
    res = quality(args, c, users, store)
    res.setdefault("arxiv-sanity-lite SVM", {"n": {}})
    n_sample = res["arxiv-sanity-lite SVM"]["n"].get("sample", 0)
    print()
    print(f"Author continuation: recall@50, recall@300, nDCG@10 (pool {len(c.pool):,} papers)")
    n_tune = res["Paperboard"]["n"].get("tune", 0)
    n_held = res["Paperboard"]["n"].get("held-out", 0)
    groups = [f"sample of {n_sample} users", f"all {len(users)} users"]
    groups += [f"tune half ({n_tune})", f"held-out half ({n_held})"]
    head = f"{'method':46s} | " + " | ".join(f"{g:^23s}" for g in groups)
    print(head)
    print(f"{'':46s} | " + " | ".join(f"{'R@50':>7s} {'R@300':>7s} {'nDCG10':>7s}" for _ in groups))
    print("-" * len(head))
    order = [
        "random",
        "trending (upvotes)",
        "TF-IDF centroid",
        "arxiv-sanity-lite SVM",
        "Paperboard",
        *ABLATIONS,
        "Paperboard + followed co-authors (uses names)",
    ]
    for m in order:
        cells = []
        for part in ("sample", "all", "tune", "held-out"):
            if (m == "arxiv-sanity-lite SVM" or m in ABLATIONS) and part != "sample":
                cells.append(f"{'(sample only)':^23s}")
            else:
                cells.append(" ".join(f"{x:7.3f}" for x in res[m].get(part, (np.nan,) * 3)))
        print(f"{m:46s} | " + " | ".join(cells))
    svm, ours = res["arxiv-sanity-lite SVM"].get("sample"), res["Paperboard"].get("sample")
    if svm and ours:
        print(
            f"\nPaperboard / SVM on the same {n_sample} users: recall@50 {ours[0] / svm[0]:.2f}x, "
            f"recall@300 {ours[1] / svm[1]:.2f}x, nDCG@10 {ours[2] / svm[2]:.2f}x (target >= 1.2x on recall@50 and nDCG@10)"
        )
    lat = latency(c, store)
    print(
        "\nLatency of one user's ranking (SQLite store, vectors and texts read per call; profile = a random user's papers)"
    )
    for name in ("day", "3,000 papers"):
        p50, p99, cold, lo, hi, n = lat[name]
        size = f"{lo}-{hi}" if lo != hi else f"{lo}"
        print(
            f"  per user-{name:13s} pool {size:>9s}: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({n} calls; first call on a new pool {cold:.0f} ms)"
        )
    print(f"  background statistics (2,000 papers, once per process): {lat['background']:.0f} ms")
    print("\nDismissal")
    for line in dismissal_demo(c, users_of(c), store):
        print("  " + line)
    print(f"\n(total {time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
