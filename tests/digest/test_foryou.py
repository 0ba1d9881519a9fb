"""The ``foryou`` digest: each opted-in user's own recommendations by email, with reasons,
through the outbox (exactly once, across re-runs and a SIGKILL mid-send), received at a
real SMTP server; its unsubscribe link stops only it; the account page and the CLI."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from paperboard.cli import main
from paperboard.digest.outbox import OutboxSender, plan_digests
from paperboard.digest.selection import Issue
from paperboard.digest.subscriptions import Subscriptions
from paperboard.periods import day, week_of
from paperboard.ranking.foryou import for_you
from paperboard.store import open_store
from paperboard.web.app import create_app

from .conftest import SATURDAY, TUESDAY, WEDNESDAY, paper

HERE = Path(__file__).parent
REPO = HERE.parent.parent
MONDAY = date(2025, 6, 2)
MAY = date(2025, 5, 20)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HOSTILE = 'Attention <script>alert("x")</script> & "quotes"'


def _have_recommender() -> bool:
    try:
        import paperboard.ranking.recommend  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


needs_recommender = pytest.mark.skipif(
    not _have_recommender(), reason="paperboard/ranking/recommend.py has not landed: for_you cannot run"
)
"""``ranking/foryou.py`` imports the recommender even for a cold user: until that module is
there, the tests that compute a list are skipped (the others still run)."""


BACKGROUND_WORDS = (
    "quantum lattice galaxy protein robot vision speech market auction climate ocean seismic fluid"
    " turbulence kernel bandit privacy compiler database storage routing wireless battery solar"
    " catalyst polymer enzyme neuron cortex genome virus vaccine epidemic traffic urban finance option"
    " volatility poetry translation parsing dialogue summarization retrieval fairness causal bayesian"
    " sampling optimization convex tensor matrix"
).split()


def _background(n: int = 80) -> list:
    """April papers on everything else: the corpus a recommender learns word weights from
    (in a six-paper corpus every word is common, and nothing is like anything)."""
    import random

    rng = random.Random(20250603)
    return [paper(100 + i, date(2025, 4, 1 + i % 28), " ".join(rng.sample(BACKGROUND_WORDS, 4)).title(),
                  abstract=" ".join(rng.sample(BACKGROUND_WORDS, 12)) + ".") for i in range(n)]  # fmt: skip


@pytest.fixture
def papers(tmp_store):
    """Older papers a user can save (May), a week of new ones (2025-W23), a background."""
    if _have_recommender():
        from paperboard.ranking import recommend

        getattr(recommend, "clear_caches", lambda: None)()  # no statistics from another test's store
    tmp_store.upsert_papers(_background())
    tmp_store.upsert_papers([
        paper(1, MAY, "Graph neural networks for molecules", abstract="Message passing on molecular graphs. More."),
        paper(2, MAY, "Molecular property prediction with graphs", abstract="Predict properties of molecules."),
        paper(3, MAY, HOSTILE, abstract="Attention over molecules. More."),
        paper(4, MAY, "A survey of sparse attention", abstract="Sparse attention, surveyed."),
        paper(10, TUESDAY, "Equivariant graph networks for chemistry", upvotes=3,
              abstract="We build equivariant message passing. The rest is detail."),
        paper(11, TUESDAY, "Molecule generation with diffusion", upvotes=9),
        paper(12, TUESDAY, "Robots that fold laundry", upvotes=40),
        paper(13, TUESDAY, "Another <b>bold</b> title & more", upvotes=1),
        paper(14, TUESDAY, "Protein graphs at scale", upvotes=5),
        paper(20, WEDNESDAY, "Wednesday molecules", upvotes=2),
        paper(21, MONDAY, "Monday chemistry", upvotes=7),
    ])  # fmt: skip
    return tmp_store


def _user(settings, store, name: str, *, cadence: str = "daily", kind: str = "none", saves: tuple[str, ...] = ()):
    user = store.create_user(name, "x", email=f"{name}@example.org")
    store.upsert_subscriber(f"{name}@example.org", kind, confirmed=True, user_id=user.id)  # type: ignore[arg-type]
    for pid in saves:
        store.save_paper(user.id, pid)
    sub = Subscriptions(settings, store).set_foryou(user, cadence)
    assert sub.foryou == cadence
    return user, sub


WARM = ("2506.00001", "2506.00002", "2506.00003")


def _listed(mail) -> list[tuple[str, str]]:
    """(title, reason) of each paper in the text part, in order."""
    text = mail.part("plain").replace("\r\n", "\n")
    titles = re.findall(r"^\d+\. (.+)$", text, flags=re.M)
    reasons = re.findall(r"^   Why: (.+)$", text, flags=re.M)
    return list(zip(titles, reasons, strict=True)) if reasons else [(t, "") for t in titles]


def _send(settings, store, kinds):
    summary, _ = plan_digests(store, settings, kinds)
    return summary, OutboxSender(settings, store).run()


# -- what the email holds ------------------------------------------------------------------------
@needs_recommender
def test_a_user_with_saves_gets_exactly_their_for_you_list_with_reasons(mail_settings, papers, smtp):
    user, _ = _user(mail_settings, papers, "ada", saves=WARM)
    papers.dismiss_paper(user.id, "2506.00012")
    expected = for_you(papers, user.id, start=TUESDAY, end=TUESDAY, limit=mail_settings.digest_top_n)
    assert not expected.cold and expected.picks
    summary, result = _send(mail_settings, papers, [("foryou-daily", TUESDAY)])
    assert summary.planned == 1 and result.sent == 1
    [mail] = smtp.to("ada@example.org")
    assert mail.message["Subject"] == "For you · Tue 3 Jun 2025"
    assert _listed(mail) == [(p.paper.title, p.reason) for p in expected.picks]
    assert any(p.reason.startswith("because you saved “") for p in expected.picks)
    text, html = mail.part("plain"), mail.part("html")
    for p in expected.picks:
        assert f"https://papers.example.org/papers/{p.paper.id}" in text
        assert f'href="https://papers.example.org/papers/{p.paper.id}"' in html
    # Saved and dismissed papers are never in it (saved ones only inside reasons); nor other days'.
    titles = [t for t, _ in _listed(mail)]
    for absent in ("Graph neural networks for molecules", "Robots that fold laundry", "Wednesday molecules"):
        assert absent not in titles
    for pid in (*WARM, "2506.00012", "2506.00020"):
        assert f"/papers/{pid}" not in text
    assert len(titles) == 4  # Tuesday's five papers, one dismissed
    assert "We build equivariant message passing." in text and "The rest is detail" not in text
    # Hostile titles (a paper's, and a saved paper's inside a reason) are inert in HTML.
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    if any("<script>" in p.reason for p in expected.picks):
        assert "&lt;script&gt;" in html
    # The payload holds what was sent: the ids and reasons, fixed at planning time.
    rows = papers.outbox_counts(kind="foryou")
    assert rows == {"sent": 1}


@needs_recommender
def test_weekly_cadence_covers_the_iso_week(mail_settings, papers, smtp):
    user, _ = _user(mail_settings, papers, "wes", cadence="weekly", saves=WARM)
    _user(mail_settings, papers, "dee", cadence="daily", saves=WARM)
    week = week_of(TUESDAY)
    expected = for_you(papers, user.id, start=week.start, end=week.end, limit=mail_settings.digest_top_n)
    # The schedule on Monday 9 June: the daily for that day, the weekly for the week before.
    from paperboard.digest.outbox import scheduled_kinds

    _send(mail_settings, papers, [k for k in scheduled_kinds(date(2025, 6, 9)) if k[0].startswith("foryou")])
    [mail] = smtp.to("wes@example.org")
    assert mail.message["Subject"] == "For you · 2025-W23"
    assert _listed(mail) == [(p.paper.title, p.reason) for p in expected.picks]
    assert {p.paper.feed_day for p in expected.picks} >= {TUESDAY, WEDNESDAY}
    assert smtp.to("dee@example.org") == []  # nothing on 9 June for the daily one


@needs_recommender
def test_a_cold_user_gets_trending_with_the_reason_why(mail_settings, papers, smtp):
    """The documented choice: fewer than three positives get the period's trending papers
    with a line on how to make the email theirs (as the page does), not silence."""
    user, _ = _user(mail_settings, papers, "cole", saves=("2506.00001",))
    expected = for_you(papers, user.id, start=TUESDAY, end=TUESDAY, limit=mail_settings.digest_top_n)
    assert expected.cold
    _send(mail_settings, papers, [("foryou-daily", TUESDAY)])
    [mail] = smtp.to("cole@example.org")
    assert mail.message["Subject"] == "Trending for you · Tue 3 Jun 2025"
    assert "save, upvote or claim three papers" in " ".join(mail.part("plain").split())
    assert [t for t, _ in _listed(mail)] == [p.paper.title for p in expected.picks]
    assert [t for t, _ in _listed(mail)][0] == "Robots that fold laundry"  # 40 upvotes


@needs_recommender
def test_empty_list_weekend_and_off_send_nothing(mail_settings, papers, smtp):
    _user(mail_settings, papers, "ada", saves=WARM)
    _user(mail_settings, papers, "off", cadence="off", saves=WARM)
    summary, _ = _send(mail_settings, papers, [("foryou-daily", date(2025, 6, 5))])  # a day with no papers
    assert summary.planned == 0 and "1 with nothing to show" in summary.lines()[0]
    summary, _ = _send(mail_settings, papers, [("foryou-daily", SATURDAY)])
    assert summary.planned == 0 and "weekends" in summary.lines()[0]
    assert smtp.count() == 0
    _send(mail_settings, papers, [("foryou-daily", TUESDAY)])
    assert [m.to for m in smtp.messages] == ["ada@example.org"]


def test_only_confirmed_addresses_of_accounts_get_it(mail_settings, papers, smtp):
    user = papers.create_user("pat", "x", email="pat@example.org")
    for pid in WARM:
        papers.save_paper(user.id, pid)
    sub, _ = papers.upsert_subscriber("pat@example.org", "none", user_id=user.id)  # pending
    assert Subscriptions(mail_settings, papers).set_foryou(user, "daily").status == "pending"
    _send(mail_settings, papers, [("foryou-daily", TUESDAY)])
    assert smtp.count() == 0
    # An address without an account cannot choose it at all.
    stray, _ = papers.upsert_subscriber("stray@example.org", "daily", confirmed=True)
    with pytest.raises(ValueError, match="belongs to an account"):
        papers.set_foryou_digest(stray.id, "daily")


# -- exactly once ------------------------------------------------------------------------------
@needs_recommender
def test_rerun_plans_and_sends_nothing_new_and_computes_nothing(mail_settings, papers, smtp, monkeypatch):
    _user(mail_settings, papers, "ada", saves=WARM)
    _user(mail_settings, papers, "bob", saves=WARM[:1])
    _send(mail_settings, papers, [("foryou-daily", TUESDAY)])
    assert smtp.count() == 2
    import paperboard.digest.foryou as foryou_mod

    calls = []
    real = foryou_mod.foryou_issue
    monkeypatch.setattr(foryou_mod, "foryou_issue", lambda *a, **k: calls.append(a) or real(*a, **k))
    summary, result = _send(mail_settings, papers, [("foryou-daily", TUESDAY)])
    assert summary.planned == 0 and "2 planned before" in summary.lines()[0]
    assert calls == [] and result.sent == 0 and smtp.count() == 2


def _crash_setup(settings, store, n: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    users = []
    for i in range(n):
        user, _ = _user(settings, store, f"user{i}", saves=WARM if i % 2 == 0 else WARM[:1])
        users.append(user)
    plan_digests(store, settings, [("foryou-daily", TUESDAY)])
    rows = store.due_outbox(now=datetime.now(UTC) + timedelta(days=1), limit=1000)
    assert len(rows) == n and {r.kind for r in rows} == {"foryou"}
    expected = {f"<pb.{r.id}.foryou.{r.period}@paperboard.test>": r.email for r in rows}
    planned = {r.email: Issue.from_payload(r.payload).sections[0].paper_ids for r in rows}
    return expected, planned


@needs_recommender
@pytest.mark.parametrize("stage", ["dot", "body"])
def test_kill_mid_send_then_resume_sends_each_planned_email_once(mail_settings, papers, smtp, stage):
    expected, planned = _crash_setup(mail_settings, papers, 5)
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(HERE / "crash_sender.py"), stage, "3"], env=env, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert smtp.count() == (3 if stage == "dot" else 2)
    # Meanwhile every user acts: the resumed emails still show what was planned.
    for i in range(5):
        user = papers.get_user_by_name(f"user{i}")
        for pid in ("2506.00010", "2506.00011"):
            papers.dismiss_paper(user.id, pid)
    OutboxSender(mail_settings, papers).run()
    got = Counter(m.message_id for m in smtp.messages)
    assert set(got) == set(expected) and set(got.values()) == {1}
    for m in smtp.messages:
        assert m.to == expected[m.message_id]
        ids = re.findall(r"https://papers\.example\.org/papers/(\S+)", m.part("plain"))
        assert ids == planned[m.to]
    assert papers.outbox_counts(kind="foryou") == {"sent": 5}


# -- unsubscribe -------------------------------------------------------------------------------
def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@needs_recommender
def test_one_click_unsubscribe_from_foryou_stops_only_foryou(mail_settings, papers, smtp):
    _user(mail_settings, papers, "ada", kind="daily", saves=WARM)
    _send(mail_settings, papers, [("daily", TUESDAY), ("foryou-daily", TUESDAY)])
    mails = smtp.to("ada@example.org")
    assert sorted(m.message["Subject"].split(" · ")[0] for m in mails) == ["For you", "Trending papers"]
    foryou_mail = next(m for m in mails if m.message["Subject"].startswith("For you"))
    trending_mail = next(m for m in mails if m.message["Subject"].startswith("Trending"))
    header = foryou_mail.message["List-Unsubscribe"].strip("<>")
    assert foryou_mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert header != trending_mail.message["List-Unsubscribe"].strip("<>")
    assert header in foryou_mail.part("plain")
    app = create_app(mail_settings, papers)
    mail_client = TestClient(app, base_url="https://papers.example.org")  # no cookie, no CSRF
    r = mail_client.post(_path(header), content=b"List-Unsubscribe=One-Click",
                         headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 200 and "No more For-you emails" in r.text
    sub = papers.get_subscriber_by_email("ada@example.org")
    assert (sub.status, sub.kind, sub.foryou) == ("confirmed", "daily", "off")
    _send(mail_settings, papers, [("daily", WEDNESDAY), ("foryou-daily", WEDNESDAY)])
    assert [m.message["Subject"] for m in smtp.to("ada@example.org")[2:]] == ["Trending papers · Wed 4 Jun 2025"]


@needs_recommender
def test_leaving_the_list_also_ends_foryou_and_skips_what_is_planned(mail_settings, papers, smtp):
    _user(mail_settings, papers, "ada", kind="daily", saves=WARM)
    plan_digests(papers, mail_settings, [("foryou-daily", TUESDAY)])
    sub = papers.get_subscriber_by_email("ada@example.org")
    left = papers.unsubscribe(sub.id)
    assert (left.status, left.foryou) == ("unsubscribed", "off")
    OutboxSender(mail_settings, papers).run()
    assert smtp.count() == 0 and papers.outbox_counts(kind="foryou") == {"skipped": 1}
    # Coming back to the trending digest does not quietly restart the For-you one.
    papers.upsert_subscriber("ada@example.org", "daily", confirmed=True)
    assert papers.foryou_subscribers("daily") == []


@needs_recommender
def test_turning_it_off_skips_a_planned_email_and_one_address_per_user(mail_settings, papers, smtp):
    user, first = _user(mail_settings, papers, "ada", saves=WARM)
    plan_digests(papers, mail_settings, [("foryou-daily", TUESDAY)])
    other, _ = papers.upsert_subscriber("ada.work@example.org", "none", confirmed=True, user_id=user.id)
    moved = papers.set_foryou_digest(other.id, "weekly", user_id=user.id)
    assert moved.foryou == "weekly"
    assert papers.get_subscriber(first.id).foryou == "off"
    assert [s.email for s in papers.foryou_subscribers("weekly")] == ["ada.work@example.org"]
    assert papers.foryou_subscribers("daily") == []
    OutboxSender(mail_settings, papers).run()
    assert smtp.count() == 0 and papers.outbox_counts(kind="foryou") == {"skipped": 1}
    # Another user cannot point theirs at this address.
    bob = papers.create_user("bob", "x", email="bob@example.org")
    assert papers.set_foryou_digest(other.id, "daily", user_id=bob.id) is None


# -- the account page --------------------------------------------------------------------------
def _csrf(client: TestClient, path: str) -> str:
    m = CSRF.search(client.get(path).text)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


@pytest.fixture
def client(mail_settings, papers):
    with TestClient(create_app(mail_settings, papers), base_url="https://papers.example.org") as c:
        yield c


def test_account_page_chooses_the_foryou_digest(client, papers, smtp, mail_settings):
    r = client.post("/account/foryou-digest", data={"cadence": "daily"}, follow_redirects=False)
    assert r.status_code in (302, 303, 403)  # anonymous: refused
    r = client.post("/signup", data={"username": "ada", "password": "correct horse battery",
                                     "email": "ada@example.org", "csrf_token": _csrf(client, "/signup")},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = client.get("/account/alerts")
    assert "For you by email" in page.text and 'action="/account/foryou-digest"' not in page.text
    r = client.post("/account/foryou-digest", data={"cadence": "daily", "csrf_token": _csrf(client, "/account/alerts")})
    assert r.status_code == 400 and "subscribe an address first" in r.text.lower()
    # Subscribe the account's address and confirm it: now the choice is offered.
    user = papers.get_user_by_name("ada")
    papers.upsert_subscriber("ada@example.org", "none", confirmed=True, user_id=user.id)
    page = client.get("/account/alerts")
    assert 'action="/account/foryou-digest"' in page.text and 'value="off" checked' in page.text
    r = client.post("/account/foryou-digest", data={"cadence": "daily"})
    assert r.status_code == 403  # no CSRF token
    assert papers.get_subscriber_by_email("ada@example.org").foryou == "off"
    r = client.post("/account/foryou-digest", data={"cadence": "weekly", "csrf_token": _csrf(client, "/account/alerts")})
    assert r.status_code == 200 and "every Monday" in r.text and 'value="weekly" checked' in r.text
    assert papers.get_subscriber_by_email("ada@example.org").foryou == "weekly"
    r = client.post("/account/foryou-digest", data={"cadence": "hourly", "csrf_token": _csrf(client, "/account/alerts")})
    assert r.status_code == 400 and papers.get_subscriber_by_email("ada@example.org").foryou == "weekly"
    r = client.post("/account/foryou-digest", data={"cadence": "off", "csrf_token": _csrf(client, "/account/alerts")})
    assert r.status_code == 200 and papers.get_subscriber_by_email("ada@example.org").foryou == "off"


# -- the CLI -----------------------------------------------------------------------------------
@needs_recommender
def test_cli_send_and_preview_foryou(mail_settings, papers, smtp):
    user, _ = _user(mail_settings, papers, "ada", saves=WARM)
    expected = for_you(papers, user.id, start=TUESDAY, end=TUESDAY, limit=mail_settings.digest_top_n)
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    r = cli("digest", "preview", "--email", "ada@example.org", "--kind", "foryou", "--date", TUESDAY.isoformat())
    assert r.exit_code == 0 and smtp.count() == 0
    for p in expected.picks:
        assert p.paper.title in r.output and p.reason in r.output
    r = cli("digest", "preview", "--email", "ada@example.org", "--kind", "foryou", "--date", SATURDAY.isoformat())
    assert r.exit_code == 0 and "no email would be sent" in r.output and "weekends" in r.output
    r = cli("digest", "send", "--kind", "foryou", "--date", TUESDAY.isoformat(), "--dry-run")
    assert r.exit_code == 0 and "1 emails would be planned" in r.output and smtp.count() == 0
    r = cli("digest", "send", "--kind", "foryou", "--date", TUESDAY.isoformat())
    assert r.exit_code == 0 and "sent 1" in r.output
    assert _listed(smtp.to("ada@example.org")[0]) == [(p.paper.title, p.reason) for p in expected.picks]
    r = cli("digest", "send", "--kind", "foryou", "--date", TUESDAY.isoformat())
    assert "0 newly planned" in r.output and "sent 0" in r.output and smtp.count() == 1
    assert day(TUESDAY).label in r.output


def test_cli_preview_refuses_an_address_without_an_account(mail_settings, papers):
    papers.upsert_subscriber("anon@example.org", "daily", confirmed=True)
    store = open_store(mail_settings.resolved_database_url)
    store.close()
    r = CliRunner().invoke(main, ["digest", "preview", "--email", "anon@example.org", "--kind", "foryou"])
    assert r.exit_code == 2 and "belongs to no account" in r.output



def test_hostile_titles_and_reasons_are_inert_in_html(mail_settings, papers):
    """Rendered from a planned payload, so it holds without the recommender."""
    from paperboard.digest.compose import Composer
    from paperboard.digest.selection import FORYOU, Section

    sub, _ = papers.upsert_subscriber("ada@example.org", "none", confirmed=True)
    issue = Issue(FORYOU, "2025-06-03", "2025-06-03", "2025-06-03",
                  [Section(["2506.00013"], reasons=[f"because you saved “{HOSTILE}”"])])  # fmt: skip
    rendered = Composer(mail_settings, papers).render_issue(issue, sub.id, sub.email)
    assert "<script>" not in rendered.html and "<b>bold</b>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html and "&lt;b&gt;bold&lt;/b&gt;" in rendered.html
    assert f"Why: because you saved “{HOSTILE}”" in rendered.text  # plain text stays as written
    assert "token=" in rendered.text and "Stop the For-you emails" in rendered.text


# -- the migration -----------------------------------------------------------------------------
def test_migration_0011_keeps_every_outbox_row_and_index_and_admits_foryou(tmp_path, store_backend, request,
                                                                          monkeypatch):  # fmt: skip
    import importlib

    migrations = importlib.import_module(f"paperboard.store.{store_backend}.migrations")
    everything = migrations.available()
    assert [v for v, _, _ in everything if v == 11] == [11]
    monkeypatch.setattr(migrations, "available", lambda: [m for m in everything if m[0] < 11])
    if store_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'at-0010.db'}"
    else:
        databases = request.getfixturevalue("pg_databases")
        url = databases.empty()
        request.addfinalizer(lambda: databases.drop(url))
    store = open_store(url)
    assert store.schema_version() == 10
    q = store._dialect.sql
    at = store._dialect.ts(datetime(2025, 6, 3, 8, tzinfo=UTC))

    def indexes(conn) -> set[str]:
        sql = ("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'"
               if store_backend == "sqlite" else "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'outbox'")  # fmt: skip
        return {r["name"] for r in conn.execute(sql).fetchall()}

    def outbox(conn) -> list[tuple]:
        return [tuple(r[c] for c in ("id", "subscriber_id", "kind", "period", "payload", "status", "attempts",
                                    "next_attempt_at", "last_error", "planned_at", "sent_at"))
                for r in conn.execute("SELECT * FROM outbox ORDER BY id").fetchall()]  # fmt: skip

    with store._db.writer() as conn:
        conn.execute(q("INSERT INTO subscribers (email, kind, status, created_at, updated_at) VALUES (?, 'daily',"
                       " 'confirmed', ?, ?)"), ("old@example.org", at, at))  # fmt: skip
        sid = conn.execute(q("SELECT id FROM subscribers WHERE email = ?"), ("old@example.org",)).fetchone()["id"]
        for i, (kind, status) in enumerate([("daily", "sent"), ("weekly", "pending"), ("alerts", "failed"),
                                            ("confirm", "skipped")]):  # fmt: skip
            conn.execute(
                q("INSERT INTO outbox (id, subscriber_id, kind, period, payload, status, attempts, next_attempt_at,"
                  " last_error, planned_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (40 + i, sid, kind, f"p{i}", "{}", status, i, at, "e" if i else None, at, at if i == 0 else None),
            )  # fmt: skip
    with store._db.reader() as conn:
        rows_before, indexes_before = outbox(conn), indexes(conn)
    assert len(rows_before) == 4 and {"outbox_due", "outbox_status", "outbox_kind_period"} <= indexes_before

    monkeypatch.setattr(migrations, "available", lambda: [m for m in everything if m[0] <= 11])
    assert store.migrate() == ["0011_foryou_digest"] and store.schema_version() == 11
    with store._db.reader() as conn:
        assert outbox(conn) == rows_before
        assert indexes(conn) == indexes_before
    sub = store.get_subscriber(sid)
    assert (sub.email, sub.foryou) == ("old@example.org", "off")
    # A foryou row is admitted, planned once; an unknown kind is still refused.
    from paperboard.store.digest import OutboxPlan

    assert len(store.plan_outbox([OutboxPlan(sid, "foryou", "2025-06-03", "{}")] * 2, now=datetime.now(UTC))) == 1
    assert store.plan_outbox([OutboxPlan(sid, "daily", "p0", "{}")], now=datetime.now(UTC)) == []  # unique key kept
    with pytest.raises(Exception, match="(?i)check"), store._db.writer() as conn:
        conn.execute(q("INSERT INTO outbox (subscriber_id, kind, period, payload, next_attempt_at, planned_at)"
                       " VALUES (?, 'bogus', 'x', '{}', ?, ?)"), (sid, at, at))  # fmt: skip
    store.close()
