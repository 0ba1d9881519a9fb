"""The domain model: a paper as every layer sees it.

Validation happens here, at the edge: sources build ``Paper`` objects (or report a
``RecordError``), and everything downstream can trust the fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import ids
from .links import mine_links

MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 10_000
"""Collaboration papers list thousands (the Gemini 2.5 report: 3,303)."""
MAX_AUTHOR_NAME = 1_000
MAX_FIELD = 4_000

_CATEGORY = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z\-]+)?$")
"""arXiv taxonomy codes (cs.CL, hep-th, math.AG); MSC/ACM classes (68T45, I.2.7) are not."""


def clean_inline(text: str) -> str:
    """Collapse arXiv's hard line wraps and runs of spaces in one-line fields."""
    return " ".join(text.split())


def clean_abstract(text: str) -> str:
    """Join hard-wrapped lines but keep paragraph breaks (blank lines)."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(clean_inline(p) for p in paragraphs if p.strip())


def utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


class Paper(BaseModel):
    """One paper. ``id`` is the arXiv id without version, or a local ``pb-…`` id."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    id: str
    version: Annotated[int, Field(ge=1, le=999)] = 1
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    author_count: int | None = None
    """Declared number of authors when names are unknown (the seed page says "11 authors")."""
    categories: list[str] = Field(default_factory=list)
    primary_category: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    code_urls: list[str] = Field(default_factory=list)
    project_urls: list[str] = Field(default_factory=list)
    organization: str | None = None
    feed_day: date
    submitted_by: str | None = None
    upvotes: Annotated[int, Field(ge=0)] = 0
    tldr: str | None = None
    """One sentence saying what the paper does (``paperboard.summarize``), computed here when
    not given, so every way into the store (ingest, submission, harvest) carries one."""

    @field_validator("id")
    @classmethod
    def _valid_id(cls, v: str) -> str:
        v = v.strip()
        if not ids.is_paper_id(v):
            raise ValueError(f"not a valid paper id: {v[:60]!r}")
        return v

    @field_validator("title")
    @classmethod
    def _valid_title(cls, v: str) -> str:
        v = clean_inline(v or "")
        if not v:
            raise ValueError("title is empty")
        if len(v) > MAX_TITLE:
            raise ValueError(f"title longer than {MAX_TITLE} characters")
        return v

    @field_validator("abstract")
    @classmethod
    def _valid_abstract(cls, v: str) -> str:
        if len(v or "") > MAX_ABSTRACT * 2:
            raise ValueError(f"abstract longer than {MAX_ABSTRACT} characters")
        v = clean_abstract(v or "")
        if len(v) > MAX_ABSTRACT:
            raise ValueError(f"abstract longer than {MAX_ABSTRACT} characters")
        return v

    @field_validator("authors")
    @classmethod
    def _valid_authors(cls, v: list[str]) -> list[str]:
        if len(v) > MAX_AUTHORS:
            raise ValueError(f"more than {MAX_AUTHORS} authors")
        out = []
        for name in v:
            name = clean_inline(str(name))
            if not name:
                continue
            if len(name) > MAX_AUTHOR_NAME:
                raise ValueError("author name too long")
            out.append(name)
        return out

    @field_validator("categories")
    @classmethod
    def _valid_categories(cls, v: list[str]) -> list[str]:
        """Keep arXiv categories; listings also carry MSC/ACM class codes, which are dropped."""
        if len(v) > 100:
            raise ValueError("more than 100 categories")
        out: list[str] = []
        for item in v:
            for c in re.split(r"[\s,;]+", str(item)):
                if c and len(c) <= 40 and _CATEGORY.match(c) and c not in out:
                    out.append(c)
        return out

    @field_validator("comment", "journal_ref", "doi", "license", "organization", "submitted_by", "tldr")
    @classmethod
    def _short_text(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = clean_inline(str(v))
        if len(v) > MAX_FIELD:
            raise ValueError(f"field longer than {MAX_FIELD} characters")
        return v or None

    @field_validator("published", "updated")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        try:
            return utc(v) if v is not None else None
        except OverflowError:  # 0001-01-01T00:00+01:00 is before the first UTC datetime
            raise ValueError(f"date out of range: {v.isoformat()}") from None

    @model_validator(mode="after")
    def _derive(self) -> Paper:
        if self.primary_category is None and self.categories:
            self.primary_category = self.categories[0]
        elif self.primary_category and self.primary_category not in self.categories:
            self.categories.insert(0, self.primary_category)
        if not self.code_urls and not self.project_urls:
            code, project = mine_links(self.abstract, self.comment)
            self.code_urls, self.project_urls = code, project
        if self.author_count is not None and self.author_count < len(self.authors):
            self.author_count = len(self.authors)
        if not self.tldr:
            from .summarize import tldr

            self.tldr = tldr(self.title, self.abstract)
        return self

    @classmethod
    def from_store(cls, fields: dict[str, Any]) -> Paper:
        """A paper read back from the store: validated on the way in, so built unvalidated.

        What ``model_construct`` leaves behind when every field is given (the same four
        attributes), without its per-field walk over aliases and defaults: 14 of the 42 µs a
        feed row cost. ``fields`` must hold every field (``tests/test_models.py`` checks the
        result equals ``model_construct``'s)."""
        m = cls.__new__(cls)
        object.__setattr__(m, "__dict__", fields)
        object.__setattr__(m, "__pydantic_fields_set__", set(_ALL_FIELDS))
        object.__setattr__(m, "__pydantic_extra__", None)
        object.__setattr__(m, "__pydantic_private__", None)
        return m

    # Derived, never stored.
    @property
    def abs_url(self) -> str | None:
        return ids.abs_url(self.id)

    @property
    def pdf_url(self) -> str | None:
        return ids.pdf_url(self.id)

    @property
    def n_authors(self) -> int:
        return max(len(self.authors), self.author_count or 0)

    @property
    def is_local(self) -> bool:
        return bool(ids.LOCAL_ID.match(self.id))

    def to_public(self) -> dict[str, Any]:
        """The JSON shape every machine interface (CLI ``--json``, API) starts from."""
        d = self.model_dump(mode="json")
        d["abs_url"] = self.abs_url
        d["pdf_url"] = self.pdf_url
        d["n_authors"] = self.n_authors
        return d


_ALL_FIELDS = frozenset(Paper.model_fields)


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record a source could not turn into a Paper: where it was and why."""

    source: str
    position: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.position}: {self.reason}"


def validation_reason(exc: Exception) -> str:
    """A one-line reason from a pydantic ValidationError (or any exception)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for e in errors()[:3]:
            loc = ".".join(str(x) for x in e.get("loc", ())) or "record"
            msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}")
        return "; ".join(parts)
    return str(exc)[:300]
