"""A real SMTP server (aiosmtpd) on a free loopback port that records what it accepts.

``rules`` lets a test make the server refuse some recipients at RCPT time: a fixed reply
(``"550 5.1.1 no such mailbox"``) or a list consumed one reply per attempt (e.g. two
``451`` then acceptance), which is how bounces and transient failures are produced.
"""

from __future__ import annotations

import email
import threading
import time
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from paperboard.config import Settings
from paperboard.models import Paper
from tests.servers import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=default_policy)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return body.get_content()


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.rules: dict[str, str | list[str]] = {}
        self.rcpt_attempts: dict[str, int] = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        key = address.lower()
        with self.lock:
            self.rcpt_attempts[key] = self.rcpt_attempts.get(key, 0) + 1
            rule = self.rules.get(key)
            if isinstance(rule, list):
                reply = rule.pop(0) if rule else None
            else:
                reply = rule
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, recorder
    finally:
        controller.stop()


@pytest.fixture
def smtp(smtp_server) -> Recorder:
    return smtp_server[1]


@pytest.fixture
def mail_settings(settings: Settings, smtp_server, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing at the test SMTP server, with retries fast enough for a test."""
    controller, _ = smtp_server
    env = {
        "PAPERBOARD_SMTP_HOST": "127.0.0.1",
        "PAPERBOARD_SMTP_PORT": str(controller.port),
        "PAPERBOARD_SMTP_FROM": "Paperboard <digest@paperboard.test>",
        "PAPERBOARD_SMTP_RATE_PER_SECOND": "0",
        "PAPERBOARD_DIGEST_RETRY_BASE_SECONDS": "0.02",
        "PAPERBOARD_DIGEST_MAX_ATTEMPTS": "3",
        "PAPERBOARD_DIGEST_BOUNCE_LIMIT": "2",
        "PAPERBOARD_PUBLIC_BASE_URL": "https://papers.example.org",
        "PAPERBOARD_SMTP_TIMEOUT": "10",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Settings()


# Tue 3 June 2025 and its neighbours: a weekday feed, the week 2025-W23, and a Saturday.
TUESDAY = date(2025, 6, 3)
WEDNESDAY = date(2025, 6, 4)
SATURDAY = date(2025, 6, 7)


def paper(n: int, day: date, title: str, *, upvotes: int = 0, abstract: str | None = None,
          categories: tuple[str, ...] = ("cs.LG",), authors: tuple[str, ...] = ("Ada Lovelace", "Alan Turing")) -> Paper:  # fmt: skip
    return Paper(
        id=f"2506.{n:05d}",
        title=title,
        abstract=abstract or f"We study {title.lower()}. Further sentences follow here.",
        authors=list(authors),
        categories=list(categories),
        feed_day=day,
        upvotes=upvotes,
    )
