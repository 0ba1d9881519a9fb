"""Schema migrations: applied once, in order, on new and on existing databases."""

from __future__ import annotations

import sqlite3

import pytest

from paperboard.models import Paper
from paperboard.store import open_store
from paperboard.store.sqlite import SQLiteStore, migrations


def test_fresh_database_reaches_latest_version(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    latest = migrations.available()[-1][0]
    assert store.schema_version() == latest
    assert store.migrate() == []  # nothing left to apply
    store.close()


def test_existing_database_with_data_is_upgraded_in_place(tmp_path, monkeypatch):
    all_migrations = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: all_migrations[:1])
    old = SQLiteStore(tmp_path / "b.db")
    old.migrate()
    with old._db.writer() as conn:  # a row as the first release's code wrote it
        conn.execute(
            "INSERT INTO papers (id, title, title_key, feed_day, organization, ingested_at)"
            " VALUES ('2506.00001', 'Kept across upgrades', 'kept across upgrades', '2025-06-02', 'Lab',"
            " '2025-06-02T00:00:00+00:00')"
        )
        conn.execute("INSERT INTO papers_fts (rowid, title, abstract, authors) SELECT rowid, title, abstract, authors FROM papers")
    assert old.schema_version() == 1
    old.close()

    monkeypatch.setattr(migrations, "available", lambda: all_migrations)
    store = SQLiteStore(tmp_path / "b.db")
    applied = store.migrate()
    assert [name.split("_")[0] for name in applied] == [f"{v:04d}" for v, _, _ in all_migrations[1:]]
    assert store.schema_version() == all_migrations[-1][0]
    assert store.get_paper("2506.00001").title == "Kept across upgrades"
    # A newer version that names no organization merges into the old row and keeps it.
    store.upsert_papers([Paper(id="2506.00001", version=2, title="Revised", feed_day="2025-06-03")])
    assert (store.get_paper("2506.00001").title, store.get_paper("2506.00001").organization) == ("Revised", "Lab")
    store.close()


def test_failing_migration_leaves_previous_version(tmp_path, monkeypatch):
    good = migrations.available()
    bad = (good[-1][0] + 1, "broken", "CREATE TABLE t_ok (x INTEGER);\nTHIS IS NOT SQL;")
    monkeypatch.setattr(migrations, "available", lambda: [*good, bad])
    store = SQLiteStore(tmp_path / "c.db")
    with pytest.raises(sqlite3.OperationalError):
        store.migrate()
    assert store.schema_version() == good[-1][0]
    # The half-applied statement was rolled back with its migration.
    monkeypatch.setattr(migrations, "available", lambda: good)
    fixed = (bad[0], "fixed", "CREATE TABLE t_ok (x INTEGER);")
    monkeypatch.setattr(migrations, "available", lambda: [*good, fixed])
    assert store.migrate() == [f"{bad[0]:04d}_fixed"]
    store.close()


def test_split_statements_keeps_trigger_bodies_whole():
    sql = "CREATE TABLE a (x);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\n  SELECT 2;\nEND;\n-- c\nCREATE INDEX i ON a (x);"
    parts = migrations.split_statements(sql)
    assert len(parts) == 3 and parts[1].endswith("END;")
