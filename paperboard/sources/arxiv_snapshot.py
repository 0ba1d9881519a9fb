"""The arXiv metadata snapshot (Kaggle's ``arxiv-metadata-oai-snapshot.json``), JSON-lines.

It is the cheapest way to load arXiv's history: one record per paper with every version's
date. The snapshot has no "announced on" field, so the first version's submission day stands
in for the feed day (announcement follows within a working day or two); ``updated`` is the
newest version's date so a later snapshot's record wins the store's newer-version check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from ..ids import InvalidId, parse_arxiv_id
from ..models import RecordError, utc
from .base import SourceItem, build_paper, iter_json_lines

SOURCE = "arxiv-snapshot"
_VERSION = re.compile(r"^v(\d{1,3})$")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def _parsed_names(parsed: Any) -> list[str] | None:
    """Names from ``authors_parsed`` ([last, first, suffix, ...]) as "First Last Suffix"."""
    if not isinstance(parsed, list) or not parsed:
        return None
    names = []
    for entry in parsed:
        if not isinstance(entry, list) or not entry:
            return None
        parts = [str(x) if x is not None else "" for x in entry[:3]] + ["", ""]
        last, first, suffix = parts[0], parts[1], parts[2]
        name = " ".join(p.strip() for p in (first, last, suffix) if p and p.strip())
        if name:
            names.append(name)
    return names


def split_authors(text: str) -> list[str]:
    """Split arXiv's free-text author list on commas and "and", outside parentheses.

    Parenthesised affiliations ("A. Author (MIT)") are dropped: they are not part of a name.
    """
    pieces: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            pieces.append("".join(current))
            current = []
            continue
        if depth == 0 and ch != ")":
            current.append(ch)
    pieces.append("".join(current))
    names: list[str] = []
    for piece in pieces:
        for name in _AND.split(" ".join(piece.split())):
            name = name.strip().removeprefix("and ").strip()
            if name:
                names.append(name)
    return names


def _versions(raw: Any) -> tuple[int, datetime, datetime] | str:
    """(highest version, first version's date, latest version's date), or a reason."""
    if not isinstance(raw, list) or not raw:
        return "no versions: the paper cannot be dated"
    dated: list[tuple[int, datetime]] = []
    for i, v in enumerate(raw):
        if not isinstance(v, dict):
            return f"versions[{i}] is not an object"
        m = _VERSION.match(str(v.get("version", "")))
        if m is None:
            return f"versions[{i}]: bad version {str(v.get('version'))[:20]!r}"
        created = v.get("created")
        try:
            when = parsedate_to_datetime(created) if isinstance(created, str) else None
        except (TypeError, ValueError, IndexError, OverflowError):  # year 99999999999999999999
            when = None
        if when is None:
            return f"versions[{i}]: invalid date {str(created)[:40]!r}"
        dated.append((int(m.group(1)), utc(when)))
    dated.sort(key=lambda x: x[0])
    return dated[-1][0], dated[0][1], dated[-1][1]


def convert(obj: dict[str, Any], position: str) -> SourceItem:
    raw_id = obj.get("id")
    if not isinstance(raw_id, str):
        return RecordError(
            SOURCE, position, "missing id" if raw_id is None else "id is not a string"
        )
    try:
        aid = parse_arxiv_id(raw_id)
    except InvalidId as exc:
        return RecordError(SOURCE, position, str(exc))
    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        return RecordError(SOURCE, position, "missing title")
    versions = _versions(obj.get("versions"))
    if isinstance(versions, str):
        return RecordError(SOURCE, position, versions)
    version, published, updated = versions

    authors = _parsed_names(obj.get("authors_parsed"))
    if authors is None:
        raw_authors = obj.get("authors")
        authors = split_authors(raw_authors) if isinstance(raw_authors, str) else []
    categories = obj.get("categories") or ""
    if isinstance(categories, str):
        categories = categories.split()
    elif not (isinstance(categories, list) and all(isinstance(c, str) for c in categories)):
        return RecordError(SOURCE, position, "categories is not a string")

    def text(key: str) -> str | None:
        value = obj.get(key)
        return value if isinstance(value, str) else None

    return build_paper(
        SOURCE,
        position,
        {
            "id": aid.id,
            "version": max(version, aid.version or 1),
            "title": title,
            "abstract": text("abstract") or "",
            "authors": authors,
            "categories": categories,
            "comment": text("comments"),
            "journal_ref": text("journal-ref"),
            "doi": text("doi"),
            "license": text("license"),
            "published": published,
            "updated": updated,
            "feed_day": published.date(),
        },
    )


def read(path: str | Path) -> Iterator[SourceItem]:
    """Yield a Paper per snapshot line (plain or gzip'd); bad lines become RecordErrors."""
    yield from iter_json_lines(SOURCE, path, convert)
