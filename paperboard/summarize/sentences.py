"""Abstracts into sentences, without a tokenizer model: arXiv abstracts are regular enough that
a full stop, question or exclamation mark followed by a capital (or digit, bracket, LaTeX)
ends a sentence, except after the abbreviations and initials papers use."""

from __future__ import annotations

import re

_END = re.compile(r"([.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[$\\])")
_ABBREVIATIONS = (
    "e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "Fig.", "fig.", "Figs.", "Eq.", "eq.", "Eqs.",
    "Sec.", "approx.", "resp.", "Dr.", "Mr.", "Ms.", "Prof.", "No.", "al.", "Tab.", "Ref.", "Refs.",
    "w.r.t.", "a.k.a.", "St.", "Thm.", "Def.", "Prop.", "Lem.", "Ch.", "vol.", "pp.", "ca.",
)  # fmt: skip
_INITIAL = re.compile(r"(?:^|[\s(])[A-Z]\.$")
MIN_WORDS = 3
"""A "sentence" shorter than this is a fragment of a split that went wrong: keep it attached."""


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` in order; whitespace (line wraps, paragraph breaks) collapsed."""
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    start = 0
    for m in _END.finditer(text):
        end = m.end(1)
        piece = text[start:end]
        # An initial is the piece's last three characters at most: searching from there (``^``
        # still only matches at 0) keeps this linear in the abstract, not quadratic.
        if (
            piece.endswith(_ABBREVIATIONS)
            or _INITIAL.search(piece, len(piece) - 3)
            or piece.count(" ") < MIN_WORDS - 1
        ):
            continue
        out.append(piece.strip())
        start = m.end()
    rest = text[start:].strip()
    if rest:
        if out and rest.count(" ") < MIN_WORDS - 1:
            out[-1] = f"{out[-1]} {rest}"
        else:
            out.append(rest)
    return out
