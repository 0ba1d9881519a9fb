"""OpenAPI links: which value of a response feeds which next request.

They let a client (and the stateful fuzzer in tests/web/test_api_stateful.py) walk the API
as a person would: a created collection's id to its page, its papers and its deletion; a
listing's first paper to its page, its votes, the library and "not interested". Each route
declares its own with ``openapi_extra=links(...)``. Targets are named by method and path,
not by operationId: FastAPI derives those from function names, which may change.
"""

from __future__ import annotations

from typing import Any

FIRST_PAPER = "$response.body#/0/paper/id"
"""The first entry of a listing of {paper: …} objects (daily papers, search, library, …)."""


def to(
    method: str,
    path: str,
    description: str,
    *,
    body: dict[str, str] | None = None,
    **parameters: str,
) -> dict[str, Any]:
    """One link to ``method path``; ``parameters`` map its parameters to runtime expressions."""
    link: dict[str, Any] = {
        "operationRef": "#/paths/"
        + path.replace("~", "~0").replace("/", "~1")
        + "/"
        + method.lower(),
        "description": description,
    }
    if parameters:
        link["parameters"] = parameters
    if body is not None:
        link["requestBody"] = body
    return link


def links(status: int, **named: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` adding the named links to the ``status`` response."""
    return {"responses": {str(status): {"links": named}}}


def merged(*extras: dict[str, Any]) -> dict[str, Any]:
    """Several ``links(...)`` for different status codes in one ``openapi_extra``."""
    responses: dict[str, Any] = {}
    for extra in extras:
        responses.update(extra["responses"])
    return {"responses": responses}


def paper_links(paper_id: str) -> dict[str, dict[str, Any]]:
    """What a client does next with a paper whose id is at ``paper_id`` (an expression)."""
    return {
        "GetPaper": to("GET", "/api/papers/{paper_id}", "The paper", paper_id=paper_id),
        "Upvote": to("POST", "/api/papers/{paper_id}/upvote", "Upvote it", paper_id=paper_id),
        "Similar": to("GET", "/api/papers/{paper_id}/similar", "Papers like it", paper_id=paper_id),
        "Save": to("POST", "/api/library", "Save it to the library", body={"paper_id": paper_id}),
        "Dismiss": to(
            "POST", "/api/dismissals", "Mark it not interested", body={"paper_id": paper_id}
        ),
    }
