"""A forgotten password, end to end in headless Chromium: the "forgot" form, the email as a
local SMTP server receives it, its link opened in the browser, a new password, and a log-in
with it."""

from __future__ import annotations

import re

import pytest

from paperboard.web.passwords import hash_password
from tests.digest.conftest import smtp, smtp_server  # noqa: F401 (fixtures)

from .test_browser import CHROMIUM, live_server, page  # noqa: F401 (the live-server and Chromium fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]
if not CHROMIUM.exists():
    pytestmark.append(pytest.mark.skip(reason="no /usr/bin/chromium: run scripts/ensure-chromium.sh"))


@pytest.fixture
def settings(settings, smtp_server):  # noqa: F811 - the suite's settings, sending to the local server
    controller, _ = smtp_server
    return settings.model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": controller.port,
        "smtp_from": "Paperboard <accounts@paperboard.test>", "smtp_rate_per_second": 0,
    })  # fmt: skip


def test_forgotten_password_reset_by_email_then_log_in(live_server, page, smtp, loaded_store):  # noqa: F811
    base = live_server
    loaded_store.create_user("ada", hash_password("the old forgotten one"), email="ada@example.org")

    page.goto(f"{base}/login")
    page.click("text=Forgot your password?")
    page.wait_for_url(f"{base}/forgot")
    page.fill("form[action='/forgot'] input[name=email]", "ada@example.org")
    page.click("form[action='/forgot'] button[type=submit]")
    assert page.locator("h1").inner_text() == "Check your inbox"

    smtp.wait_for(1)
    [mail] = smtp.to("ada@example.org")
    link = re.search(rf"{re.escape(base)}/reset\?token=\S+", mail.part("plain")).group(0)
    page.goto(link)
    assert "ada" in page.locator(".form-page").inner_text()
    page.fill("#reset-form input[name=new]", "a fresh password 42")
    page.fill("#reset-form input[name=repeat]", "a fresh password 42")
    page.click("#reset-form button[type=submit]")
    page.wait_for_url(f"{base}/login?done=reset")
    assert "Log in with the new password" in page.locator(".alert.ok").inner_text()

    page.fill("form[action='/login'] input[name=username]", "ada")
    page.fill("form[action='/login'] input[name=password]", "a fresh password 42")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.locator(".user-link").inner_text().startswith("ada")

    page.goto(link)  # the link worked once
    assert "already used" in page.locator(".alert.error").inner_text()
    assert page.errors == []
