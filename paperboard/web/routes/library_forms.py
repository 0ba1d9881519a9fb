"""What the library's routers share: where a form goes back to, how a refusal reads, and
how an export downloads.

The privacy rule lives in ``refusals``: the store raises ``NotFound`` alike for a missing
row and another user's, and the web answers 404 for both, so an id in a URL tells a
stranger nothing about what exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Literal

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from ...library.citations import FORMATS, export
from ...models import Paper
from ...store.library import LibraryError, NotFound

ExportFormat = Literal["bibtex", "ris", "csljson"]
EXPORT_LIMIT = 20_000
"""A library bigger than this exports in parts (by collection); no real one is."""


def back(target: str | None, fallback: str) -> str:
    """A form's ``next``, if it is a path on this site (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def done(request: Request, target: str, payload: dict) -> Response:
    """After a form: back where the user was (303), or JSON for a script that asked."""
    if wants_json(request):
        return JSONResponse(payload)
    return RedirectResponse(target, status_code=303)


def as_collection_id(value: str | None) -> int | None:
    """An optional collection id from a form or query ("" is none)."""
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise HTTPException(404, "no such collection")
    return int(value)


@contextmanager
def refusals() -> Iterator[None]:
    """Store refusals as pages: ``NotFound`` (missing or someone else's) 404, others 400."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except LibraryError as exc:
        raise HTTPException(400, str(exc)) from None


def slug(name: str) -> str:
    """A file name part from a collection name: ASCII only, so no header can be forged."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:60].lower() or "collection"


def download(papers: Iterable[Paper], fmt: ExportFormat, basename: str) -> Response:
    """A citation file as an attachment, named and typed so reference managers take it."""
    text, media_type = export(list(papers), fmt)
    filename = f"{basename}.{FORMATS[fmt].extension}"
    return Response(
        text, media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )  # fmt: skip


def whole_library(store, user_id: int, collection: int | None = None) -> list[Paper]:
    """Every saved paper (or one collection's), newest first, paged through the store."""
    out: list[Paper] = []
    while len(out) < EXPORT_LIMIT:
        part = store.library(user_id, collection_id=collection, limit=500, offset=len(out))
        out += [item.paper for item in part]
        if len(part) < 500:
            break
    return out
