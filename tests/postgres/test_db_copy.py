"""``paperboard db copy``: a SQLite installation moves to PostgreSQL without loss."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from click.testing import CliRunner

from paperboard.cli import main
from paperboard.ids import local_id_for_title
from paperboard.models import Paper
from paperboard.store import PaperQuery, open_store
from paperboard.store.digest import OutboxPlan
from tests.spine.corpus import snapshot


def _fill(store) -> None:
    title = "Seed Card Paper About Diffusion"
    store.upsert_papers([Paper(id=local_id_for_title(title), title=title, feed_day="2025-06-01", upvotes=4,
                               organization="Lab")])  # fmt: skip
    store.upsert_papers(
        [Paper(id=f"2506.{i:05d}", title=f"Paper {i} — ünïcode “quotes”", abstract=f"Abstract {i}\n\nTwo paragraphs.",
               authors=[f"Author {i}", "O'Brien, Jr."], categories=["cs.CL", "cs.LG"], primary_category="cs.CL",
               published=datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC), feed_day=date(2025, 6, 2 + i % 5),
               code_urls=[f"https://github.com/x/{i}"], upvotes=i % 7)
         for i in range(1, 1200)]
        + [Paper(id="2506.09999", title=title.upper(), feed_day="2025-06-03", authors=["A B"])]
    )  # fmt: skip
    store.set_hidden("2506.00003", True)
    alice = store.create_user("Alice", "hash-a", email="alice@example.org")
    bob = store.create_user("bob", "hash-b")
    store.create_session(alice.id, "sess-hash", datetime.now(UTC) + timedelta(days=3))
    store.create_api_token(bob.id, "cli", "token-hash")
    store.record_login_failure("mallory", datetime.now(UTC))
    for pid in ("2506.00001", "2506.00002", local_id_for_title(title)):
        store.set_vote(alice.id, pid, True)
    store.set_vote(bob.id, "2506.00001", True)
    store.add_comment("2506.00001", alice.id, "First! <script>alert(1)</script>")
    hidden = store.add_comment("2506.00002", bob.id, "spam")
    store.set_comment_hidden(hidden.id, True)
    sub, _ = store.upsert_subscriber("Alice@Example.org", "daily", confirmed=True, user_id=alice.id)
    saved, _ = store.add_saved_search(alice.id, sub.id, "diffusion", "cs.CL", date(2025, 6, 2))
    store.plan_outbox([OutboxPlan(sub.id, "daily", "2025-06-03", '{"papers": []}', [(saved.id, date(2025, 6, 3))])],
                      now=datetime.now(UTC))  # fmt: skip
    keys = store.paper_keys(["2506.00001", "2506.00002", "2506.00010"])
    rng = np.random.default_rng(3)
    store.put_vectors("test-model", list(keys.values()), rng.standard_normal((3, 16)).astype(np.float32))
    store.set_checkpoint("oai:cs", "token-123")


def _everything(store) -> dict:
    users = store.list_users()
    model = "test-model"
    keys = store.paper_keys([f"2506.{i:05d}" for i in range(1, 20)])
    return {
        "papers": snapshot(store),
        "hidden": store.get_paper("2506.00003", include_hidden=True),
        "alias": store.get_paper(local_id_for_title("Seed Card Paper About Diffusion")).id,
        "stats": store.stats(),
        "users": [(u.username, u.email, u.is_admin, u.created_at) for u in users],
        "hashes": [store.get_password_hash(u.id) for u in users],
        "session": store.get_session_user("sess-hash", datetime.now(UTC)).username,
        "token": store.get_token_user("token-hash").username,
        "failures": store.count_login_failures("mallory", datetime.now(UTC) - timedelta(hours=1)),
        "voted": sorted(store.voted_ids(users[0].id, ["2506.00001", "2506.00002", "2506.00009"])),
        "comments": [(c.body, c.username, c.hidden, c.created_at) for c in
                     store.list_comments("2506.00002", include_hidden=True) + store.list_comments("2506.00001")],
        "subscribers": [s.to_public() for s in store.list_subscribers()],
        "saved": [(s.query, s.category, s.last_day) for s in store.list_saved_searches()],
        "outbox": store.outbox_counts(),
        "vectors": {k: v.tolist() for k, v in store.get_vectors(model, list(keys.values())).items()},
        "vector_stats": store.vector_stats(model)[:2],
        "checkpoint": store.get_checkpoint("oai:cs"),
        "top": [p.id for p in store.list_papers(PaperQuery(limit=10))],
    }  # fmt: skip


def test_copy_moves_every_domain_and_verifies_it(pg_databases, tmp_path):
    sqlite_url = f"sqlite:///{tmp_path / 'pb.db'}"
    with open_store(sqlite_url) as lite:
        _fill(lite)
        expected = _everything(lite)
    with pg_databases.database(migrated=False) as pg_url:
        runner = CliRunner()
        result = runner.invoke(main, ["db", "copy", "--from", sqlite_url, "--to", pg_url, "-q", "--batch-size", "500"])
        assert result.exit_code == 0, result.output
        assert "all match" in result.output and "MISMATCH" not in result.output
        for table in ("papers", "paper_aliases", "users", "votes", "comments", "outbox", "paper_vectors"):
            assert table in result.output
        with open_store(pg_url) as pg:
            assert _everything(pg) == expected
            # Identity sequences continue after the copied ids.
            carol = pg.create_user("carol", "h")
            assert carol.id > max(u.id for u in pg.list_users() if u.username != "carol")
            assert not carol.is_admin

        # Re-running needs --replace (the target has data), and then gives the same result.
        again = runner.invoke(main, ["db", "copy", "--from", sqlite_url, "--to", pg_url, "-q"])
        assert again.exit_code == 2 and "--replace" in again.output
        replaced = runner.invoke(main, ["db", "copy", "--from", sqlite_url, "--to", pg_url, "-q", "--replace"])
        assert replaced.exit_code == 0, replaced.output
        with open_store(pg_url) as pg:
            assert _everything(pg) == expected


def test_copy_refuses_wrong_directions_and_missing_sources(pg_databases, tmp_path):
    runner = CliRunner()
    with pg_databases.database() as pg_url:
        result = runner.invoke(main, ["db", "copy", "--from", f"sqlite:///{tmp_path / 'none.db'}", "--to", pg_url])
        assert result.exit_code == 2 and "no SQLite store" in result.output
        other = f"sqlite:///{tmp_path / 'other.db'}"
        open_store(other).close()
        result = runner.invoke(main, ["db", "copy", "--from", pg_url, "--to", other])
        assert result.exit_code == 2 and "SQLite store" in result.output
