"""Hugging Face Daily Papers, as the HF API returns them (``/api/daily_papers``).

Each entry wraps an arXiv paper (``paper``) with the daily page's own data: when it was put
on the page (top-level ``publishedAt``: our feed day), who submitted it, and the paper's
upvotes, organization, code repository and project page. A file is a JSON array (what the API
returns and people save), or JSON-lines; either may be gzip'd.

Arrays are decoded entry by entry from a stream rather than with ``json.load``, so a large
dump is read once, memory stays bounded by the largest entry, and a syntax error late in the
file still lets every entry before it land.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..ids import InvalidId, parse_arxiv_id
from ..links import mine_links
from ..models import RecordError, utc
from .base import MAX_LINE_BYTES, SourceItem, build_paper, iter_json_lines, open_text

SOURCE = "hf-daily"
CHUNK = 1 << 16
MAX_ENTRY_CHARS = MAX_LINE_BYTES
_WS = " \t\r\n"
_OBJECT_LINE = re.compile(r"^[ \t]*\{", re.MULTILINE)


def _timestamp(value: Any, what: str) -> datetime | str | None:
    """An ISO timestamp ("2024-10-07T17:59:58.000Z"), None if absent, or a reason."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        return f"{what} is not a string"
    try:
        return utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00+01:00 has no UTC time
        return f"{what}: invalid date {value[:40]!r}"


def _http_url(value: Any) -> str | None:
    """Only plain web links reach a card: ``javascript:`` and friends are dropped here."""
    if isinstance(value, str):
        value = value.strip()
        if value.lower().startswith(("https://", "http://")) and len(value) <= 500:
            return value
    return None


def _first_text(candidates: tuple[Any, ...], keys: tuple[str, ...]) -> str | None:
    """The first non-empty string among candidates (strings, or objects looked up by keys)."""
    for c in candidates:
        if isinstance(c, str) and c.strip():
            return c
        if isinstance(c, dict):
            for key in keys:
                if isinstance(c.get(key), str) and c[key].strip():
                    return c[key]
    return None


def _merge(first: str | None, mined: list[str]) -> list[str]:
    return ([first] if first else []) + [u for u in mined if u != first]


def convert(entry: Any, position: str) -> SourceItem:
    if not isinstance(entry, dict):
        return RecordError(SOURCE, position, "entry is not a JSON object")
    paper = entry.get("paper")
    if paper is None and "id" in entry and "summary" in entry:
        paper = entry  # a bare paper object (``/api/papers/<id>``)
    if not isinstance(paper, dict):
        return RecordError(SOURCE, position, "missing paper object")

    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        return RecordError(SOURCE, position, "missing paper id")
    try:
        aid = parse_arxiv_id(raw_id)
    except InvalidId as exc:
        return RecordError(SOURCE, position, str(exc))

    published = _timestamp(paper.get("publishedAt"), "paper.publishedAt")
    daily = _timestamp(
        entry.get("publishedAt") if entry is not paper else None, "publishedAt"
    ) or _timestamp(paper.get("submittedOnDailyAt"), "paper.submittedOnDailyAt")
    for value in (published, daily):
        if isinstance(value, str):
            return RecordError(SOURCE, position, value)
    if daily is None:
        return RecordError(SOURCE, position, "no daily-page date (publishedAt)")

    authors_raw = paper.get("authors") or []
    if not isinstance(authors_raw, list):
        return RecordError(SOURCE, position, "paper.authors is not a list")
    authors = []
    for a in authors_raw:
        name = a.get("name") if isinstance(a, dict) else a
        if not isinstance(name, str):
            return RecordError(SOURCE, position, "author without a name")
        authors.append(name)

    upvotes = paper.get("upvotes", 0)
    if upvotes is None:
        upvotes = 0
    if isinstance(upvotes, bool) or not isinstance(upvotes, int):
        return RecordError(SOURCE, position, "paper.upvotes is not an integer")

    abstract = paper.get("summary") or ""
    if not isinstance(abstract, str):
        return RecordError(SOURCE, position, "paper.summary is not a string")
    mined_code, mined_project = mine_links(abstract)

    return build_paper(
        SOURCE,
        position,
        {
            "id": aid.id,
            "version": aid.version or 1,
            "title": paper.get("title") or entry.get("title") or "",
            "abstract": abstract,
            "authors": authors,
            "published": published,
            "feed_day": utc(daily).date(),
            "upvotes": upvotes,
            # The handle: ``name`` on ``submittedBy``, ``user`` on ``submittedOnDailyBy``.
            "submitted_by": _first_text(
                (entry.get("submittedBy"), paper.get("submittedOnDailyBy")),
                ("name", "user", "fullname"),
            ),
            "organization": _first_text(
                (paper.get("organization"), entry.get("organization")), ("fullname", "name")
            ),
            "code_urls": _merge(_http_url(paper.get("githubRepo")), mined_code),
            "project_urls": _merge(_http_url(paper.get("projectPage")), mined_project),
        },
    )


def _iter_array(fh: IO[str], buf: str, name: str) -> Iterator[SourceItem]:
    """Decode a top-level JSON array one entry at a time from ``buf`` + the rest of ``fh``."""
    decoder = json.JSONDecoder()
    pos = buf.index("[") + 1
    eof = False
    index = 0
    expect_entry = True

    def fill() -> None:
        nonlocal buf, pos, eof
        # Read at least as much as is buffered: a large entry costs O(size), not O(size²).
        chunk = fh.read(max(CHUNK, len(buf) - pos))
        if not chunk:
            eof = True
        buf = buf[pos:] + chunk
        pos = 0

    while True:
        while True:
            while pos < len(buf) and buf[pos] in _WS:
                pos += 1
            if pos < len(buf) or eof:
                break
            fill()
        if pos >= len(buf):
            yield RecordError(SOURCE, f"{name}[{index}]", "file ends inside the array")
            return
        ch = buf[pos]
        if ch == "]" and (not expect_entry or index == 0):
            pos += 1
            while True:  # what follows the array would otherwise be dropped without a word
                while pos < len(buf) and buf[pos] in _WS:
                    pos += 1
                if pos < len(buf) or eof:
                    break
                fill()
            if pos < len(buf):
                yield RecordError(SOURCE, name, "content after the JSON array's end; it was not read")
            return
        if not expect_entry:
            if ch != ",":
                yield RecordError(
                    SOURCE, f"{name}[{index}]", f"expected ',' or ']' after entry {index - 1}"
                )
                return
            pos += 1
            expect_entry = True
            continue
        position = f"{name}[{index}]"
        while True:
            try:
                obj, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if eof or len(buf) - pos > MAX_ENTRY_CHARS:
                    reason = (
                        f"entry larger than {MAX_ENTRY_CHARS} characters"
                        if not eof
                        else f"invalid JSON: {exc.msg}"
                    )
                    yield RecordError(SOURCE, position, f"{reason}; the rest of the file is unread")
                    return
                fill()
                continue
            if end >= len(buf) and not eof:  # a value cut at the buffer's end may be partial
                fill()
                continue
            break
        size, pos = end - pos, end
        index += 1
        expect_entry = False
        if size > MAX_ENTRY_CHARS:  # decoded, so the file goes on; the entry does not land
            yield RecordError(SOURCE, position, f"entry larger than {MAX_ENTRY_CHARS} characters")
            continue
        try:
            yield convert(obj, position)
        except Exception as exc:  # a converter bug must not lose the rest of the file
            yield RecordError(SOURCE, position, f"{type(exc).__name__}: {exc}"[:300])


def read(path: str | Path) -> Iterator[SourceItem]:
    """Yield a Paper per entry of a saved daily-papers JSON array or JSON-lines file."""
    path = Path(path)
    try:
        fh = open_text(path)
    except OSError as exc:
        yield RecordError(SOURCE, path.name, f"cannot open: {exc}")
        return
    with fh:
        try:
            buf = fh.read(CHUNK).lstrip("\ufeff" + _WS)
        except (OSError, EOFError) as exc:
            yield RecordError(SOURCE, path.name, f"unreadable: {exc}")
            return
        if not buf:
            yield RecordError(SOURCE, path.name, "empty file")
            return
        if buf[0] == "[":
            try:
                yield from _iter_array(fh, buf, path.name)
            except (OSError, EOFError) as exc:  # truncated gzip mid-array
                yield RecordError(SOURCE, path.name, f"unreadable: {exc}")
            return
        if not _OBJECT_LINE.search(buf):  # a bad first line must not cost the good ones after it
            yield RecordError(SOURCE, path.name, "not a JSON array or JSON-lines file")
            return
    yield from iter_json_lines(SOURCE, path, convert)
