"""The operator's commands: subscribers add/list/remove, digest preview/send."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from paperboard.cli import main
from paperboard.store import open_store

from .conftest import SATURDAY, TUESDAY, paper


@pytest.fixture
def cli(mail_settings):
    store = open_store(mail_settings.resolved_database_url)
    store.upsert_papers([paper(1, TUESDAY, "Sparse attention", upvotes=4), paper(2, TUESDAY, "Dense things", upvotes=2)])
    store.close()
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


def test_subscribers_add_list_remove(cli, smtp):
    r = cli("subscribers", "add", "Ops@Example.org", "--kind", "weekly", "--confirmed")
    assert r.exit_code == 0 and "added Ops@example.org: weekly, confirmed" in r.output
    assert smtp.count() == 0  # --confirmed: imported, no confirmation email
    r = cli("subscribers", "add", "new@example.org")
    assert r.exit_code == 0 and "confirmation email sent" in r.output
    assert [m.to for m in smtp.messages] == ["new@example.org"]
    r = cli("subscribers", "add", "new@example.org")
    assert "not sending another" in r.output and smtp.count() == 1
    data = json.loads(cli("subscribers", "list", "--json").output)
    assert [(d["email"], d["kind"], d["status"]) for d in data] == [
        ("Ops@example.org", "weekly", "confirmed"), ("new@example.org", "daily", "pending")
    ]
    assert cli("subscribers", "remove", "ops@example.org").exit_code == 0
    r = cli("subscribers", "remove", "ops@example.org")
    assert r.exit_code == 2 and "not a subscriber" in r.output


def test_subscribers_add_refuses_a_bad_address(cli):
    r = cli("subscribers", "add", "not-an-address")
    assert r.exit_code == 2 and "error:" in r.output and "not an email address" in r.output


def test_preview_prints_the_text_version_and_sends_nothing(cli, smtp):
    cli("subscribers", "add", "reader@example.org", "--confirmed")
    r = cli("digest", "preview", "--email", "reader@example.org", "--date", TUESDAY.isoformat())
    assert r.exit_code == 0
    assert "Sparse attention" in r.output and "Unsubscribe in one click: https://papers.example.org/unsubscribe?token=" in r.output
    assert smtp.count() == 0
    r = cli("digest", "preview", "--email", "reader@example.org", "--date", SATURDAY.isoformat())
    assert r.exit_code == 0 and "no email would be sent" in r.output


def test_send_dry_run_then_send_then_rerun(cli, smtp):
    for i in range(3):
        cli("subscribers", "add", f"r{i}@example.org", "--confirmed")
    r = cli("digest", "send", "--kind", "daily", "--date", TUESDAY.isoformat(), "--dry-run")
    assert r.exit_code == 0 and "3 emails would be planned" in r.output and smtp.count() == 0
    r = cli("digest", "send", "--date", TUESDAY.isoformat())
    assert r.exit_code == 0 and "sent 3" in r.output and smtp.count() == 3
    r = cli("digest", "send", "--date", TUESDAY.isoformat())
    assert "0 newly planned" in r.output and "sent 0" in r.output and smtp.count() == 3
    r = cli("digest", "send", "--date", "2025-13-01")
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
