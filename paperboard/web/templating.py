"""The Jinja2 environment: autoescaping everywhere, plus the filters pages use."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from . import text
from .card_cache import CardCache

TEMPLATES = Path(__file__).parent / "templates"


@jinja2.pass_context
def csrf_input(ctx: jinja2.runtime.Context) -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(ctx.get("csrf_token", ""))


def safe_href(url: str | None) -> str:
    """Only http(s) links leave the site; anything else (``javascript:``) becomes '#'."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return "#"


def url_path(value: str) -> str:
    return quote(value, safe="")


def query(**params: object) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def make_templates(card_cache_size: int = 2048) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        summary=text.first_sentence,
        readable=text.readable,
        paragraphs=text.paragraphs,
        comment_html=text.render_comment,
        authors_short=text.authors_short,
        nice_date=text.nice_date,
        href=safe_href,
        urlpart=url_path,
    )
    env.globals.update(csrf_input=csrf_input, query=query, card_cache=CardCache(card_cache_size))
    return Jinja2Templates(env=env)
