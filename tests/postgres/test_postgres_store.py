"""PostgreSQL-specific behaviour: migrations, parity with SQLite, concurrency across processes.

The behaviour both backends share is tested once, in the suite parametrized over backends
(tests built on ``tmp_store``); here is what only PostgreSQL has: several processes writing
at once, transactional DDL, and row-for-row agreement with the SQLite backend.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
from datetime import date

import pytest

from paperboard.ids import local_id_for_title
from paperboard.models import Paper
from paperboard.search.query import parse_query
from paperboard.store import PaperQuery, StoreError, open_store
from paperboard.store.postgres import PostgresStore
from paperboard.store.postgres import migrations as pg_migrations
from paperboard.store.sqlite import migrations as sqlite_migrations
from tests.spine.corpus import snapshot

WORDS = "diffusion policy language model graph neural robot vision sparse attention protein".split()


def _records(seed: int, n: int = 60) -> list[Paper]:
    """Versions, re-listings, imported upvotes and seed cards that merge by title."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        title = " ".join(rng.sample(WORDS, 4)).title() + f" {i}"
        # Known limit of the merge rules (see the closing note): a seed card is matched by its
        # title as it is *now*, so papers with a seed card keep one title here.
        seeded = i % 7 == 0
        for v in range(1, rng.randint(1, 3) + 1):
            out.append(
                Paper(
                    id=f"2506.{i:05d}", title=title if v < 3 or seeded else title + " revised", version=v,
                    abstract=" ".join(rng.choice(WORDS) for _ in range(30)),
                    authors=[f"Author {rng.randint(1, 20)}" for _ in range(rng.randint(1, 4))],
                    categories=rng.sample(["cs.CL", "cs.CV", "cs.LG", "cs.RO"], 2),
                    feed_day=date(2025, 6, rng.randint(2, 20)), upvotes=rng.randint(0, 9),
                    organization=rng.choice([None, "Lab", "Meta"]),
                    code_urls=rng.sample(["https://github.com/a/x", "https://github.com/b/y"], rng.randint(0, 2)),
                )
            )  # fmt: skip
        if seeded:  # a seed card of the same paper, before or after its arXiv record
            out.append(Paper(id=local_id_for_title(title), title=title, feed_day=date(2025, 6, 1),
                             upvotes=rng.randint(0, 20), organization="Seed Org"))  # fmt: skip
    return out


def _ingest(url: str, records: list[Paper], seed: int, batch: int = 9) -> None:
    records = list(records)
    random.Random(seed).shuffle(records)
    store = open_store(url)
    try:
        for i in range(0, len(records), batch):
            store.upsert_papers(records[i : i + batch])
    finally:
        store.close()


def test_postgres_migrations_mirror_sqlite_numbers():
    """Both backends describe the same schema versions (a new SQLite migration needs its twin)."""
    assert [v for v, _, _ in pg_migrations.available()] == [v for v, _, _ in sqlite_migrations.available()]


def test_fresh_database_migrates_once_and_upgrades_in_place(pg_databases, monkeypatch):
    all_migrations = pg_migrations.available()
    with pg_databases.database(migrated=False) as url:
        monkeypatch.setattr(pg_migrations, "available", lambda: all_migrations[:1])
        with PostgresStore(url) as old:
            assert old.schema_version() == 0
            assert old.migrate() == ["0001_papers"]
            with old._db.transaction() as conn:  # a row as the first release's code wrote it
                conn.execute(
                    "INSERT INTO papers (id, title, title_key, feed_day, organization, ingested_at)"
                    " VALUES ('2506.00001', 'Kept across upgrades', 'kept across upgrades', '2025-06-02', 'Lab',"
                    " now())"
                )
        monkeypatch.setattr(pg_migrations, "available", lambda: all_migrations)
        with PostgresStore(url) as store:
            applied = store.migrate()
            assert [a.split("_")[0] for a in applied] == [f"{v:04d}" for v, _, _ in all_migrations[1:]]
            assert store.schema_version() == all_migrations[-1][0]
            assert store.migrate() == []
            assert store.get_paper("2506.00001").title == "Kept across upgrades"
            store.upsert_papers([Paper(id="2506.00001", version=2, title="Revised", feed_day="2025-06-03")])
            got = store.get_paper("2506.00001")
            assert (got.title, got.organization) == ("Revised", "Lab")


def test_failing_migration_leaves_previous_version(pg_databases, monkeypatch):
    good = pg_migrations.available()
    bad = (good[-1][0] + 1, "broken", "CREATE TABLE t_ok (x INTEGER);\nTHIS IS NOT SQL;")
    with pg_databases.database() as url, PostgresStore(url) as store:
        monkeypatch.setattr(pg_migrations, "available", lambda: [*good, bad])
        with pytest.raises(Exception, match="syntax"):
            store.migrate()
        assert store.schema_version() == good[-1][0]
        fixed = (bad[0], "fixed", "CREATE TABLE t_ok (x INTEGER);")  # t_ok was rolled back
        monkeypatch.setattr(pg_migrations, "available", lambda: [*good, fixed])
        assert store.migrate() == [f"{bad[0]:04d}_fixed"]


def test_concurrent_migrations_apply_each_file_once(pg_databases):
    with pg_databases.database(migrated=False) as url:
        results: list[list[str]] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with PostgresStore(url) as s:
                    results.append(s.migrate())
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert sorted(name for r in results for name in r) == sorted(
            f"{v:04d}_{n}" for v, n, _ in pg_migrations.available()
        )


def test_same_records_give_the_same_store_as_sqlite(pg_databases, tmp_path):
    records = _records(5)
    sqlite_url = f"sqlite:///{tmp_path / 'a.db'}"
    _ingest(sqlite_url, records, seed=1)
    with pg_databases.database() as pg_url:
        _ingest(pg_url, records, seed=1)
        with open_store(sqlite_url) as lite, open_store(pg_url) as pg:
            assert snapshot(pg) == snapshot(lite)
            assert pg.stats() == lite.stats()
            for q in (PaperQuery(), PaperQuery(sort="date", limit=500), PaperQuery(category="cs.CL"),
                      PaperQuery(organization="lab", start=date(2025, 6, 5), end=date(2025, 6, 12)),
                      PaperQuery(author="author 3"), PaperQuery(limit=7, offset=14)):  # fmt: skip
                assert [p.id for p in pg.list_papers(q)] == [p.id for p in lite.list_papers(q)], q
                assert pg.count_papers(q) == lite.count_papers(q)
            assert pg.feed_days() == lite.feed_days()
            assert pg.adjacent_days(date(2025, 6, 10)) == lite.adjacent_days(date(2025, 6, 10))
            for text in ("graph", '"neural robot"', "ti:protein -vision", "au:author", "policy cat:cs.RO"):
                q = parse_query(text)
                got = {h.paper.id for h in pg.keyword_search(q, limit=1000)}
                assert got == {h.paper.id for h in lite.keyword_search(q, limit=1000)}, text


def test_title_words_outrank_abstract_and_author_words(tmp_store_pg):
    tmp_store_pg.upsert_papers([
        Paper(id="2506.00001", title="Sparse attention", abstract="x", feed_day="2025-06-02"),
        Paper(id="2506.00002", title="Other", abstract="We use sparse attention.", feed_day="2025-06-02"),
        Paper(id="2506.00003", title="Third", abstract="y", authors=["Sparse Attention"], feed_day="2025-06-02"),
    ])  # fmt: skip
    hits = tmp_store_pg.keyword_search(parse_query("sparse attention"))
    assert [h.paper.id for h in hits] == ["2506.00001", "2506.00002", "2506.00003"]
    assert hits[0].score > hits[1].score > hits[2].score > 0


def _worker(url: str, records: list[Paper], seed: int) -> None:
    _ingest(url, records, seed, batch=5)


def test_concurrent_ingest_processes_create_each_paper_once(pg_databases):
    """Four processes ingest overlapping batches at once: the result equals one clean run."""
    records = _records(9, n=120)
    with pg_databases.database() as expected_url, pg_databases.database() as url:
        _ingest(expected_url, records, seed=0)
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_worker, args=(url, records, seed)) for seed in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=240)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
        with open_store(expected_url) as clean, open_store(url) as raced:
            assert snapshot(raced) == snapshot(clean)
            assert raced.stats() == clean.stats()


def test_votes_survive_concurrent_reingests(tmp_store_pg):
    """A merge that raises imported upvotes while users vote loses neither."""
    store = tmp_store_pg
    papers = [Paper(id=f"2506.{i:05d}", title=f"P{i}", feed_day="2025-06-02", upvotes=1) for i in range(20)]
    store.upsert_papers(papers)
    users = [store.create_user(f"user{i}", "hash") for i in range(8)]
    stop = threading.Event()
    failures: list[BaseException] = []

    def voter(user) -> None:
        try:
            for p in papers:
                store.set_vote(user.id, p.id, True)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    def reingester() -> None:
        try:
            n = 1
            while not stop.is_set():
                n += 1
                store.upsert_papers([p.model_copy(update={"upvotes": n}) for p in papers])
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    ingest = threading.Thread(target=reingester)
    ingest.start()
    voters = [threading.Thread(target=voter, args=(u,)) for u in users]
    for t in voters:
        t.start()
    for t in voters:
        t.join()
    stop.set()
    ingest.join()
    assert not failures
    final_base = store.get_papers([p.id for p in papers])
    with store._db.reader() as conn:
        bases = {r["id"]: r["base_upvotes"] for r in conn.execute("SELECT id, base_upvotes FROM papers")}
    for pid, paper in final_base.items():
        assert paper.upvotes == bases[pid] + len(users), pid


def _child_uses_store(store: PostgresStore, queue) -> None:
    store.upsert_papers([Paper(id="2506.00099", title="From the child", feed_day="2025-06-03")])
    queue.put(store.count_papers())


def test_store_opened_before_fork_works_in_parent_and_child(tmp_store_pg):
    """serve --workers forks after the store was opened: neither side breaks the other."""
    tmp_store_pg.upsert_papers([Paper(id="2506.00001", title="Parent", feed_day="2025-06-02")])
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_uses_store, args=(tmp_store_pg, queue))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0 and queue.get(timeout=5) == 2
    assert tmp_store_pg.count_papers() == 2  # the parent's pooled connections still work
    assert tmp_store_pg.get_paper("2506.00099").title == "From the child"


def test_unreachable_server_is_a_clear_error():
    import time

    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL at postgresql://nobody@127.0.0.1:1/.*refused"):
        open_store("postgresql://nobody:secret@127.0.0.1:1/nothing")
    # Refused at once, so said at once: not after the pool's quiet retries (15 s).
    assert time.monotonic() - started < 5


@pytest.fixture
def tmp_store_pg(pg_databases):
    with pg_databases.database() as url:
        store = open_store(url)
        yield store
        store.close()


def test_nearest_vectors_use_the_models_hnsw_index(tmp_store_pg):
    import numpy as np
    from psycopg import sql

    from paperboard.store.postgres.vectors import hnsw_index_name

    store = tmp_store_pg
    store.upsert_papers([Paper(id=f"2506.{i:05d}", title=f"P{i}", feed_day="2025-06-02") for i in range(300)])
    keys = list(store.paper_keys([f"2506.{i:05d}" for i in range(300)]).values())
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    store.put_vectors("m", keys, vectors)
    store.put_vectors("other", keys[:5], rng.standard_normal((5, 8)).astype(np.float32))  # another dimension
    store.set_hidden("2506.00007", True)
    q = vectors[7] + 0.01
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = [keys[i] for i in np.argsort(-(unit @ (q / np.linalg.norm(q)))) if i != 7][:10]
    got = store.nearest_vectors("m", q, 10, ef_search=200)
    assert [k for k, _ in got] == exact  # the hidden paper (the nearest) is left out
    assert all(a[1] <= b[1] for a, b in zip(got, got[1:], strict=False))
    with store._db.transaction() as conn:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):  # any plan but the index
            conn.execute(f"SET LOCAL {setting} = off")
        plan = "\n".join(
            r["QUERY PLAN"]
            for r in conn.execute(
                sql.SQL(
                    "EXPLAIN SELECT paper_rowid FROM paper_vectors WHERE model = {m}"
                    " ORDER BY (vector::vector(16)) <=> %s::vector(16) LIMIT 10"
                ).format(m=sql.Literal("m")),
                ("[" + ",".join("0" for _ in range(16)) + "]",),
            )
        )
    assert hnsw_index_name("m") in plan
