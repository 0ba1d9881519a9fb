"""The admin audit log: every admin action (hide/unhide a paper or a comment, delete someone
else's comment, decide a claim on the site; promote/revoke at the command line) is recorded
with who, what and when in the action's own transaction, and listed newest first on /admin,
which is a 404 for everyone but admins."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from paperboard.cli import main
from paperboard.store.audit import Actor

from .conftest import signup
from .test_library_pages import ROBOT, SMOE, post


@pytest.fixture
def admin(make_client, loaded_store):
    browser = make_client()
    signup(browser, "root")
    loaded_store.set_admin("root", True)
    return browser


def _comment(client, paper_id: str, body: str) -> int:
    r = post(client, f"/papers/{paper_id}/comments", {"body": body})
    assert r.status_code == 303
    return int(r.headers["location"].rsplit("#c", 1)[1])


def test_every_admin_action_is_logged_with_who_what_when_and_listed_newest_first(
    admin, client, make_client, loaded_store
):
    started = datetime.now(UTC) - timedelta(seconds=1)
    signup(client, "kurt")
    loaded_store.set_display_name(loaded_store.get_user_by_name("kurt").id, "K. Godel")
    assert post(client, f"/papers/{ROBOT}/claim").status_code == 303
    assert post(client, f"/papers/{SMOE}/claim").status_code == 303
    first, second = (_comment(client, SMOE, f"Comment number {n} on mixtures") for n in (1, 2))
    own = _comment(admin, SMOE, "The admin's own comment")

    assert post(admin, f"/papers/{ROBOT}/hide", {"hidden": "true"}).status_code == 303
    assert post(admin, f"/papers/{ROBOT}/hide", {"hidden": "false"}).status_code == 303
    assert post(admin, f"/comments/{first}/hide", {"hidden": "true"}).status_code == 303
    assert post(admin, f"/comments/{first}/hide", {"hidden": "false"}).status_code == 303
    assert post(admin, f"/comments/{second}/delete").status_code == 303
    assert post(admin, f"/comments/{own}/delete").status_code == 303  # one's own: not an admin act
    robot_claim, smoe_claim = (c.id for c in loaded_store.claims(status="pending"))
    assert post(admin, f"/admin/claims/{robot_claim}/approve").status_code == 303
    assert post(admin, f"/admin/claims/{smoe_claim}/refuse").status_code == 303
    runner = CliRunner()
    assert runner.invoke(main, ["users", "promote", "kurt"]).exit_code == 0
    assert runner.invoke(main, ["users", "promote", "kurt", "--revoke"]).exit_code == 0

    entries = loaded_store.audit_log()
    assert [(e.actor, e.action, e.target_type, e.target_id) for e in reversed(entries)] == [
        ("root", "paper.hide", "paper", ROBOT),
        ("root", "paper.unhide", "paper", ROBOT),
        ("root", "comment.hide", "comment", str(first)),
        ("root", "comment.unhide", "comment", str(first)),
        ("root", "comment.delete", "comment", str(second)),
        ("root", "claim.approve", "claim", str(robot_claim)),
        ("root", "claim.refuse", "claim", str(smoe_claim)),
        (entries[1].actor, "user.promote", "user", "kurt"),
        (entries[0].actor, "user.revoke", "user", "kurt"),
    ]
    root_id = loaded_store.get_user_by_name("root").id
    assert all(e.actor_id == root_id for e in entries[2:])
    assert entries[0].actor_id is None and entries[0].actor.endswith("(command line)")
    assert all(started <= e.at <= datetime.now(UTC) for e in entries)
    assert entries[-1].detail == "Diffusion Policies for Robot Grasping"
    assert "by kurt on" in entries[-3].detail and "Comment number 1" in entries[-3].detail
    assert entries[3].detail == f"kurt as Kurt Gödel on {ROBOT}"
    assert not loaded_store.get_user_by_name("kurt").is_admin

    page = admin.get("/admin")
    assert page.status_code == 200
    rows = re.findall(r'<tr id="audit-(\d+)">', page.text)
    assert [int(r) for r in rows] == [e.id for e in entries]  # newest first
    assert "user.revoke" in page.text and "(command line)" in page.text and f'href="/papers/{ROBOT}"' in page.text
    assert 'href="/admin/claims"' in page.text and 'href="/admin" aria-current="page"' in page.text
    assert 'href="/admin"' not in client.get("/").text  # kurt is no admin any more

    listed = json.loads(runner.invoke(main, ["users", "audit", "--json"]).output)
    assert [e["id"] for e in listed] == [e.id for e in entries]


def test_the_admin_page_is_not_found_for_anyone_else(client, make_client, admin):
    assert make_client().get("/admin").status_code == 404
    signup(client, "someone")
    assert client.get("/admin").status_code == 404
    assert client.get("/admin?before=nonsense").status_code == 404
    assert admin.get("/admin?before=nonsense").status_code == 400


def test_a_refused_action_leaves_no_entry(admin, loaded_store):
    assert post(admin, "/papers/9999.99999/hide", {"hidden": "true"}).status_code == 404
    assert post(admin, "/comments/999999/hide", {"hidden": "true"}).status_code == 404
    assert post(admin, "/admin/claims/999999/approve").status_code == 404
    assert CliRunner().invoke(main, ["users", "promote", "nobody"]).exit_code == 2
    assert loaded_store.audit_log() == []


def test_the_action_and_its_entry_commit_together(loaded_store):
    """With the log unwritable the hide itself is rolled back: no action goes unrecorded."""
    root = Actor("root", None)
    with loaded_store._db.writer() as conn:
        conn.execute("ALTER TABLE audit_log RENAME TO audit_log_gone")
    with pytest.raises(Exception, match="audit_log"):
        loaded_store.hide_paper_as(root, SMOE, True)
    assert loaded_store.get_paper(SMOE) is not None  # still visible
    with loaded_store._db.writer() as conn:
        conn.execute("ALTER TABLE audit_log_gone RENAME TO audit_log")
    assert loaded_store.hide_paper_as(root, SMOE, True)
    assert loaded_store.get_paper(SMOE) is None
    [entry] = loaded_store.audit_log()
    assert (entry.action, entry.target_id, entry.actor_id) == ("paper.hide", SMOE, None)
