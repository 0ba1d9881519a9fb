"""The daily listing as JSON-lines, one file per announcement day (``YYYY-MM-DD.jsonl[.gz]``).

The file name is the feed day. Records carry no version or dates, so the listing day stands
in for both ``published`` (first listing) and ``updated`` (this listing): a paper listed again
later is an update that keeps its first feed day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from ..ids import InvalidId, parse_arxiv_id
from ..models import RecordError
from .base import SourceItem, build_paper, iter_json_lines

SOURCE = "arxiv-daily"
_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl(?:\.gz)?$")


def day_files(path: str | Path) -> list[tuple[date, Path]]:
    """A single day file, or every day file in a folder, oldest first."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.iterdir()) if path.is_dir() else []
    out = []
    for f in files:
        m = _DAY_FILE.match(f.name)
        if m:
            try:
                out.append((date.fromisoformat(m.group(1)), f))
            except ValueError:
                continue
    return sorted(out)


def convert(obj: dict[str, Any], position: str, day: date) -> SourceItem:
    raw_id = obj.get("id")
    if not isinstance(raw_id, str):
        return RecordError(SOURCE, position, "missing id")
    try:
        aid = parse_arxiv_id(raw_id)
    except InvalidId as exc:
        return RecordError(SOURCE, position, str(exc))
    stamp = datetime.combine(day, time(0, 0), tzinfo=UTC)
    authors = obj.get("authors") or []
    if not isinstance(authors, list):
        return RecordError(SOURCE, position, "authors is not a list")
    categories = obj.get("categories") or []
    if isinstance(categories, str):
        categories = categories.split()
    return build_paper(
        SOURCE,
        position,
        {
            "id": aid.id,
            "version": aid.version or 1,
            "title": obj.get("title") or "",
            "abstract": obj.get("summary") or obj.get("abstract") or "",
            "authors": [str(a) for a in authors],
            "categories": categories,
            "comment": obj.get("comment"),
            "published": stamp,
            "updated": stamp,
            "feed_day": day,
        },
    )


def read_day_file(path: Path, day: date) -> Iterator[SourceItem]:
    return iter_json_lines(SOURCE, path, lambda obj, pos: convert(obj, pos, day))


def selected_files(path: str | Path, *, since: date | None = None, until: date | None = None) -> list[tuple[date, Path]]:
    return [(d, f) for d, f in day_files(path) if not (since and d < since) and not (until and d > until)]


def read(path: str | Path, *, since: date | None = None, until: date | None = None) -> Iterator[SourceItem]:
    files = day_files(path)
    if not files:
        yield RecordError(SOURCE, str(path), "no YYYY-MM-DD.jsonl[.gz] files found")
        return
    for day, f in selected_files(path, since=since, until=until):
        yield from read_day_file(f, day)
