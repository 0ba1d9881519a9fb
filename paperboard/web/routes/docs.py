"""/docs: the API reference rendered here from /openapi.json.

FastAPI's Swagger UI page loads its JavaScript and CSS from a CDN; Paperboard runs offline
and loads nothing external, so the same OpenAPI document is rendered server-side instead.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .. import deps

router = APIRouter(include_in_schema=False)


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    return str(schema.get("type", "any"))


def _constraints(schema: dict[str, Any]) -> str:
    keys = ("minimum", "maximum", "minLength", "maxLength", "pattern", "default")
    return ", ".join(f"{k}={schema[k]!r}" for k in keys if k in schema)


def _endpoints(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            params = [
                {"name": p["name"], "in": p["in"], "required": p.get("required", False),
                 "type": _type(p.get("schema", {})), "constraints": _constraints(p.get("schema", {})),
                 "description": p.get("description") or p.get("schema", {}).get("description", "")}
                for p in op.get("parameters", [])
            ]  # fmt: skip
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            responses = [
                {"code": code, "description": r.get("description", ""),
                 "type": _type(r.get("content", {}).get("application/json", {}).get("schema", {}))
                 if r.get("content") else ""}
                for code, r in op.get("responses", {}).items()
            ]  # fmt: skip
            out.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""), "params": params,
                "body": _type(body) if body else None, "responses": responses,
            })  # fmt: skip
    return out


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request):
    spec = request.app.openapi()
    schemas = {
        name: json.dumps(schema, indent=1) for name, schema in spec.get("components", {}).get("schemas", {}).items()
    }
    return deps.render(
        request, "docs.html",
        {"spec": spec, "endpoints": _endpoints(spec), "schemas": schemas, "nav": "docs"},
    )  # fmt: skip
