"""What every source yields: validated ``Paper`` objects, or ``RecordError`` for a record
that could not be read (with where it was and why), so one bad record never sinks a batch."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ..models import Paper, RecordError, validation_reason

SourceItem = Paper | RecordError
MAX_LINE_BYTES = 2_000_000
"""A JSON line bigger than this is rejected unread (the "10 MB abstract" case)."""


def open_text(path: str | Path) -> IO[str]:
    """Open a plain or gzip'd text file (by magic bytes, not by name)."""
    path = Path(path)
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


def build_paper(source: str, position: str, fields: dict[str, Any]) -> SourceItem:
    """Validate at the edge: a Paper, or a RecordError naming the position and reason."""
    try:
        return Paper(**fields)
    except ValidationError as exc:
        return RecordError(source, position, validation_reason(exc))
    except (TypeError, ValueError) as exc:
        return RecordError(source, position, str(exc)[:300])


def iter_json_lines(
    source: str, path: str | Path, convert: Callable[[dict[str, Any], str], SourceItem]
) -> Iterator[SourceItem]:
    """Read JSON-lines (plain or .gz), one item per line; bad lines become RecordErrors."""
    import json

    name = Path(path).name
    try:
        fh = open_text(path)
    except OSError as exc:
        yield RecordError(source, name, f"cannot open: {exc}")
        return
    with fh:
        lineno = 0
        while True:
            try:
                line = fh.readline(MAX_LINE_BYTES + 1)
            except (OSError, EOFError) as exc:  # truncated gzip
                yield RecordError(source, f"{name}:{lineno + 1}", f"unreadable: {exc}")
                return
            if not line:
                return
            lineno += 1
            position = f"{name}:{lineno}"
            if len(line) > MAX_LINE_BYTES and not line.endswith("\n"):
                # Skip the rest of the oversized line.
                while True:
                    more = fh.readline(MAX_LINE_BYTES)
                    if not more or more.endswith("\n"):
                        break
                yield RecordError(source, position, f"record larger than {MAX_LINE_BYTES} bytes")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                yield RecordError(source, position, f"invalid JSON: {exc}")
                continue
            if not isinstance(obj, dict):
                yield RecordError(source, position, "record is not a JSON object")
                continue
            try:
                yield convert(obj, position)
            except Exception as exc:  # a converter bug must not lose the rest of the file
                yield RecordError(source, position, f"{type(exc).__name__}: {exc}"[:300])
