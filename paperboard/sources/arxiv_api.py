"""Fetch papers by id from the arXiv query API (Atom), for submissions and small top-ups.

The API answers an id it does not know with an empty feed or an entry without an id, and a
malformed id with an error entry (often as HTTP 400), so every requested id is accounted
for: a Paper, or a RecordError saying why not. arXiv asks API clients to leave 3 seconds
between requests; batches of 100 ids keep that cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from xml.etree import ElementTree as ET

from ..config import Settings
from ..ids import ArxivId, InvalidId, parse_arxiv_id
from ..models import Paper, RecordError
from .base import SourceItem, build_paper
from .http import BadXml, HttpClient, SourceError, parse_xml

SOURCE = "arxiv-api"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
BATCH_SIZE = 100
POLITE_DELAY = 3.0
NOT_FOUND = "not found on arXiv"
_ARXIV_CATEGORY = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z\-]+)?$")
"""arXiv's own categories; entries also list ACM ("I.2.6") and MSC ("68T05") classes."""


class PaperNotFound(SourceError):
    """arXiv has no paper with this id."""


def _text(el: ET.Element, path: str) -> str | None:
    found = el.find(path)
    text = found.text.strip() if found is not None and found.text else ""
    return text or None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _entry_fields(entry: ET.Element, aid: ArxivId) -> dict[str, Any]:
    primary = entry.find(f"{ARXIV}primary_category")
    primary_term = primary.get("term") if primary is not None else None
    doi = _text(entry, f"{ARXIV}doi")
    if doi is None:
        link = entry.find(f"{ATOM}link[@title='doi']")
        href = link.get("href", "") if link is not None else ""
        doi = re.sub(r"^https?://(?:dx\.)?doi\.org/", "", href) or None
    return {
        "id": aid.id,
        "version": aid.version or 1,
        "title": _text(entry, f"{ATOM}title") or "",
        "abstract": _text(entry, f"{ATOM}summary") or "",
        "authors": [_text(a, f"{ATOM}name") or "" for a in entry.iterfind(f"{ATOM}author")],
        "primary_category": primary_term
        if primary_term and _ARXIV_CATEGORY.match(primary_term)
        else None,
        "categories": [
            t
            for c in entry.iterfind(f"{ATOM}category")
            if _ARXIV_CATEGORY.match(t := c.get("term", ""))
        ],
        "comment": _text(entry, f"{ARXIV}comment"),
        "journal_ref": _text(entry, f"{ARXIV}journal_ref"),
        "doi": doi,
        "published": _when(_text(entry, f"{ATOM}published")),
        "updated": _when(_text(entry, f"{ATOM}updated")),
    }


def _fetch_batch(
    client: HttpClient, url: str, batch: list[ArxivId], extra: dict[str, Any]
) -> Iterator[SourceItem]:
    params = {
        "id_list": ",".join(str(a) for a in batch),
        "start": "0",
        "max_results": str(len(batch)),
    }
    response = client.get(url, params)
    try:
        root = parse_xml(response.content)
    except BadXml as exc:
        reason = f"unreadable API response (HTTP {response.status_code}): {exc}"
        yield from (RecordError(SOURCE, str(a), reason) for a in batch)
        return
    found: dict[str, SourceItem] = {}
    api_errors: list[str] = []
    for entry in root.iterfind(f"{ATOM}entry"):
        entry_id = _text(entry, f"{ATOM}id")
        if entry_id is None:  # how the API answers a well-formed id it does not know
            continue
        if "/api/errors" in entry_id:
            api_errors.append(_text(entry, f"{ATOM}summary") or entry_id.rsplit("#", 1)[-1])
            continue
        try:
            aid = parse_arxiv_id(entry_id)
            fields = _entry_fields(entry, aid) | extra
        except ValueError as exc:
            found[entry_id] = RecordError(SOURCE, entry_id[:80], str(exc)[:300])
            continue
        found[aid.id] = build_paper(SOURCE, str(aid), fields)
    if not api_errors and response.status_code != 200:
        api_errors.append(f"HTTP {response.status_code}")
    for a in batch:
        item = found.get(a.id)
        if item is None:
            reason = f"arXiv API error: {'; '.join(api_errors)}" if api_errors else NOT_FOUND
            item = RecordError(SOURCE, str(a), reason)
        yield item


def fetch_papers(
    ids: Iterable[str],
    settings: Settings,
    *,
    feed_day: date | None = None,
    submitted_by: str | None = None,
    client: HttpClient | None = None,
    batch_size: int = BATCH_SIZE,
    delay: float = POLITE_DELAY,
) -> Iterator[SourceItem]:
    """One item per distinct id, in request order; waits ``delay`` (via the client's sleep)
    between batches. ``feed_day`` defaults to today (UTC): a submitted paper is today's news."""
    extra = {
        "feed_day": feed_day or datetime.now(UTC).date(),
        "submitted_by": submitted_by,
    }
    wanted: list[ArxivId] = []
    seen: set[str] = set()
    for raw in ids:
        try:
            aid = parse_arxiv_id(raw)
        except InvalidId as exc:
            yield RecordError(SOURCE, str(raw)[:80], str(exc))
            continue
        if aid.id not in seen:
            seen.add(aid.id)
            wanted.append(aid)
    if not wanted:
        return
    http = client or HttpClient(settings)
    try:
        for start in range(0, len(wanted), batch_size):
            if start:
                http.sleep(delay)
            yield from _fetch_batch(
                http, settings.arxiv_api_url, wanted[start : start + batch_size], extra
            )
    finally:
        if client is None:
            http.close()


def fetch_paper(
    paper_id: str,
    settings: Settings,
    *,
    feed_day: date | None = None,
    submitted_by: str | None = None,
    client: HttpClient | None = None,
) -> Paper:
    """One paper for the submit page. Raises ``InvalidId`` (not an arXiv id), ``PaperNotFound``,
    ``SourceUnavailable`` (offline / arXiv down) or ``SourceError`` (unusable record)."""
    aid = parse_arxiv_id(paper_id)
    items = list(
        fetch_papers(
            [str(aid)], settings, feed_day=feed_day, submitted_by=submitted_by, client=client
        )
    )
    item = items[0]
    if isinstance(item, Paper):
        return item
    if item.reason == NOT_FOUND:
        raise PaperNotFound(f"arXiv has no paper {aid}")
    raise SourceError(f"cannot use arXiv's record for {aid}: {item.reason}")
