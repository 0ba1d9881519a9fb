"""Submitting a paper by arXiv id or URL (the /submit page and POST /api/papers/index).

The paper is fetched completely before anything is written, then stored in one upsert: an
offline machine or an unknown id leaves the store exactly as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from ..config import Settings
from ..ids import InvalidId, parse_arxiv_id
from ..models import Paper
from ..store.accounts import User
from ..store.base import Store

log = logging.getLogger(__name__)

SUBMIT_RETRIES = 1
"""A person is waiting: one retry, not the harvester's patient backoff."""
SUBMIT_TIMEOUT = 15.0


class SubmitError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Submitted:
    paper: Paper
    created: bool


def submit(store: Store, settings: Settings, text: str, user: User) -> Submitted:
    text = (text or "").strip()
    if not text:
        raise SubmitError(400, "Enter an arXiv id (e.g. 2501.12948) or an arXiv URL.")
    if len(text) > 500:
        raise SubmitError(400, "That is too long to be an arXiv id or URL.")
    try:
        aid = parse_arxiv_id(text)
    except InvalidId:
        raise SubmitError(400, f"{text[:80]!r} is not an arXiv id or arXiv URL.") from None
    existing = store.get_paper(aid.id, include_hidden=True)
    if existing is not None:
        if store.get_paper(aid.id) is None:
            raise SubmitError(409, "This paper was removed by a moderator.")
        return Submitted(existing, False)

    from ..sources import arxiv_api
    from ..sources.http import HttpClient, SourceError, SourceUnavailable

    quick = settings.model_copy(
        update={"http_max_retries": SUBMIT_RETRIES, "http_timeout": min(settings.http_timeout, SUBMIT_TIMEOUT)}
    )
    client = HttpClient(quick, backoff_base=0.5)
    try:
        paper = arxiv_api.fetch_paper(
            aid.id, quick, feed_day=datetime.now(UTC).date(),
            submitted_by=user.username, client=client,
        )  # fmt: skip
    except arxiv_api.PaperNotFound:
        raise SubmitError(404, f"arXiv has no paper {aid.id}.") from None
    except SourceUnavailable as exc:
        raise SubmitError(
            503, f"arXiv cannot be reached right now, so nothing was stored. Try again later. ({exc})"
        ) from None
    except (SourceError, InvalidId) as exc:
        raise SubmitError(502, f"arXiv's record for {aid.id} could not be used: {exc}") from None
    finally:
        client.close()
    store.upsert_papers([paper])
    _embed_now(store, paper.id)
    stored = store.get_paper(paper.id)
    return Submitted(stored or paper, True)


def _embed_now(store: Store, paper_id: str) -> None:
    """Give the submitted paper its vector now, so it is found by meaning at once; a missing
    model only delays that until the next `paperboard embed`."""
    from ..search.embedder import DEFAULT_RERANKER, ModelFilesMissing, load_embedder
    from ..search.embedding import embed_papers, strong_vectors_wanted, views_of

    try:
        embed_papers(store, load_embedder(), [paper_id])
        if strong_vectors_wanted(store):  # ~30 ms for one paper
            strong = load_embedder(DEFAULT_RERANKER)
            for view in views_of(strong.name):
                embed_papers(store, strong, [paper_id], view=view)
    except (ModelFilesMissing, ImportError, OSError) as exc:
        log.warning("submitted paper %s not embedded yet: %s", paper_id, exc)
