"""The map of the field: ``/map``, its compact binary points, and look-ups by row or id.

Points travel as one little-endian binary block per range of rows (``/map/points.bin``):
struct-of-arrays, so the page hands them to WebGL as typed arrays without parsing,

    xy float32[2c] · clusters uint16[levels * c] · category uint16[c] · day uint16[c]

16 bytes a paper at three levels: 75k papers in 1.2 MB, a million in 16 MB, fetched in
chunks so the first one is drawn before the rest arrive. Ids and titles are not shipped per
point: a hover asks ``/map/point/{row}``, a search asks ``/map/locate`` for its hits' rows.
Rows are in a random order (storage.py), so the first chunk is a fair sample of the map.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ...map.service import MapService, MapView
from ...map.storage import EPOCH_DAY
from .. import deps

router = APIRouter(include_in_schema=False)

CHUNK = 200_000
"""Rows per binary response the page asks for (its first draw waits for one)."""
MAX_LOCATE = 200


def map_service(request: Request) -> MapService:
    service = getattr(request.app.state, "map_service", None)
    if service is None:
        settings = request.app.state.settings
        service = request.app.state.map_service = MapService(
            request.app.state.store, settings.data_dir
        )
    return service


def _ready(request: Request) -> MapView:
    view = map_service(request).view(build=False)
    if view.data is None:
        raise HTTPException(503, view.message)
    return view


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request):
    view = map_service(request).view()
    message = view.message
    if view.data is not None and len(view.data) == 0:
        message = "No paper has its vectors yet: the map appears once `paperboard embed` has computed them."
    return deps.render(request, "map.html", {"nav": "map", "status": view.status, "message": message,
                                              "papers": len(view.data) if view.data is not None else 0})  # fmt: skip


@router.get("/map/meta.json")
def map_meta(request: Request):
    view = map_service(request).view(build=False)
    if view.data is None:
        return JSONResponse({"status": view.status, "message": view.message, "papers": 0},
                            headers={"Cache-Control": "no-store"})  # fmt: skip
    data = view.data
    days = data.day[data.day > 0]
    newest = int(days.max()) if len(days) else 0
    lo = data.xy.min(axis=0).tolist() if len(data) else [-1.0, -1.0]
    hi = data.xy.max(axis=0).tolist() if len(data) else [1.0, 1.0]
    return JSONResponse(
        {
            "status": "ready", "version": view.version, "papers": len(data), "chunk": CHUNK,
            "model": data.model, "method": data.method, "built_at": data.built_at,
            "bounds": [lo, hi], "categories": data.categories,
            "levels": [[lab.to_json() for lab in level] for level in data.labels],
            "newest_day": newest, "newest_date": (EPOCH_DAY + timedelta(days=newest)).isoformat() if newest else None,
        },
        headers={"Cache-Control": "no-store"},
    )  # fmt: skip


@router.get("/map/points.bin")
def map_points(
    request: Request,
    start: Annotated[int, Query(ge=0)] = 0,
    count: Annotated[int, Query(ge=1, le=CHUNK)] = CHUNK,
):
    view = _ready(request)
    data = view.data
    end = min(len(data), start + count)
    if start > end:
        raise HTTPException(416, f"the map has {len(data)} points")
    sl = slice(start, end)
    body = b"".join((
        np.ascontiguousarray(data.xy[sl], dtype="<f4").tobytes(),
        np.ascontiguousarray(data.clusters[:, sl], dtype="<u2").tobytes(),
        np.ascontiguousarray(data.category[sl], dtype="<u2").tobytes(),
        np.ascontiguousarray(data.day[sl], dtype="<u2").tobytes(),
    ))  # fmt: skip
    return Response(
        body, media_type="application/octet-stream",
        headers={"X-Map-Version": view.version, "X-Map-Rows": f"{start}-{end}", "X-Map-Total": str(len(data)),
                 "X-Map-Levels": str(len(data.labels)), "Cache-Control": "no-store"},
    )  # fmt: skip


def _paper_json(request: Request, view: MapView, rows: list[int]) -> list[dict]:
    data = view.data
    store = request.app.state.store
    keys = [int(data.keys[r]) for r in rows]
    papers = store.papers_by_keys(keys)  # visible papers only: a hidden one is not shown
    out = []
    for row, key in zip(rows, keys, strict=True):
        paper = papers.get(key)
        if paper is None:
            continue
        out.append({
            "row": row, "id": paper.id, "title": paper.title, "x": float(data.xy[row, 0]), "y": float(data.xy[row, 1]),
            "category": data.categories[int(data.category[row])] if data.categories else "",
            "day": (EPOCH_DAY + timedelta(days=int(data.day[row]))).isoformat() if data.day[row] else None,
        })  # fmt: skip
    return out


@router.get("/map/point/{row}")
def map_point(request: Request, row: int):
    view = _ready(request)
    if not 0 <= row < len(view.data):
        raise HTTPException(404, "no such point")
    found = _paper_json(request, view, [row])
    if not found:
        raise HTTPException(404, "this paper is not shown")
    return JSONResponse(found[0], headers={"X-Map-Version": view.version})


@router.get("/map/locate")
def map_locate(request: Request, ids: Annotated[str, Query(max_length=MAX_LOCATE * 40)] = ""):
    """Rows of papers by id, in the order asked (search hits keep their rank); ids not on the
    map (no vector yet) are listed apart, so the page can say how many it cannot show."""
    view = _ready(request)
    wanted = [i for i in dict.fromkeys(x.strip() for x in ids.split(",")) if i][:MAX_LOCATE]
    store = request.app.state.store
    keys = store.paper_keys(wanted) if wanted else {}
    row_of = view.data.row_of
    rows, missing = [], []
    for pid in wanted:
        row = row_of.get(keys.get(pid, -1))
        if row is None:
            missing.append(pid)
        else:
            rows.append(row)
    return JSONResponse(
        {"version": view.version, "hits": _paper_json(request, view, rows), "missing": missing}
    )
