"""A Hugging Face Daily Papers page saved as text: the seed corpus, before any arXiv data.

The page is what a browser's "save as text" gives: a few header lines and the page date
("Nov 3", no year), then one card per paper as blank-line separated blocks::

    Title

    Abstract paragraph

      • 11 authors          (or "amazon Amazon": logo alt text + organization name)
    ·
    Oct 7, 2024 2           (card date, then upvotes; no count means 0)

Cards carry no arXiv id, so each gets a local id from its title (re-importing is idempotent).
Pieces go missing on real pages — some cards have no meta block at all — so the parser
classifies blocks instead of counting lines, and only a card it cannot make sense of (no
abstract, a date it cannot read) becomes a RecordError; its neighbours still parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from ..ids import local_id_for_title
from ..models import MAX_TITLE, RecordError
from .base import SourceItem, build_paper, open_text

SOURCE = "seed-page"
DEFAULT_YEAR = 2025

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_HEADER_LINES = {
    "new",
    "get trending papers in your email inbox!",
    "subscribe",
    "daily papers",
    "byak and the research community",
}
_SEPARATOR = {"·", "•", "-", "|"}
_AUTHORS = re.compile(r"^[•·\-*]?\s*(\d{1,5})\s+authors?$", re.IGNORECASE)
_DATE = re.compile(
    r"^(?P<mon>[A-Za-z]{3})[a-z]*\.?\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<votes>\d{1,7}))?$"
)
# Something that tries to be a date line (a month-ish word and a number) but may not parse.
_DATE_SHAPED = re.compile(r"^[A-Za-z]{3,9}\.?\s+\d[\d,\s]*$")
_MAX_TITLE_WORDS = 40


@dataclass(slots=True)
class _Block:
    numbered: list[tuple[int, str]]  # (1-based line number, text)

    @property
    def line(self) -> int:
        return self.numbered[0][0]

    @property
    def lines(self) -> list[str]:
        return [s for _, s in self.numbered]

    @property
    def text(self) -> str:
        return " ".join(s.strip() for s in self.lines)


@dataclass(slots=True)
class _Meta:
    line: int
    author_count: int | None = None
    organization: str | None = None
    day: date | None = None
    upvotes: int = 0
    errors: list[str] = field(default_factory=list)


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for i, raw in enumerate(lines, 1):
        if raw.strip():
            if current is None:
                current = _Block([])
                blocks.append(current)
            current.numbered.append((i, raw.rstrip("\r\n")))
        else:
            current = None
    return blocks


def _month_day(text: str) -> tuple[int, int, int | None, int] | None:
    """(month, day, year or None, upvotes) of a card date line, or None if it is not one."""
    m = _DATE.match(text.strip())
    if m is None or m.group("mon").lower() not in _MONTHS:
        return None
    year = int(m.group("year")) if m.group("year") else None
    return _MONTHS[m.group("mon").lower()], int(m.group("day")), year, int(m.group("votes") or 0)


def _resolve(
    month: int, day: int, year: int | None, page_day: date | None, default_year: int
) -> date:
    """A year-less card date is the most recent such day on or before the page date."""
    if year is not None:
        return date(year, month, day)
    if page_day is None:
        return date(default_year, month, day)
    try:
        d = date(page_day.year, month, day)
    except ValueError:  # Feb 29 of a non-leap page year: it can only be an earlier year
        d = None
    if d is None or d > page_day:
        d = date(page_day.year - 1, month, day)
    return d


def _is_meta_line(s: str) -> bool:
    s = s.strip()
    return s in _SEPARATOR or bool(_AUTHORS.match(s)) or _month_day(s) is not None


def _is_meta_block(block: _Block) -> bool:
    """Meta blocks hold the "·" separator, an "N authors" line or a card date line."""
    return any(_is_meta_line(s) for s in block.lines)


def _parse_meta(block: _Block, page_day: date | None, default_year: int) -> _Meta:
    meta = _Meta(block.line)
    after_separator = False
    for lineno, raw in block.numbered:
        s = raw.strip()
        if s in _SEPARATOR:
            after_separator = True
            continue
        if m := _AUTHORS.match(s):
            meta.author_count = int(m.group(1))
            continue
        parts = _month_day(s)
        if parts is not None or after_separator or _DATE_SHAPED.match(s):
            if parts is None:
                meta.errors.append(f"line {lineno}: unparseable date {s[:60]!r}")
                continue
            try:
                meta.day = _resolve(parts[0], parts[1], parts[2], page_day, default_year)
            except ValueError:
                meta.errors.append(f"line {lineno}: impossible date {s[:60]!r}")
                continue
            meta.upvotes = parts[3]
            continue
        # Organization line: the logo's alt text (the org handle, no spaces) then its name.
        handle, _, name = s.partition(" ")
        meta.organization = (name.strip() or handle)[:200]
    return meta


def _looks_like_title(block: _Block) -> bool:
    """Titles are one short line; abstracts are prose. Only used to resolve a missing piece."""
    text = block.text
    return (
        len(block.lines) == 1 and len(text) <= MAX_TITLE and len(text.split()) <= _MAX_TITLE_WORDS
    )


def _page_date(header: list[_Block], year: int) -> date | None:
    for block in header:
        parts = _month_day(block.text)
        if parts is not None and parts[3] == 0:
            try:
                return date(parts[2] or year, parts[0], parts[1])
            except ValueError:
                return None
    return None


def _split_header(blocks: list[_Block]) -> tuple[list[_Block], list[_Block]]:
    """The header is the known page chrome plus the page date line that follows it."""
    i = 0
    while i < len(blocks) and blocks[i].text.strip().lower() in _HEADER_LINES:
        i += 1
    if i < len(blocks) and len(blocks[i].lines) == 1:
        parts = _month_day(blocks[i].text)
        if parts is not None and parts[3] == 0:
            i += 1
    return blocks[:i], blocks[i:]


def parse_text(
    text: str, *, name: str = "page.txt", year: int = DEFAULT_YEAR
) -> Iterator[SourceItem]:
    """Parse a saved page's text. ``year`` is the page's year: the page date has none."""
    header, body = _split_header(_blocks(text.splitlines()))
    page_day = _page_date(header, year)

    # Group the body into cards: runs of text blocks, each run closed by a meta block.
    runs: list[tuple[list[_Block], _Block | None]] = []
    pending: list[_Block] = []
    for block in body:
        if _is_meta_block(block):
            if not pending and runs and runs[-1][1] is not None:
                # A blank line inside the meta lines: still the previous card's.
                runs[-1][1].numbered.extend(block.numbered)
                continue
            runs.append((pending, block))
            pending = []
        else:
            pending.append(block)
    if pending:
        runs.append((pending, None))

    for texts, meta_block in runs:
        cards = _pair_cards(texts)
        for n, (title, abstract) in enumerate(cards):
            # The meta block belongs to the last card of the run; earlier ones had none.
            meta = meta_block if n == len(cards) - 1 else None
            yield _card(name, title, abstract, meta, page_day, year)
        if not cards and meta_block is not None:
            yield RecordError(
                SOURCE, f"{name}:{meta_block.line}", "author/date lines without a card title"
            )


def _pair_cards(texts: list[_Block]) -> list[tuple[_Block, _Block | None]]:
    """Split a run of text blocks into (title, abstract) pairs, tolerating missing abstracts."""
    cards: list[tuple[_Block, _Block | None]] = []
    i = 0
    while i < len(texts):
        title = texts[i]
        remaining = len(texts) - i
        nxt = texts[i + 1] if remaining > 1 else None
        # With an even number of blocks left, every card has its abstract; with an odd number
        # one is missing, and a title-shaped next block means it is this card's.
        if nxt is not None and (remaining % 2 == 0 or not _looks_like_title(nxt)):
            cards.append((title, nxt))
            i += 2
        else:
            cards.append((title, None))
            i += 1
    return cards


def _card(
    name: str,
    title: _Block,
    abstract: _Block | None,
    meta_block: _Block | None,
    page_day: date | None,
    year: int,
) -> SourceItem:
    position = f"{name}:{title.line}"
    if not _looks_like_title(title):
        return RecordError(SOURCE, position, "expected a one-line title, found a paragraph")
    if abstract is None:
        return RecordError(SOURCE, position, f"card {title.text[:60]!r} has no abstract")
    meta = _parse_meta(meta_block, page_day, year) if meta_block else _Meta(title.line)
    if meta.errors:
        return RecordError(SOURCE, position, "; ".join(meta.errors))
    # Every card is on this page, so the page date is its feed day (the demo front page shows
    # all of them, like the page); the card's own date is when the paper was published.
    feed_day = page_day or meta.day
    if feed_day is None:
        return RecordError(SOURCE, position, "card has no date and the page has no page date")
    return build_paper(
        SOURCE,
        position,
        {
            "id": local_id_for_title(title.text),
            "title": title.text,
            "abstract": "\n".join(s.strip() for s in abstract.lines),
            "authors": [],
            "author_count": meta.author_count,
            "organization": meta.organization,
            "upvotes": meta.upvotes,
            "feed_day": feed_day,
            "published": datetime.combine(meta.day, time(0, 0), tzinfo=UTC) if meta.day else None,
        },
    )


def read(path: str | Path, *, year: int = DEFAULT_YEAR) -> Iterator[SourceItem]:
    """Yield a Paper per card of a saved Daily Papers page (plain or gzip'd text)."""
    path = Path(path)
    try:
        with open_text(path) as fh:
            text = fh.read()
    except OSError as exc:
        yield RecordError(SOURCE, path.name, f"cannot open: {exc}")
        return
    yield from parse_text(text, name=path.name, year=year)
