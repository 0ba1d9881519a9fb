""""For you" end to end in headless Chromium: sign up, save three papers, wave one away, read
the personal feed with its reasons, export BibTeX, and receive the ``foryou`` digest at a
local SMTP server (the issue's done-when, as a user does it)."""

from __future__ import annotations

import re
import threading
import time
from datetime import date

import bibtexparser
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from paperboard.cli import main
from paperboard.config import Settings
from paperboard.web.app import create_app
from tests.digest.conftest import Recorder
from tests.servers import free_port

from .test_browser import CHROMIUM, page  # noqa: F401 (page: the Chromium fixture)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]
if not CHROMIUM.exists():
    pytestmark.append(pytest.mark.skip(reason="no /usr/bin/chromium: run scripts/ensure-chromium.sh"))

DEMO_DAY = date(2025, 11, 3)  # a Monday: the demo corpus's one feed day
EMAIL = "reader@example.org"


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, recorder
    controller.stop()


@pytest.fixture
def live(settings, loaded_store, smtp, monkeypatch):
    import uvicorn

    controller, recorder = smtp
    port = free_port()
    env = {
        "PAPERBOARD_SMTP_HOST": "127.0.0.1", "PAPERBOARD_SMTP_PORT": str(controller.port),
        "PAPERBOARD_SMTP_FROM": "Paperboard <digest@paperboard.test>", "PAPERBOARD_SMTP_RATE_PER_SECOND": "0",
        "PAPERBOARD_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    app = create_app(Settings(), loaded_store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", recorder
    server.should_exit = True
    thread.join(timeout=10)


def test_save_dismiss_read_reasons_export_and_get_the_digest(live, page):  # noqa: F811
    base, recorder = live
    pg = page
    pg.goto(f"{base}/signup")
    form = pg.locator("form[action='/signup']")
    form.locator("input[name=username]").fill("reader")
    form.locator("input[name=email]").fill(EMAIL)  # the digest address is the account's own
    form.locator("input[name=password]").fill("correct horse battery")
    form.locator("button[type=submit]").click()
    pg.wait_for_url(f"{base}/")

    # An address for the digest: subscribe, confirm from the email, choose For you daily.
    pg.goto(f"{base}/account/alerts")
    pg.fill("form[action='/subscribe'] input[name=email]", EMAIL)
    pg.click("form[action='/subscribe'] button[type=submit]")
    recorder.wait_for(1)
    confirm = re.search(r"https?://\S+/subscribe/confirm\?\S+", recorder.to(EMAIL)[0].part("plain")).group(0)
    pg.goto(confirm.replace("&amp;", "&"))
    pg.goto(f"{base}/account/alerts")
    pg.check("form[action='/account/foryou-digest'] input[value=daily]")
    pg.click("form[action='/account/foryou-digest'] button[type=submit]")

    # Cold start: the personal feed asks for positives and shows trending meanwhile.
    pg.goto(f"{base}/for-you?date={DEMO_DAY}")
    assert pg.locator(".cold-start").count() == 1

    # Save three robotics papers from the feed (one click each on their cards).
    pg.goto(f"{base}/search?q=robot+policy")
    saved_titles = []
    for i in range(3):
        card = pg.locator("article.card").nth(i)
        saved_titles.append(card.locator(".card-title").inner_text())
        card.locator("form.save button").click()
        pg.wait_for_load_state()
    assert pg.locator("article.card form.save button[aria-pressed=true]").count() >= 3

    # The personal feed: reasons name a saved paper; "Not interested" takes a paper away.
    pg.goto(f"{base}/for-you?date={DEMO_DAY}")
    assert pg.locator(".cold-start").count() == 0
    reasons = pg.locator(".pick .reason").all_inner_texts()
    assert reasons and all(r.startswith("because you saved") for r in reasons)
    assert any(t in reasons[0] for t in saved_titles)
    shown = pg.locator(".pick .card-title").all_inner_texts()
    assert not set(shown) & set(saved_titles)
    gone = shown[0]
    pg.locator(".pick").first.locator("form.dismiss button").click()
    pg.wait_for_load_state()
    assert gone not in pg.locator(".pick .card-title").all_inner_texts()

    # Export the library as BibTeX: a real parser reads three entries.
    pg.goto(f"{base}/library")
    with pg.expect_download() as download:
        pg.click("a[href*='/library/export?format=bibtex']")
    bib = bibtexparser.parse_string(download.value.path().read_text(encoding="utf-8"))
    assert not bib.failed_blocks and len(bib.entries) == 3

    # The worker's job for that day: the foryou email arrives with the same reasons.
    result = CliRunner().invoke(main, ["digest", "send", "--kind", "foryou", "--date", DEMO_DAY.isoformat()])
    assert result.exit_code == 0, result.output
    recorder.wait_for(2)
    mails = [m for m in recorder.to(EMAIL) if "because you saved" in m.part("plain")]
    assert len(mails) == 1
    text = mails[0].part("plain")
    assert gone not in text and not any(f"\n{t}\n" in text for t in saved_titles)
    assert mails[0].message["List-Unsubscribe"] and mails[0].message["List-Unsubscribe-Post"]
    assert pg.errors == []
