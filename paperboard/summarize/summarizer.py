"""Choose and tidy the TL;DR: the best-scored candidate within the word limit, else the title.

The model is a linear scorer (``tldr_model.json``, written by ``scripts/train_tldr.py``):
pure Python arithmetic, no numpy on the hot path, so it runs inside the ingest parse worker
at thousands of papers per second and needs nothing downloaded.
"""

from __future__ import annotations

import json
from functools import cache
from hashlib import blake2b
from pathlib import Path

from .candidates import FEATURES, Scorer

MAX_WORDS = 30
MODEL_PATH = Path(__file__).resolve().parent / "tldr_model.json"


class ModelMismatch(RuntimeError):
    """The model file was trained on other features than this code computes."""


@cache
def load_model(path: Path = MODEL_PATH) -> tuple[float, ...]:
    """The weights, in ``FEATURES`` order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ModelMismatch(f"{path} was trained on other features; retrain with scripts/train_tldr.py")
    return tuple(float(w) for w in data["weights"])


@cache
def _scorer(weights: tuple[float, ...]) -> Scorer:
    return Scorer(weights)


def _tidy(text: str) -> str:
    text = " ".join(text.split()).rstrip(" ,;:")
    if text and text[-1] not in ".!?…":
        text += "."
    return text


def _clip(text: str, limit: int = MAX_WORDS) -> str:
    words = text.split()
    if len(words) <= limit:
        return text
    return " ".join(words[:limit]).rstrip(" ,;:.") + "…"


CACHE_SIZE = 100_000
_cache: dict[bytes, str] = {}
"""TL;DRs by a digest of (title, abstract): a bulk ingest reads the same paper in several day
files and versions, and the same text gets the same TL;DR, so it is computed once. Keys are
16-byte digests, so the cache stays ~20 MB however long the abstracts."""


def tldr(title: str, abstract: str, *, weights: tuple[float, ...] | None = None) -> str:
    """One sentence of at most ``MAX_WORDS`` words saying what the paper does; never empty
    while the title is not.

    The best-scored candidate that fits the limit; if every sentence is longer, the best one
    cut at the limit. With no abstract sentence to choose from, the title stands in."""
    if weights is not None:
        return _tldr(title, abstract, weights)
    key = blake2b(f"{title}\x00{abstract}".encode(errors="replace"), digest_size=16).digest()
    found = _cache.get(key)
    if found is None:
        found = _cache[key] = _tldr(title, abstract, load_model())
        if len(_cache) > CACHE_SIZE:
            del _cache[next(iter(_cache))]  # the oldest entry
    return found


def _tldr(title: str, abstract: str, weights: tuple[float, ...]) -> str:
    best = _scorer(weights).choose(title or "", abstract or "", MAX_WORDS)
    if best is None:
        return _clip(" ".join((title or "").split()))
    text, words = best
    return _tidy(text) if words <= MAX_WORDS else _clip(_tidy(text))
