"""BibTeX for the "cite" button, in the form arXiv's own export uses (@misc + eprint)."""

from __future__ import annotations

import re
import unicodedata

from ..models import Paper

_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}"}


def _tex(value: str) -> str:
    return "".join(_SPECIAL.get(ch, ch) for ch in value)


def cite_key(paper: Paper) -> str:
    surname = paper.authors[0].split()[-1] if paper.authors else "anon"
    surname = unicodedata.normalize("NFKD", surname).encode("ascii", "ignore").decode()
    surname = re.sub(r"[^A-Za-z]", "", surname).lower() or "anon"
    year = (paper.published.year if paper.published else paper.feed_day.year)
    word = next((w.lower() for w in re.findall(r"[A-Za-z]{4,}", paper.title)), "paper")
    return f"{surname}{year}{word}"


def to_bibtex(paper: Paper) -> str:
    year = paper.published.year if paper.published else paper.feed_day.year
    fields = [
        ("title", "{" + _tex(paper.title) + "}"),
        ("author", _tex(" and ".join(paper.authors)) if paper.authors else "Unknown"),
        ("year", str(year)),
    ]
    if not paper.is_local:
        fields += [("eprint", paper.id), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", paper.primary_category))
        fields.append(("url", f"https://arxiv.org/abs/{paper.id}"))
    if paper.doi:
        fields.append(("doi", _tex(paper.doi)))
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"@misc{{{cite_key(paper)},\n{body}\n}}\n"
