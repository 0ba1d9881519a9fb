"""End to end in a real headless Chromium against the real server (uvicorn on loopback).

Skips when Debian's /usr/bin/chromium or Playwright is absent (``make test`` installs them
with scripts/ensure-chromium.sh).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from paperboard.web.app import create_app
from tests.servers import free_port

from ..replay_server import ReplayServer

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
ARXIV_FIXTURES = Path(__file__).parent.parent / "fixtures" / "arxiv_api"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]
if not CHROMIUM.exists():
    pytestmark.append(pytest.mark.skip(reason="no /usr/bin/chromium: run scripts/ensure-chromium.sh"))
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture
def live_server(settings, loaded_store):
    import uvicorn

    with ReplayServer(ARXIV_FIXTURES) as arxiv:
        arxiv.route({"id_list": "2401.08001", "start": "0", "max_results": "1"}, "single.xml", path="/api/query")
        port = free_port()
        app_settings = settings.model_copy(update={
            "arxiv_api_url": f"{arxiv.url}/api/query", "public_base_url": f"http://127.0.0.1:{port}",
        })  # fmt: skip
        app = create_app(app_settings, loaded_store)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.errors = errors  # type: ignore[attr-defined]
        yield pg
        browser.close()


def _signup(page, base: str, name: str) -> None:
    page.goto(f"{base}/signup")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", "correct horse battery")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.locator(".user-link").inner_text().startswith(name)


def test_signup_submit_upvote_trending_search_open(live_server, page, loaded_store):
    base = live_server
    _signup(page, base, "alice")

    page.goto(f"{base}/submit")
    page.fill("input[name=arxiv]", "https://arxiv.org/abs/2401.08001")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/papers/2401.08001?submitted=1")
    assert "Sparse Mixture-of-Experts Routing" in page.locator("h1").inner_text()
    assert page.locator(".alert.ok").is_visible()

    # Upvote in place (JavaScript): the count changes without a page load.
    vote = page.locator(".paper-head .vote-btn")
    url_before = page.url
    vote.click()
    # A locator assertion polls from the driver: a wait_for_function string would be evaluated
    # in the page, which the site's Content-Security-Policy forbids once the first check fails.
    sync_api.expect(vote).to_have_attribute("aria-pressed", "true", timeout=30_000)
    assert vote.locator(".count").inner_text() == "1"
    assert page.url == url_before
    assert loaded_store.get_paper("2401.08001").upvotes == 1

    page.goto(f"{base}/trending")
    first = page.locator(".card").first
    assert "Sparse Mixture-of-Experts Routing" in first.locator(".card-title").inner_text()
    assert first.locator(".vote-btn").get_attribute("aria-pressed") == "true"

    page.fill(".search-box input[name=q]", "load-balancing losses routing")
    page.press(".search-box input[name=q]", "Enter")
    page.wait_for_url("**/search?q=*")
    result = page.locator(".card-title a", has_text="Sparse Mixture-of-Experts Routing")
    result.first.click()
    page.wait_for_url(f"{base}/papers/2401.08001")
    assert "Adaeze Okafor" in page.locator(".authors-full").inner_text()
    page.click(".cite summary")
    assert "eprint = {2401.08001}" in page.locator("#bibtex").inner_text()
    assert page.errors == []


def test_xss_in_a_comment_does_not_execute(live_server, page):
    base = live_server
    _signup(page, base, "mallory")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    payload = (
        '<script>window.__xss = 1; alert("script")</script> "><img src=x onerror="window.__xss=2">'
        ' [click](javascript:window.__xss=3) <svg onload="window.__xss=4">'
    )
    page.goto(f"{base}/papers/2607.00003")
    page.fill("#comment-body", payload)
    page.click(".comment-form button[type=submit]")
    page.wait_for_selector(".comment-body")
    assert "<script>" in page.locator(".comment-body").inner_text()  # shown as text
    page.locator(".comment-body").click()
    page.get_by_text("[click]", exact=False).first.click()
    page.reload()
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    # the hostile paper title and abstract are text too
    assert page.locator("script:not([src])").count() == 0
    assert page.locator(".paper-title").inner_text().startswith('<script>alert("t")</script>')


def test_feed_screenshot_and_works_without_javascript(live_server, page, settings):
    base = live_server
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{base}/")
    assert page.locator(".card").count() >= 3
    assert page.locator("text=Get trending papers in your email inbox!").is_visible()
    page.screenshot(path=str(ARTIFACTS / "feed.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "feed-mobile.png"))
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert (ARTIFACTS / "feed.png").stat().st_size > 10_000


def test_upvote_without_javascript_returns_to_the_list(live_server, settings):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        _signup(page, live_server, "nojs")
        page.goto(f"{live_server}/papers?date=2026-07-01")
        card = page.locator("#p-2607\\.00002")
        card.locator(".vote-btn").click()
        page.wait_for_load_state()
        assert page.url == f"{live_server}/papers?date=2026-07-01"
        assert page.locator("#p-2607\\.00002 .vote-btn .count").inner_text() == "13"
        browser.close()
