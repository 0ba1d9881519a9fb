"""The one HTTP client the network sources share, so politeness and failure handling are
decided once: arXiv throttles with ``503 + Retry-After`` and asks harvesters to honour it, and
a machine that is offline should get one clear sentence, not a traceback.

Only transport failures and exhausted 5xx retries raise; any other response (including 4xx,
whose bodies often carry an OAI or Atom error document) is returned for the caller to read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.etree import ElementTree as ET

import httpx
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from .. import __version__
from ..config import Settings

USER_AGENT = f"paperboard/{__version__} (self-hosted daily-papers hub; python-httpx)"
MAX_RETRY_AFTER = 300.0
"""A server asking for a longer pause than this is waited on for this long only."""
MAX_BACKOFF = 60.0


class SourceError(Exception):
    """A source failed as a whole; the message is meant for the user as-is."""


class SourceUnavailable(SourceError):
    """The remote service could not be reached or kept failing (offline, DNS, 5xx)."""


class BadXml(ValueError):
    """A response body that is not a well-formed XML document we are willing to read."""


def parse_xml(data: bytes) -> ET.Element:
    """Parse a remote XML document, refusing DTDs: arXiv never sends one, and refusing them
    means a hostile or broken server cannot expand entities or point us at local files."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise BadXml(str(exc) or type(exc).__name__) from exc


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After`` (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


class HttpClient:
    """GET with timeouts, retries with exponential backoff, and ``Retry-After`` honoured.

    ``sleep`` is injectable so tests can record the waits instead of taking them.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_retry_after: float = MAX_RETRY_AFTER,
        backoff_base: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.sleep = sleep
        self.max_retries = max(0, settings.http_max_retries)
        self.max_retry_after = max_retry_after
        self.backoff_base = backoff_base
        self._client = httpx.Client(
            timeout=settings.http_timeout,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_base * 2**attempt, MAX_BACKOFF)

    def get(self, url: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        host = httpx.URL(url).host or url
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._client.get(url, params=params)
            except httpx.TransportError as exc:
                if last:
                    reason = str(exc) or type(exc).__name__
                    raise SourceUnavailable(f"cannot reach {host} (offline?): {reason}") from exc
                self.sleep(self._backoff(attempt))
                continue
            if response.status_code < 500 and response.status_code != 429:
                return response
            if last:
                raise SourceUnavailable(
                    f"{host} is unavailable: HTTP {response.status_code}"
                    f" after {self.max_retries + 1} attempts"
                )
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None:
                wait = self._backoff(attempt)
            self.sleep(min(wait, self.max_retry_after))
        raise AssertionError("unreachable")  # the loop always returns or raises
