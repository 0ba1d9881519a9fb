"""Whether a user's display name can be one of a paper's authors.

arXiv author lists spell the same person many ways ("Zoë Ångström", "Zoe Angstrom",
"Z. Ångström", "Angstrom, Zoe"), so names are compared folded: diacritics stripped, case and
punctuation dropped, "Last, First" turned around, and a given name matching its initial.
The family name must match in full: a claim is a request an admin approves, so this only
has to rule out the obvious mismatch, not prove identity.
"""

from __future__ import annotations

import re
import unicodedata

_PARTICLES = {"van", "von", "der", "de", "den", "da", "di", "del", "la", "le", "du", "dos", "bin", "al"}


def fold(name: str) -> list[str]:
    """A name's words: accents and case folded, "Last, First" reordered, hyphens split."""
    name = unicodedata.normalize("NFKD", name or "")
    name = "".join(c for c in name if not unicodedata.combining(c)).casefold()
    name = name.replace("ß", "ss").replace("ø", "o").replace("ł", "l").replace("æ", "ae")
    if name.count(",") == 1:
        last, first = name.split(",")
        name = f"{first} {last}"
    return [w for w in re.split(r"[\s.\-‐'’]+", re.sub(r"[^\w\s.\-‐'’]", " ", name)) if w]


def _given_match(a: list[str], b: list[str]) -> bool:
    """Given names agree: word by word, a full name matches itself or its initial; one side
    may have fewer (a middle name left out)."""
    for x, y in zip(a, b, strict=False):
        if len(x) == 1 or len(y) == 1:
            if x[0] != y[0]:
                return False
        elif x != y:
            return False
    return bool(a) and bool(b)


def names_match(display_name: str, author: str) -> bool:
    mine, theirs = fold(display_name), fold(author)
    if len(mine) < 2 or len(theirs) < 2:
        return False
    # The family name may take several words ("van der Berg"): try each split point.
    for cut in range(1, len(mine)):
        family = [w for w in mine[cut:] if w not in _PARTICLES] or mine[cut:]
        their_family = [w for w in theirs if w not in _PARTICLES]
        if len(their_family) < len(family) + 1:
            continue
        if their_family[-len(family) :] == family and _given_match(mine[:cut], their_family[: -len(family)]):
            return True
    return False


def matching_author(display_name: str | None, authors: list[str]) -> str | None:
    """The author on the list who can be this user, or None."""
    if not display_name:
        return None
    return next((a for a in authors if names_match(display_name, a)), None)
