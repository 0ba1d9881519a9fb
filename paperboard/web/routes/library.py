"""A user's library on the web: save / unsave / not interested from any card, the library
page (notes, collections, dismissals with Undo), export and import.

Every action is a plain POST form that redirects back (``next``), so it works without
JavaScript; a script may ask for JSON instead. Collections and authorship claims have their
own routers, included here so the app picks all three up from this one module.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from ...library.imports import MAX_IMPORT_BYTES, ImportRejected, parse_import
from ...library.matching import apply_import
from ...store.accounts import User
from ...store.library import MAX_NOTE
from .. import deps
from ..views import PAGE_SIZE, cards, page_number
from . import claims, collections
from .library_forms import (
    ExportFormat,
    as_collection_id,
    back,
    done,
    download,
    refusals,
    slug,
    whole_library,
)

router = APIRouter(include_in_schema=False)
router.include_router(collections.router)
router.include_router(claims.router)

IMPORT_MAX_BODY = 16_000_000
"""The import form's body limit, far above ``MAX_IMPORT_BYTES`` on purpose: a file up to
this size reaches the route and is refused with a page that says why (the app-wide 1 MB
limit would answer a bare "Content Too Large"). Bigger bodies still get that bare 413."""

CurrentUser = Annotated[User, Depends(deps.require_user)]
PaperId = Annotated[str, Form(min_length=1, max_length=300)]
Next = Annotated[str, Form(max_length=2000)]
CollectionField = Annotated[str, Form(max_length=20)]


# -- one-click actions ----------------------------------------------------------------------
@router.post("/library/save", dependencies=[Depends(deps.verify_csrf)])
def save(
    request: Request, user: CurrentUser, paper_id: PaperId, next: Next = "",
    collection_id: CollectionField = "",
    note: Annotated[str | None, Form(max_length=MAX_NOTE * 2)] = None,
):  # fmt: skip
    """Save a paper (idempotent), optionally filing it into a collection or noting it."""
    coll = as_collection_id(collection_id)
    with refusals():
        created = request.app.state.store.save_paper(user.id, paper_id, note=note, collection_id=coll)
    return done(request, back(next, "/library"), {"paper_id": paper_id, "saved": True, "created": created})


@router.post("/library/unsave", dependencies=[Depends(deps.verify_csrf)])
def unsave(request: Request, user: CurrentUser, paper_id: PaperId, next: Next = ""):
    request.app.state.store.unsave_paper(user.id, paper_id)
    return done(request, back(next, "/library"), {"paper_id": paper_id, "saved": False})


@router.post("/library/dismiss", dependencies=[Depends(deps.verify_csrf)])
def dismiss(request: Request, user: CurrentUser, paper_id: PaperId, next: Next = ""):
    """"Not interested": out of this user's recommendations (and library), undoable."""
    with refusals():
        request.app.state.store.dismiss_paper(user.id, paper_id)
    return done(request, back(next, "/library#dismissed"), {"paper_id": paper_id, "dismissed": True})


@router.post("/library/undismiss", dependencies=[Depends(deps.verify_csrf)])
def undismiss(request: Request, user: CurrentUser, paper_id: PaperId, next: Next = ""):
    request.app.state.store.undismiss_paper(user.id, paper_id)
    return done(request, back(next, "/library#dismissed"), {"paper_id": paper_id, "dismissed": False})


@router.post("/library/note", dependencies=[Depends(deps.verify_csrf)])
def note(
    request: Request, user: CurrentUser, paper_id: PaperId, next: Next = "",
    note: Annotated[str, Form(max_length=MAX_NOTE * 2)] = "",
):  # fmt: skip
    """Set (or, empty, clear) the private note of a saved paper."""
    with refusals():
        request.app.state.store.set_note(user.id, paper_id, note)
    return done(request, back(next, "/library"), {"paper_id": paper_id, "note": note.strip() or None})


def _to_library() -> RedirectResponse:
    """A logged-out click on Save goes through the login form, which comes back here with a
    GET: land on the library rather than on a 405."""
    return RedirectResponse("/library", status_code=303)


for _action in ("save", "unsave", "dismiss", "undismiss", "note"):
    router.add_api_route(f"/library/{_action}", _to_library, methods=["GET"], include_in_schema=False)


# -- the library page -----------------------------------------------------------------------
@router.get("/library", response_class=HTMLResponse)
def library_page(
    request: Request, user: CurrentUser,
    collection: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int | None, Query(ge=1)] = None,
):  # fmt: skip
    store = request.app.state.store
    coll_id = as_collection_id(collection)
    colls = store.collections(user.id)
    current = next((c for c in colls if c.id == coll_id), None)
    if coll_id is not None and current is None:
        raise HTTPException(404, "no such collection")
    n = page_number(page)
    items = store.library(user.id, collection_id=coll_id, limit=PAGE_SIZE + 1, offset=(n - 1) * PAGE_SIZE)
    has_more = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    by_name = {c.name: c for c in colls}
    rows = [
        (item, card, [by_name[name] for name in item.collections if name in by_name])
        for item, card in zip(items, cards(request, [i.paper for i in items]), strict=True)
    ]
    first_page = coll_id is None and n == 1
    return deps.render(
        request, "library/library.html",
        {"nav": "library", "rows": rows, "collections": colls, "current": current, "page": n,
         "has_more": has_more, "total": store.library_size(user.id),
         "dismissed": store.dismissed(user.id, limit=100) if first_page else [],
         "pending": store.pending_imports(user.id) if first_page else [],
         "base": f"/library?collection={coll_id}" if coll_id else "/library", "max_note": MAX_NOTE},
    )  # fmt: skip


# -- export ---------------------------------------------------------------------------------
@router.get("/library/export")
def export_library(
    request: Request, user: CurrentUser,
    fmt: Annotated[ExportFormat, Query(alias="format")] = "bibtex",
    collection: Annotated[str | None, Query(max_length=20)] = None,
):  # fmt: skip
    """The whole library, or one of the user's collections, as a citation file."""
    store = request.app.state.store
    coll_id = as_collection_id(collection)
    name = "library"
    if coll_id is not None:
        with refusals():
            coll = store.get_collection(coll_id, viewer_id=user.id)
        if coll.user_id != user.id:  # someone's public list exports from its share link
            raise HTTPException(404, "no such collection")
        name = coll.name
    return download(whole_library(store, user.id, coll_id), fmt, f"paperboard-{slug(name)}")


# -- import ---------------------------------------------------------------------------------
@router.post(
    "/library/import", response_class=HTMLResponse,
    dependencies=[Depends(deps.verify_csrf)], max_body_size=IMPORT_MAX_BODY,
)  # fmt: skip
async def import_references(
    request: Request, user: CurrentUser,
    file: Annotated[UploadFile | None, File()] = None,
    ids: Annotated[str, Form(max_length=MAX_IMPORT_BYTES)] = "",
    collection_id: CollectionField = "",
):  # fmt: skip
    """A BibTeX file and/or pasted arXiv ids into the library. Every input is read before
    anything is saved, so a refused one (too big, binary) leaves the library as it was."""
    store = request.app.state.store
    coll_id = as_collection_id(collection_id)
    if coll_id is not None and all(c.id != coll_id for c in store.collections(user.id)):
        raise HTTPException(404, "no such collection")
    sources: list[tuple[str, bytes | str]] = []
    if file is not None and (file.filename or file.size):
        if file.size is not None and file.size > MAX_IMPORT_BYTES:
            raise HTTPException(
                413, f"{file.filename or 'The file'} is {file.size / 1e6:.1f} MB; imports are limited to "
                     f"{MAX_IMPORT_BYTES / 1e6:.0f} MB. Nothing was imported: split the file and try again.",
            )  # fmt: skip
        sources.append((file.filename or "uploaded file", await file.read(MAX_IMPORT_BYTES + 1)))
    if ids.strip():
        sources.append(("pasted ids", ids))
    if not sources:
        raise HTTPException(400, "choose a BibTeX file or paste arXiv ids or URLs to import")
    parsed = []
    for label, data in sources:
        try:
            parsed.append((label, parse_import(data)))
        except ImportRejected as exc:
            raise HTTPException(400, f"{label}: {exc}. Nothing was imported.") from None
    settings = request.app.state.settings
    reports = [
        (label, result.format, await run_in_threadpool(
            apply_import, store, user.id, result, settings=settings, collection_id=coll_id))
        for label, result in parsed
    ]  # fmt: skip
    coll = next((c for c in store.collections(user.id) if c.id == coll_id), None)
    return deps.render(request, "library/import_report.html", {"nav": "library", "reports": reports, "collection": coll})
