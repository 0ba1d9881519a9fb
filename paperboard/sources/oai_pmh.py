"""Harvest arXiv's OAI-PMH endpoint (``ListRecords`` in the ``arXiv`` or ``arXivRaw`` format).

A full harvest is thousands of pages, so it must survive being killed: the resumption token
for the next page is kept as a store checkpoint, and it is only advanced by ``page.commit()``,
which the ingest pipeline calls *after* the page's papers are stored. A rerun with the same
parameters resumes at the first page not committed; since upserts are idempotent, re-reading
a page that was stored but not committed changes nothing.

One bad record costs one ``RecordError``; a page that is not well-formed XML is salvaged
record by record; only a page with no readable structure (truncated, an HTML error page)
stops the harvest, leaving the checkpoint on that page so the next run retries it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree import ElementTree as ET

from ..config import Settings
from ..ids import ArxivId, parse_arxiv_id
from ..models import RecordError
from ..store.base import Store
from .base import SourceItem, build_paper
from .http import BadXml, HttpClient, SourceError, parse_xml

SOURCE = "arxiv-oai"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
PREFIXES = {"arXiv": "http://arxiv.org/OAI/arXiv/", "arXivRaw": "http://arxiv.org/OAI/arXivRaw/"}

_ROOT_TAG = re.compile(r"<((?:\w+:)?OAI-PMH)\b[^>]*>")
_RECORD = re.compile(r"<(?:\w+:)?record\b[^>]*>.*?</(?:\w+:)?record\s*>", re.DOTALL)
_LIST_END = re.compile(r"</(?:\w+:)?ListRecords\s*>")
_TOKEN = re.compile(
    r"<(?:\w+:)?resumptionToken\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?resumptionToken\s*>)"
)
_IDENTIFIER = re.compile(r"<(?:\w+:)?identifier>([^<]{1,200})</")
_SUFFIXES = {"Jr", "Jr.", "Sr", "Sr.", "II", "III", "IV"}


class OaiError(SourceError):
    """The repository answered with an OAI-PMH error the harvest cannot continue past."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class BrokenPage(Exception):
    """A page with no readable structure: nothing on it, not even the next token, is usable."""


@dataclass(slots=True)
class _Unparsable:
    identifier: str | None
    reason: str


@dataclass(slots=True)
class ParsedPage:
    records: list[ET.Element | _Unparsable] = field(default_factory=list)
    token: str | None = None
    error: tuple[str, str] | None = None
    malformed: str | None = None
    """Why the page as a whole failed to parse when its records were salvaged one by one."""


@dataclass(slots=True)
class HarvestPage:
    """One page's items; call ``commit()`` once they are stored to advance the checkpoint.

    ``number`` counts pages within this run (a resumed run starts again at 1)."""

    number: int
    items: list[SourceItem]
    commit: Callable[[], None]
    last: bool


def parse_page(data: bytes) -> ParsedPage:
    try:
        root = parse_xml(data)
    except BadXml as exc:
        return _salvage(data, str(exc))
    if root.tag != f"{OAI}OAI-PMH":
        raise BrokenPage(f"not an OAI-PMH response (root element {root.tag[:80]!r})")
    err = root.find(f"{OAI}error")
    if err is not None:
        return ParsedPage(error=(err.get("code", "unknown"), _clean(err.text) or ""))
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise BrokenPage("response has neither ListRecords nor an error")
    token_el = listing.find(f"{OAI}resumptionToken")
    token = (token_el.text or "").strip() if token_el is not None else ""
    return ParsedPage(records=listing.findall(f"{OAI}record"), token=token or None)


def _salvage(data: bytes, reason: str) -> ParsedPage:
    """Parse each ``<record>`` of a malformed page on its own, inside the page's root tag
    (which carries the namespace declarations), so one bad record does not sink the page."""
    text = data.decode("utf-8", errors="replace")
    root_tag, end = _ROOT_TAG.search(text), _LIST_END.search(text)
    if root_tag is None or end is None:
        raise BrokenPage(f"malformed XML and no complete record list ({reason})")
    page = ParsedPage(malformed=reason)
    for m in _RECORD.finditer(text, root_tag.end(), end.start()):
        wrapped = f"{root_tag.group(0)}{m.group(0)}</{root_tag.group(1)}>"
        try:
            record = parse_xml(wrapped.encode("utf-8")).find(f"{OAI}record")
        except BadXml as exc:
            ident = _IDENTIFIER.search(m.group(0))
            page.records.append(
                _Unparsable(ident.group(1) if ident else None, f"malformed XML: {exc}")
            )
            continue
        if record is not None:
            page.records.append(record)
    token = _TOKEN.search(text, root_tag.end())
    if token is not None:
        page.token = html.unescape(token.group(1) or "").strip() or None
    return page


# Record conversion ------------------------------------------------------------------------


def _clean(text: str | None) -> str | None:
    return text.strip() if text and text.strip() else None


def _text(el: ET.Element, path: str) -> str | None:
    found = el.find(path)
    return _clean(found.text) if found is not None else None


def _midnight(day: str | None) -> datetime | None:
    return datetime.combine(date.fromisoformat(day[:10]), time(0), UTC) if day else None


def split_authors(text: str | None) -> list[str]:
    """arXivRaw's author string ("A, B (Univ X) and C") as names, affiliations dropped."""
    s = text or ""
    while (stripped := re.sub(r"\([^()]*\)", " ", s)) != s:
        s = stripped
    names: list[str] = []
    for part in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", s):
        part = " ".join(part.split())
        if part in _SUFFIXES and names:
            names[-1] = f"{names[-1]}, {part}"
        elif part:
            names.append(part)
    return names


def _record_id(meta: ET.Element, ns: str) -> ArxivId:
    text = _text(meta, f"{ns}id")
    if text is None:
        raise ValueError("record has no <id>")
    return parse_arxiv_id(text)


def _arxiv_fields(meta: ET.Element, ns: str) -> dict[str, Any]:
    aid = _record_id(meta, ns)
    created = _midnight(_text(meta, f"{ns}created"))
    authors = []
    for a in meta.iterfind(f"{ns}authors/{ns}author"):
        parts = (_text(a, f"{ns}forenames"), _text(a, f"{ns}keyname"), _text(a, f"{ns}suffix"))
        authors.append(" ".join(p for p in parts if p))
    return {
        "id": aid.id,
        "version": aid.version or 1,  # the arXiv format carries no version number
        "authors": authors,
        "published": created,
        "updated": _midnight(_text(meta, f"{ns}updated")) or created,
    }


def _raw_fields(meta: ET.Element, ns: str) -> dict[str, Any]:
    aid = _record_id(meta, ns)
    versions = []
    for v in meta.iterfind(f"{ns}version"):
        number = int((v.get("version") or "").lstrip("v"))
        versions.append((number, parsedate_to_datetime(_text(v, f"{ns}date") or "")))
    if not versions:
        raise ValueError("record lists no versions")
    versions.sort()
    return {
        "id": aid.id,
        "version": versions[-1][0],
        "authors": split_authors(_text(meta, f"{ns}authors")),
        "published": versions[0][1],
        "updated": versions[-1][1],
    }


def convert_record(record: ET.Element, position: str, prefix: str) -> SourceItem | None:
    """A Paper, a RecordError, or None for a deleted record."""
    header = record.find(f"{OAI}header")
    if header is None:
        return RecordError(SOURCE, position, "record has no header")
    identifier = _text(header, f"{OAI}identifier")
    if identifier:
        position = f"{position} ({identifier})"
    if header.get("status") == "deleted":
        return None
    ns = "{" + PREFIXES[prefix] + "}"
    meta = record.find(f"{OAI}metadata/{ns}{prefix}")
    if meta is None:
        return RecordError(SOURCE, position, f"no {prefix} metadata")
    try:
        feed_day = date.fromisoformat((_text(header, f"{OAI}datestamp") or "")[:10])
        fields = (_arxiv_fields if prefix == "arXiv" else _raw_fields)(meta, ns)
    except (ValueError, TypeError) as exc:
        return RecordError(SOURCE, position, str(exc)[:300] or type(exc).__name__)
    fields.update(
        feed_day=feed_day,
        title=_text(meta, f"{ns}title") or "",
        abstract=_text(meta, f"{ns}abstract") or "",
        categories=(_text(meta, f"{ns}categories") or "").split(),
        comment=_text(meta, f"{ns}comments"),
        journal_ref=_text(meta, f"{ns}journal-ref"),
        doi=_text(meta, f"{ns}doi"),
        license=_text(meta, f"{ns}license"),
    )
    return build_paper(SOURCE, position, fields)


# Harvesting -------------------------------------------------------------------------------


def _day(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


class OaiHarvester:
    """One ListRecords harvest; resumable when given a store."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        prefix: str = "arXiv",
        from_: date | str | None = None,
        until: date | str | None = None,
        set_: str | None = None,
        client: HttpClient | None = None,
        restart: bool = False,
    ) -> None:
        if prefix not in PREFIXES:
            raise ValueError(f"unsupported metadataPrefix {prefix!r} (use one of {list(PREFIXES)})")
        self.settings, self.store, self.prefix = settings, store, prefix
        self.url = settings.arxiv_oai_url
        self.params = {"verb": "ListRecords", "metadataPrefix": prefix}
        for key, value in (("from", _day(from_)), ("until", _day(until)), ("set", set_)):
            if value:
                self.params[key] = value
        start, end = self.params.get("from", ""), self.params.get("until", "")
        self.checkpoint_name = f"oai-pmh:{self.url}|{prefix}|{start}|{end}|{set_ or ''}"
        self.client = client
        self.restart = restart
        self.resumed_from: str | None = None
        """The saved token this harvest started from, when it resumed one."""

    def _saver(self, token: str | None) -> Callable[[], None]:
        if self.store is None:
            return lambda: None
        store, name = self.store, self.checkpoint_name
        return lambda: store.set_checkpoint(name, token)

    def pages(self) -> Iterator[HarvestPage]:
        token: str | None = None
        if self.store is not None:
            if self.restart:
                self.store.set_checkpoint(self.checkpoint_name, None)
            token = self.store.get_checkpoint(self.checkpoint_name)
        self.resumed_from = token
        client = self.client or HttpClient(self.settings)
        try:
            yield from self._pages(client, token)
        finally:
            if self.client is None:
                client.close()

    def _pages(self, client: HttpClient, token: str | None) -> Iterator[HarvestPage]:
        number = 0
        while True:
            number += 1
            params = {"verb": "ListRecords", "resumptionToken": token} if token else self.params
            response = client.get(self.url, params)
            try:
                parsed = parse_page(response.content)
            except BrokenPage as exc:
                if response.status_code != 200:
                    raise SourceError(f"{self.url} answered HTTP {response.status_code}") from exc
                reason = f"{exc}; harvest stopped, a rerun retries this page"
                yield HarvestPage(
                    number, [RecordError(SOURCE, f"page {number}", reason)], lambda: None, True
                )
                return
            if parsed.error:
                yield from self._on_error(number, token, *parsed.error)
                return
            if response.status_code != 200:
                raise SourceError(f"{self.url} answered HTTP {response.status_code}")
            items = self._items(number, parsed)
            if parsed.token is not None and parsed.token == token:
                raise OaiError(
                    "loop", f"the repository returned the same resumption token {token!r}"
                )
            yield HarvestPage(number, items, self._saver(parsed.token), parsed.token is None)
            if parsed.token is None:
                return
            token = parsed.token

    def _on_error(
        self, number: int, token: str | None, code: str, message: str
    ) -> Iterator[HarvestPage]:
        if code == "noRecordsMatch":  # an empty result, not a failure
            yield HarvestPage(number, [], self._saver(None), True)
            return
        if code == "badResumptionToken" and token is not None:
            self._saver(None)()
            raise OaiError(
                code,
                f"the repository rejected resumption token {token!r} (expired?): {message}."
                " The checkpoint was cleared; rerun to harvest this range from the start.",
            )
        raise OaiError(code, f"OAI-PMH error {code}: {message}")

    def _items(self, number: int, parsed: ParsedPage) -> list[SourceItem]:
        items: list[SourceItem] = []
        for n, record in enumerate(parsed.records, 1):
            position = f"page {number} record {n}"
            if isinstance(record, _Unparsable):
                where = f"{position} ({record.identifier})" if record.identifier else position
                items.append(RecordError(SOURCE, where, record.reason))
                continue
            try:
                item = convert_record(record, position, self.prefix)
            except Exception as exc:  # a converter bug must not lose the rest of the page
                item = RecordError(SOURCE, position, f"{type(exc).__name__}: {exc}"[:300])
            if item is not None:
                items.append(item)
        if parsed.malformed and not any(isinstance(r, _Unparsable) for r in parsed.records):
            items.append(
                RecordError(SOURCE, f"page {number}", f"malformed XML: {parsed.malformed}")
            )
        return items


def read(
    settings: Settings,
    *,
    prefix: str = "arXiv",
    from_: date | str | None = None,
    until: date | str | None = None,
    set_: str | None = None,
    client: HttpClient | None = None,
) -> Iterator[SourceItem]:
    """Every item of a harvest, without checkpoints (use ``OaiHarvester.pages`` to resume)."""
    harvester = OaiHarvester(
        settings, None, prefix=prefix, from_=from_, until=until, set_=set_, client=client
    )
    for page in harvester.pages():
        yield from page.items
