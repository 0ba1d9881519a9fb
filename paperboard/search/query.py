"""User query syntax, parsed once and handed to every engine.

Supported: bare words, ``"exact phrase"``, ``-exclude`` (also ``-"phrase"``), field
prefixes ``ti:`` ``au:`` ``abs:`` (a word or a quoted phrase) and the filter ``cat:cs.CL``
(``-cat:`` is refused: no engine can exclude a category, and ignoring the minus would keep
exactly the papers the user asked to drop).
Anything else (FTS operators, SQL, punctuation) is treated as plain text, never passed to
an engine verbatim, so a user cannot produce a syntax error in SQLite or PostgreSQL.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

MAX_QUERY_CHARS = 250
"""The Hugging Face papers API's limit, also applied by the web layer and CLI."""
MAX_TERMS = 32
POSTINGS_BUDGET = 5_000
"""At most this many postings are walked by an any-word query (whatever the corpus size):
"learning" alone is in half of a corpus, and OR-ing it in makes a question cost tens of ms."""

Field = Literal["ti", "au", "abs"]
_FIELDS = {"ti": "ti", "title": "ti", "au": "au", "author": "au", "abs": "abs", "abstract": "abs"}
_TOKEN = re.compile(
    r'(?P<neg>-)?(?:(?P<field>[A-Za-z]+):)?(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))'
)
_WORD = re.compile(r"\w+", re.UNICODE)


class QueryError(ValueError):
    """A query the user must change (too long, nothing to search for)."""


@dataclass(frozen=True, slots=True)
class Term:
    words: tuple[str, ...]
    """One word, or several for a phrase; lower-cased alphanumerics only."""
    field: Field | None = None
    negated: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(slots=True)
class ParsedQuery:
    text: str
    terms: list[Term] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    @property
    def positive(self) -> list[Term]:
        return [t for t in self.terms if not t.negated]

    @property
    def negative(self) -> list[Term]:
        return [t for t in self.terms if t.negated]

    @property
    def free_text(self) -> str:
        """The words a semantic model should embed: positive terms, fields dropped."""
        return " ".join(" ".join(t.words) for t in self.positive)

    @property
    def is_empty(self) -> bool:
        return not self.positive


def words_of(text: str) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKC", text).lower()
    return tuple(_WORD.findall(text))


def parse_query(text: str, *, max_chars: int = MAX_QUERY_CHARS) -> ParsedQuery:
    """Parse user text. Raises QueryError for an over-long query."""
    if text is None:
        text = ""
    if len(text) > max_chars:
        raise QueryError(f"query is longer than {max_chars} characters")
    text = text.replace("\x00", " ").strip()
    parsed = ParsedQuery(text=text)
    for m in _TOKEN.finditer(text):
        negated = bool(m.group("neg"))
        fname = (m.group("field") or "").lower()
        raw = m.group("phrase") if m.group("phrase") is not None else m.group("word")
        if fname == "cat" and raw:
            if negated:  # read as ``cat:`` it would return only what the user excluded
                what = m.group(0)[:40]
                raise QueryError(f"excluding a category ({what}) is not supported; use cat: to keep one")
            cat = raw.strip()
            if re.fullmatch(r"[A-Za-z][A-Za-z\-]*(?:\.[A-Za-z\-]+)?", cat):
                parsed.categories.append(cat)
            continue
        field_: Field | None = _FIELDS.get(fname) if fname else None  # type: ignore[assignment]
        if fname and field_ is None:
            # "foo:bar" that is not a known field: search both words as text.
            raw = f"{fname} {raw}"
        words = words_of(raw or "")
        if not words:
            continue
        if m.group("phrase") is not None:
            parsed.terms.append(Term(words, field_, negated))
        else:
            # A bare token like "state-of-the-art" becomes a phrase of its word parts.
            parsed.terms.append(Term(words, field_, negated))
        if len(parsed.terms) >= MAX_TERMS:
            break
    return parsed


def rarest_within_budget(terms: list[Term], costs: Callable[[list[Term]], dict[Term, int]]) -> list[Term]:
    """The terms an any-word search ORs together: rarest first, within ``POSTINGS_BUDGET``
    (at least one). Phrases and field-restricted terms are always kept: they are selective
    by construction. ``costs`` gives each plain word's postings, from whichever engine's
    document frequencies (FTS5's vocabulary, or the Tantivy index's)."""
    kept = [t for t in terms if t.is_phrase or t.field]
    singles = [t for t in terms if not (t.is_phrase or t.field)]
    if not singles:
        return kept
    cost = costs(singles)
    spent = 0
    for t in sorted(singles, key=lambda t: cost[t]):
        if kept and spent + cost[t] > POSTINGS_BUDGET:
            break
        kept.append(t)
        spent += cost[t]
    return kept
