"""Typed API responses, so ``/openapi.json`` describes exactly what the server returns.

Field names follow the Hugging Face papers API (camelCase: ``publishedAt``, ``numComments``,
``submittedOnDailyAt``) so its clients can read Paperboard; additions are ``snake_case``
(``trending_score``, ``trending``) or prefixed with ``arxiv``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from ...models import Paper
from ...ranking.trending import trending_score


class Author(BaseModel):
    name: str
    hidden: bool = False


class Organization(BaseModel):
    name: str
    fullname: str


class Submitter(BaseModel):
    name: str
    fullname: str


class TrendingParts(BaseModel):
    """The inputs of ``trending_score`` (see the README's formula)."""

    upvotes: float
    comments: float
    comment_weight: float
    age_hours: float
    gravity: float
    points: float
    decay: float


class PaperOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "A paper, as /api/papers/{id} returns it."})

    id: str = Field(description="arXiv id without version, or a local pb-… id")
    title: str
    summary: str = Field(description="The abstract")
    tldr: str | None = Field(description="One sentence saying what the paper does (null until computed)")
    authors: list[Author]
    numAuthors: int
    publishedAt: datetime | None = Field(description="First arXiv version")
    updatedAt: datetime | None
    submittedOnDailyAt: datetime = Field(description="Start of the paper's feed day (UTC)")
    upvotes: int
    numComments: int
    categories: list[str]
    primaryCategory: str | None
    comment: str | None = Field(description="The authors' arXiv comment")
    journalRef: str | None
    doi: str | None
    githubRepo: str | None
    projectPage: str | None
    codeUrls: list[str]
    projectUrls: list[str]
    arxivUrl: str | None
    pdfUrl: str | None
    organization: Organization | None
    submittedBy: Submitter | None
    version: int
    trending_score: float = Field(description="(upvotes + 2·comments) / (age_hours + 2)^1.8")
    trending: TrendingParts
    saved: bool | None = Field(None, description="In the caller's library (absent without a caller)")
    dismissed: bool | None = Field(None, description="Marked not interested by the caller")


class DailyPaper(BaseModel):
    """One entry of /api/daily_papers and /api/papers/search (the HF daily-paper shape)."""

    paper: PaperOut
    title: str
    summary: str
    tldr: str | None = Field(None, description="The paper's one-sentence TL;DR")
    publishedAt: datetime = Field(description="When the paper went on the daily feed")
    numComments: int
    submittedBy: Submitter | None
    organization: Organization | None
    thumbnail: str | None = None
    isAuthorParticipating: bool = False
    trending_score: float
    trending: TrendingParts


class SearchResult(DailyPaper):
    score: float = Field(description="Relevance score of this search (higher is better)")


class VoteOut(BaseModel):
    paper_id: str
    upvoted: bool
    upvotes: int


class IndexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arxivId: str = Field(min_length=1, max_length=500, description="An arXiv id or arXiv URL")


class IndexResponse(BaseModel):
    created: bool = Field(description="False when the paper was already here")
    paper: PaperOut


class ErrorOut(BaseModel):
    detail: str


def paper_json(paper: Paper, comments: int, now: datetime) -> dict:
    """``PaperOut`` as JSON-ready values, built directly: a list of 50 papers spent half its
    time validating models it had just built from validated rows. The models stay the one
    description of the shape (OpenAPI, ``paper_out``); ``tests/web/test_api_json.py`` checks
    that this dict validates to them and serialises identically."""
    score, parts = trending_score(paper.upvotes, comments, paper.feed_day, now)
    org = {"name": paper.organization, "fullname": paper.organization} if paper.organization else None
    sub = {"name": paper.submitted_by, "fullname": paper.submitted_by} if paper.submitted_by else None
    code = paper.code_urls
    return {
        "id": paper.id,
        "title": paper.title,
        "summary": paper.abstract,
        "tldr": paper.tldr,
        "authors": [{"name": a, "hidden": False} for a in paper.authors],
        "numAuthors": paper.n_authors,
        "publishedAt": _when(paper.published),
        "updatedAt": _when(paper.updated),
        "submittedOnDailyAt": paper.feed_day.isoformat() + "T00:00:00Z",
        "upvotes": paper.upvotes,
        "numComments": comments,
        "categories": paper.categories,
        "primaryCategory": paper.primary_category,
        "comment": paper.comment,
        "journalRef": paper.journal_ref,
        "doi": paper.doi,
        "githubRepo": next((u for u in code if "github.com" in u), code[0] if code else None),
        "projectPage": paper.project_urls[0] if paper.project_urls else None,
        "codeUrls": code,
        "projectUrls": paper.project_urls,
        "arxivUrl": paper.abs_url,
        "pdfUrl": paper.pdf_url,
        "organization": org,
        "submittedBy": sub,
        "version": paper.version,
        "trending_score": round(score, 9),
        "trending": {k: float(v) for k, v in parts.items()},
        "saved": None,
        "dismissed": None,
    }


def daily_paper_json(paper: Paper, comments: int, now: datetime) -> dict:
    """``DailyPaper`` as JSON-ready values (see ``paper_json``)."""
    p = paper_json(paper, comments, now)
    return {
        "paper": p, "title": p["title"], "summary": p["summary"], "tldr": p["tldr"],
        "publishedAt": p["submittedOnDailyAt"], "numComments": comments,
        "submittedBy": p["submittedBy"], "organization": p["organization"], "thumbnail": None,
        "isAuthorParticipating": False, "trending_score": p["trending_score"], "trending": p["trending"],
    }  # fmt: skip


def _when(v: datetime | None) -> str | None:
    """Pydantic's JSON form of a UTC datetime (``Z``, microseconds only when present)."""
    if v is None:
        return None
    return v.astimezone(UTC).isoformat().replace("+00:00", "Z")


def paper_out(paper: Paper, comments: int, now: datetime) -> PaperOut:
    return PaperOut.model_validate(paper_json(paper, comments, now))
