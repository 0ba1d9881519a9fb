"""arXiv identifiers: the key every source, store and URL agrees on.

Papers are keyed by the arXiv id *without* version ("2501.01234", "hep-th/9901001"); the
version travels separately so "newer version wins" is a comparison, not string surgery.
Papers that have no arXiv id (the seed page's cards) get a local id ``pb-<10 hex>`` derived
from the normalised title, so re-importing them is idempotent.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

# ASCII digits only (``\d`` also matches e.g. Arabic-Indic ones), ``\Z`` not ``$`` (which
# matches before a final newline), and the id itself case-sensitive (``HEP-TH/9901001`` is
# not a key the store or arXiv knows): each let through a string that is not a paper key.
_NEW = r"(?P<new>[0-9]{4}\.[0-9]{4,5})"
_OLD = r"(?P<old>[a-z][a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7})"
_VERSION = r"(?:[vV](?P<version>[1-9][0-9]{0,2}))?"  # v1 is the first version
_BARE = re.compile(rf"^(?:{_NEW}|{_OLD}){_VERSION}\Z")
_IN_TEXT = re.compile(
    rf"(?i:arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/|arxiv:\s*)?(?:{_NEW}|{_OLD}){_VERSION}(?i:\.pdf)?"
)
LOCAL_ID = re.compile(r"^pb-[0-9a-f]{10}\Z")


@dataclass(frozen=True, slots=True)
class ArxivId:
    id: str
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.id}v{self.version}" if self.version else self.id


class InvalidId(ValueError):
    pass


def parse_arxiv_id(text: str) -> ArxivId:
    """Accept a bare id, an id with version, an ``arXiv:`` prefix, or an arXiv/HF URL."""
    s = (text or "").strip()
    if len(s) > 300:
        raise InvalidId("identifier too long")
    bare = _BARE.match(s)
    if bare is None:
        s2 = re.sub(r"^(?:https?://)?(?:www\.|export\.)?", "", s, flags=re.IGNORECASE)
        s2 = re.sub(r"^arxiv:\s*", "arxiv:", s2, flags=re.IGNORECASE)
        m = _IN_TEXT.fullmatch(s2.rstrip("/"))
        if m is None:
            raise InvalidId(f"not an arXiv identifier or URL: {text[:80]!r}")
    else:
        m = bare
    ident = m.group("new") or m.group("old")
    version = m.group("version")
    return ArxivId(ident, int(version) if version else None)


def is_paper_id(text: str) -> bool:
    """True for a version-less arXiv id or a local id: what the store accepts as a key."""
    return bool(LOCAL_ID.match(text)) or (
        (m := _BARE.match(text)) is not None and m.group("version") is None
    )


def lookup_key(text: str) -> str:
    """``text`` as a key to look up. PostgreSQL refuses NUL in text and no key holds one
    (keys are ASCII), so it becomes U+FFFD: the lookup finds nothing instead of failing."""
    return text.replace("\x00", "\ufffd")


def title_key(title: str) -> str:
    """A normalised title used to match a seed card with the arXiv record of the same paper."""
    s = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", s).strip()


def local_id_for_title(title: str) -> str:
    return "pb-" + hashlib.sha1(title_key(title).encode()).hexdigest()[:10]


def abs_url(paper_id: str, version: int | None = None) -> str | None:
    if LOCAL_ID.match(paper_id):
        return None
    return f"https://arxiv.org/abs/{paper_id}" + (f"v{version}" if version else "")


def pdf_url(paper_id: str, version: int | None = None) -> str | None:
    if LOCAL_ID.match(paper_id):
        return None
    return f"https://arxiv.org/pdf/{paper_id}" + (f"v{version}" if version else "")
