"""Backups: taken while the store is written, restored to a store equal to the snapshot,
refused when damaged, newer or aimed at a store with data; ``db check`` and the worker's
daily backup. Each test runs on SQLite and, when a server is available, PostgreSQL."""

from __future__ import annotations

import errno
import json
import random
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from paperboard.cli import main
from paperboard.digest.schedule import BACKUP_CHECKPOINT, Worker
from paperboard.models import Paper
from paperboard.store import backup as backup_mod
from paperboard.store import open_store
from paperboard.store.backup import (
    BackupError,
    Manifest,
    NotEmptyError,
    latest_schema_version,
    read_verified_manifest,
    restore_backup,
    take_backup,
)
from tests.conftest import BACKENDS, url_factory

WORDS = "diffusion policy language model graph neural robot vision sparse attention protein".split()


def _papers(start: int, n: int) -> list[Paper]:
    rng = random.Random(start)
    return [
        Paper(
            id=f"2506.{i:05d}", title=" ".join(rng.sample(WORDS, 3)).title() + f" {i}",
            abstract=" ".join(rng.choice(WORDS) for _ in range(12)), authors=[f"Author {i % 7}"],
            categories=["cs.LG"], feed_day="2025-06-02", upvotes=i % 5,
        )
        for i in range(start, start + n)
    ]  # fmt: skip


def _populate(store) -> list[int]:
    store.upsert_papers(_papers(0, 120))
    users = [store.create_user(f"user{i}", "x" * 20, email=f"u{i}@example.org").id for i in range(4)]
    for i, uid in enumerate(users):
        for j in range(0, 120, 9 + i):
            store.set_vote(uid, f"2506.{j:05d}", True)
        store.add_comment(f"2506.{i:05d}", uid, f"Comment *{i}* with ünïcode")
    keys = list(store.paper_keys([f"2506.{i:05d}" for i in range(120)]).values())
    store.put_vectors("test-model", keys, np.random.default_rng(1).random((len(keys), 8), dtype=np.float32))
    return users


def _live_sums(url: str):
    """Every table's (rows, checksum) read from the live store, the backup's own way."""
    if url.startswith("sqlite"):
        import sqlite3

        from paperboard.store.sqlite.backup import table_sums

        conn = sqlite3.connect(backup_mod.sqlite_path(url))
        try:
            return table_sums(conn)
        finally:
            conn.close()
    from paperboard.store.postgres.backup import _connect, table_sums

    conn = _connect(url, autocommit=True)
    try:
        return table_sums(conn, "public")
    finally:
        conn.close()


def _is_empty(url: str) -> bool:
    if url.startswith("sqlite") and not backup_mod.sqlite_path(url).exists():
        return True
    sums = _live_sums(url)
    return all(s.rows == 0 for t, s in sums.items() if t not in backup_mod.BOOKKEEPING and not t.startswith("papers_fts"))


@pytest.fixture(scope="module", params=BACKENDS)
def shared_backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def shared_backup(shared_backend, tmp_path_factory, request):
    """One populated store and its backup per backend, for the tests that only read them."""
    tmp = tmp_path_factory.mktemp("shared")
    if shared_backend == "sqlite":
        url = f"sqlite:///{tmp / 'source.db'}"
    else:
        databases = request.getfixturevalue("pg_databases")
        url = databases.fresh()
        request.addfinalizer(lambda: databases.drop(url))
    with open_store(url) as store:
        _populate(store)
    return url, take_backup(url, tmp / "backup").path


@pytest.fixture
def backup_dir(shared_backup) -> Path:
    return shared_backup[1]


@pytest.fixture
def empty_store(shared_backend, tmp_path, request):
    """Makes empty stores of the shared backup's backend (like conftest's store_factory)."""
    return url_factory(shared_backend, tmp_path / "targets", request)


@pytest.fixture
def source(store_factory):
    url = store_factory()
    store = open_store(url)
    users = _populate(store)
    yield url, store, users
    store.close()


def _cli(monkeypatch, tmp_path, url: str, *args: str):
    monkeypatch.setenv("PAPERBOARD_DATABASE_URL", url)
    monkeypatch.setenv("PAPERBOARD_DATA_DIR", str(tmp_path / "data"))
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_backup_during_writes_restores_to_the_snapshot(source, store_factory, tmp_path):
    url, store, users = source
    writes = [0]
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        rng = random.Random(3)
        n = 1000
        try:
            while not stop.is_set():
                store.set_vote(rng.choice(users), f"2506.{rng.randrange(120):05d}", rng.random() < 0.6)
                if writes[0] % 5 == 0:
                    store.upsert_papers(_papers(n, 2))
                    n += 2
                writes[0] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while writes[0] < 20:
            stop.wait(0.005)
        before = writes[0]
        report = take_backup(url, tmp_path / "snap")
        during = writes[0] - before
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert during > 0, "the writer made no progress while the backup ran: it was not online"
    manifest = report.manifest
    live = _live_sums(url)
    assert live["votes"] != manifest.tables["votes"] or live["papers"] != manifest.tables["papers"]

    target = store_factory()  # SQLite: nothing there yet; PostgreSQL: migrated, empty
    restored = restore_backup(target, report.path)
    assert all(t.ok for t in restored.tables)
    assert _live_sums(target) == manifest.tables  # content equals the manifest, read independently
    with open_store(target) as copy:
        # A torn snapshot would break the vote counts: each paper's count = imported + votes.
        papers = copy.get_papers([pid for ids in copy.iter_paper_ids() for pid in ids])
        assert len(papers) == manifest.tables["papers"].rows
        voted = {pid: 0 for pid in papers}
        for uid in users:
            for pid in copy.voted_ids(uid, list(papers)):
                voted[pid] += 1
        assert sum(voted.values()) == manifest.tables["votes"].rows
        for pid, paper in papers.items():
            imported = int(pid.split(".")[1]) % 5  # _papers gives paper i i % 5 upvotes
            assert paper.upvotes == imported + voted[pid], pid
        assert copy.database_id() != store.database_id()  # a database of its own


def test_backup_json_summary_and_restore_cli(shared_backup, empty_store, tmp_path, monkeypatch):
    url, _ = shared_backup
    result = _cli(monkeypatch, tmp_path, url, "db", "backup", str(tmp_path / "b1"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["tables"]["papers"]["rows"] == 120 and summary["rows"] > 120
    assert summary["files"] == Manifest.read(tmp_path / "b1").files
    target = empty_store()
    result = _cli(monkeypatch, tmp_path, target, "db", "restore", str(tmp_path / "b1"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verified"] is True
    # Again into the same store: it has data now, so it is refused and kept.
    result = _cli(monkeypatch, tmp_path, target, "db", "restore", str(tmp_path / "b1"))
    assert result.exit_code == 2 and "not empty" in result.output
    assert _live_sums(target)["papers"].rows == 120


def _damaged_copy(backup_dir: Path, tmp_path: Path, name: str) -> Path:
    copy = tmp_path / name
    shutil.copytree(backup_dir, copy)
    return copy


def test_restore_refuses_damaged_newer_or_lying_backups(backup_dir, empty_store, shared_backend, tmp_path):
    data_name = backup_mod.DATA_FILE["sqlite" if shared_backend == "sqlite" else "postgresql"]
    target = empty_store()

    truncated = _damaged_copy(backup_dir, tmp_path, "truncated")
    data = truncated / data_name
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(BackupError, match="damaged.*truncated or corrupt; nothing was restored"):
        restore_backup(target, truncated)

    flipped = _damaged_copy(backup_dir, tmp_path, "flipped")
    raw = bytearray((flipped / data_name).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (flipped / data_name).write_bytes(bytes(raw))
    with pytest.raises(BackupError, match="damaged"):
        restore_backup(target, flipped)

    newer = _damaged_copy(backup_dir, tmp_path, "newer")
    body = json.loads((newer / "manifest.json").read_text())
    body["schema_version"] = latest_schema_version(body["backend"]) + 1
    (newer / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(BackupError, match="newer than this paperboard knows.*upgrade paperboard"):
        restore_backup(target, newer)

    # Undamaged files, but the manifest claims other content: found by comparing the data,
    # before anything is kept (on PostgreSQL inside the restore's own transaction).
    lying = _damaged_copy(backup_dir, tmp_path, "lying")
    body = json.loads((lying / "manifest.json").read_text())
    body["tables"]["votes"]["rows"] += 1
    (lying / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(BackupError, match="does not match (the|its) manifest.*votes"):
        restore_backup(target, lying)

    (tmp_path / "not-json").mkdir()
    (tmp_path / "not-json" / "manifest.json").write_text('{"format": "paperboard-bac')
    with pytest.raises(BackupError, match="unreadable or damaged"):
        restore_backup(target, tmp_path / "not-json")

    assert _is_empty(target)
    if shared_backend == "postgres":  # the rolled-back restore kept the migrated schema too
        with open_store(target, migrate=False) as s:
            assert s.schema_version() == latest_schema_version("postgresql") and s.count_papers() == 0


def test_restore_refuses_a_store_with_data(shared_backup):
    url, backup_dir = shared_backup
    before = _live_sums(url)
    with pytest.raises(NotEmptyError, match="not empty"):
        restore_backup(url, backup_dir)
    assert _live_sums(url) == before


def test_unwritable_backup_paths_leave_nothing_behind(shared_backup, tmp_path, monkeypatch):
    url, _ = shared_backup
    with pytest.raises(BackupError, match="already exists"):
        take_backup(url, tmp_path)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(BackupError, match="not an existing directory"):
        take_backup(url, tmp_path / "a-file" / "backup")
    if not Path("/sys").is_dir() or _writable(Path("/sys")):
        pytest.skip("/sys is writable here")
    result = _cli(monkeypatch, tmp_path, url, "db", "backup", "/sys/paperboard-backup")
    assert result.exit_code == 2 and "cannot write a backup under /sys" in result.output

    # The disk fills up once the data file is written: no backup, no partial directory.
    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backup_mod, "sha256_file", full)
    (tmp_path / "backups").mkdir()
    result = _cli(monkeypatch, tmp_path, url, "db", "backup", str(tmp_path / "backups" / "b"))
    assert result.exit_code == 2 and "No space left on device; nothing was left behind" in result.output
    assert list((tmp_path / "backups").iterdir()) == []


def _writable(directory: Path) -> bool:
    try:
        (directory / "paperboard-probe").mkdir()
    except OSError:
        return False
    (directory / "paperboard-probe").rmdir()
    return True


def test_db_check_finds_a_broken_index_and_broken_references(source, store_backend, tmp_path, monkeypatch):
    import tantivy

    from paperboard.search.keyword_index import KeywordIndex

    url, store, _ = source
    index_dir = tmp_path / "data" / "index"
    KeywordIndex(store, index_dir, min_papers=0).refresh(force=True)
    result = _cli(monkeypatch, tmp_path, url, "db", "check", "--json")
    assert result.exit_code == 0, result.output
    found = {f["check"]: f for f in json.loads(result.output)["findings"]}
    assert found["keyword index"]["status"] == "ok" and "120 documents" in found["keyword index"]["message"]
    assert all(f["status"] != "fail" for f in found.values())

    # One paper silently missing from the index (its metadata still says "current").
    from paperboard.search.keyword_index import _schema

    index = tantivy.Index(_schema(), path=str(index_dir / "keywords"))
    writer = index.writer(heap_size=15_000_000)
    writer.delete_documents_by_term("key", next(iter(store.paper_keys(["2506.00003"]).values())))
    writer.commit()
    writer.wait_merging_threads()
    del writer
    result = _cli(monkeypatch, tmp_path, url, "db", "check")
    assert result.exit_code == 1
    assert "holds 119 documents but the store has 120 searchable papers" in result.output
    assert "check(s) failed: keyword index" in result.output

    # A vote for a paper that is not there, written past the foreign keys.
    if store_backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(backup_mod.sqlite_path(url), isolation_level=None)
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("UPDATE votes SET paper_id = 'gone' WHERE rowid = (SELECT MIN(rowid) FROM votes)")
        conn.close()
        check = "sqlite foreign_key_check"
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("UPDATE votes SET paper_id = 'gone' WHERE ctid = (SELECT MIN(ctid) FROM votes)")
        check = "foreign keys"
    result = _cli(monkeypatch, tmp_path, url, "db", "check", "--json")
    assert result.exit_code == 1
    found = {f["check"]: f for f in json.loads(result.output)["findings"]}
    assert found[check]["status"] == "fail" and "votes" in found[check]["message"]


def test_worker_takes_a_daily_backup_and_keeps_n(settings, tmp_path):
    store = open_store(settings.resolved_database_url)
    try:
        store.upsert_papers(_papers(0, 10))
        backups = tmp_path / "backups"
        cfg = settings.model_copy(update={"backup_dir": str(backups), "backup_keep": 1})
        now = [datetime(2025, 6, 3, 9, 0, tzinfo=UTC)]
        worker = Worker(cfg, store, clock=lambda: now[0], sleep=lambda s: None, ingest_hook=None)
        taken = []
        for day in range(2):
            now[0] = datetime(2025, 6, 3, 9, 0, tzinfo=UTC) + timedelta(days=day)
            report = worker.tick()
            assert report is not None and report.backup_error is None
            taken.append(Path(report.backup))
            store.upsert_papers(_papers(100 + day, 1))
        assert worker.tick() is None  # the same day again: no second backup
        kept = sorted(p.name for p in backups.iterdir())
        assert kept == [taken[1].name] == ["paperboard-20250604T090000Z"]
        last = read_verified_manifest(taken[1], "sqlite" if settings.resolved_database_url.startswith("sqlite")
                                      else "postgresql")  # fmt: skip
        assert last.tables["papers"].rows == 11
        assert store.get_checkpoint(BACKUP_CHECKPOINT) == "2025-06-04"

        # Off by default: no directory, no backup.
        plain = Worker(settings, store, clock=lambda: now[0] + timedelta(days=1), sleep=lambda s: None, ingest_hook=None)
        assert plain.tick().backup is None
    finally:
        store.close()


def test_manifest_round_trips(backup_dir):
    manifest = Manifest.read(backup_dir)
    assert Manifest.read(backup_dir).to_json() == manifest.to_json()
    assert manifest.tables["papers"].rows == 120 and manifest.schema_version >= 1


def test_postgres_restore_of_an_archive_cut_mid_data_commits_nothing(shared_backup, shared_backend, empty_store):
    """Past the manifest's SHA-256 (as if the file were cut after it was checked): pg_restore
    fails mid-stream, psql is killed rather than allowed to commit what it got."""
    if shared_backend != "postgres":
        pytest.skip("PostgreSQL's streamed restore")
    from paperboard.store.postgres import backup as pg_backup

    _, backup_dir = shared_backup
    data = (backup_dir / "store.pgdump").read_bytes()
    cut = backup_dir.parent / "cut.pgdump"
    cut.write_bytes(data[: int(len(data) * 0.9)])
    target = empty_store()
    with pytest.raises(BackupError, match="pg_restore cannot read .*the store is unchanged"):
        pg_backup.restore(target, cut, Manifest.read(backup_dir))
    assert _is_empty(target)
    with open_store(target, migrate=False) as s:
        assert s.schema_version() == latest_schema_version("postgresql")
