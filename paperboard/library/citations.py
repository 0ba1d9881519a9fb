"""Export papers as BibTeX, RIS and CSL-JSON: the files Zotero, Mendeley and LaTeX import.

Each format copies what researchers already get for an arXiv preprint elsewhere (arXiv's own
BibTeX export, Zotero's RIS and CSL-JSON for its "preprint" item), so a file from Paperboard
imports exactly like one they made themselves. Every value is escaped for its format: a title
is data, never markup, so a hostile one can neither break the file nor smuggle in an entry
(or a LaTeX command that runs when the bibliography is compiled).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from ..models import Paper

ExportFormat = Literal["bibtex", "ris", "csljson"]


@dataclass(frozen=True, slots=True)
class FormatInfo:
    media_type: str
    extension: str


FORMATS: dict[str, FormatInfo] = {
    "bibtex": FormatInfo("application/x-bibtex; charset=utf-8", "bib"),
    "ris": FormatInfo("application/x-research-info-systems; charset=utf-8", "ris"),
    "csljson": FormatInfo("application/vnd.citationstyles.csl+json; charset=utf-8", "json"),
}
"""Media types reference managers recognise (CSL-JSON's is registered with IANA)."""

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DOI = re.compile(r"^10\.\d{4,9}/[^\s\"{}\\%#<>]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def export(papers: Iterable[Paper], fmt: ExportFormat) -> tuple[str, str]:
    """Return ``(text, media_type)``; ``FORMATS[fmt].extension`` names the download."""
    writers = {"bibtex": to_bibtex, "ris": to_ris, "csljson": to_csljson}
    if fmt not in writers:
        raise ValueError(f"unknown export format {fmt!r}; choose bibtex, ris or csljson")
    return writers[fmt](papers), FORMATS[fmt].media_type


# --- names ---------------------------------------------------------------------------------

_PARTICLES = frozenset(
    "van von vom zu zur der den de del della delle di da das dos do du la le ten ter bin ibn".split()
)
"""Lower-case words that start a family name ("Guido van Rossum", "Charles de Gaulle")."""
_SUFFIX = re.compile(r"^(?P<rest>.+?),?\s+(?P<suffix>Jr\.?|Sr\.?|II|III|IV)$")
_ORGANISATION = re.compile(
    r"\b(?:team|collaboration|consortium|group|project|initiative|labs?|laborator(?:y|ies)|"
    r"institute|university|inc|ltd|llc|corp(?:oration)?|committee|council|association|"
    r"society|foundation|contributors|authors|community|organi[sz]ation|cent(?:er|re)|research)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PersonName:
    """A name split for citation formats; ``literal`` is set for names that must not be split."""

    given: str = ""
    family: str = ""
    suffix: str = ""
    literal: str = ""


def split_name(name: str) -> PersonName:
    """Split "Given Family" as a reference manager would, keeping particles with the family.

    arXiv gives one string per author, so this is a heuristic: the family name is the last
    word, or starts at the first lower-case particle. One-word names ("OpenAI"),
    organisations ("Gemini Team") and names with stray commas stay whole, because a wrong
    split ("Team, Gemini") is worse than none.
    """
    name = " ".join(name.split())
    suffix = ""
    if m := _SUFFIX.match(name):
        name, suffix = m.group("rest"), m.group("suffix")
    words = name.split(" ")
    if len(words) < 2 or "," in name or _ORGANISATION.search(name):
        return PersonName(literal=" ".join(filter(None, [name, suffix])))
    start = len(words) - 1
    for i, word in enumerate(words[1:-1], start=1):
        if word in _PARTICLES:
            start = i
            break
    return PersonName(given=" ".join(words[:start]), family=" ".join(words[start:]), suffix=suffix)


# --- shared facts ----------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Control characters out, whitespace collapsed: no value can start a new line or record."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def _issued(paper: Paper) -> date:
    """The first version's date, as Google Scholar and arXiv listings cite it."""
    return paper.published.date() if paper.published else paper.feed_day


def _doi(paper: Paper) -> str | None:
    """The paper's own DOI, else the DOI arXiv registers for every paper (10.48550/arXiv.ID)."""
    if paper.doi and _DOI.match(paper.doi):
        return paper.doi
    return None if paper.is_local else f"10.48550/arXiv.{paper.id}"


def _unique(papers: Iterable[Paper]) -> list[Paper]:
    seen: set[str] = set()
    out = []
    for p in papers:
        if p.id not in seen:
            seen.add(p.id)
            out.append(p)
    return out


# --- citation keys ---------------------------------------------------------------------------

_KEY_STOPWORDS = frozenset(
    "a an the on of in for to and or with via is are be from by at as towards toward".split()
)


_NO_DECOMPOSITION = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe",
     "ß": "ss", "ı": "i"}
)
"""Letters NFKD leaves whole, which would vanish from an ASCII key ("Łukasiewicz")."""


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_NO_DECOMPOSITION))
    folded = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", folded)


def _key_base(paper: Paper) -> str:
    """lastname + year + first significant title word, the Google Scholar shape."""
    author = ""
    if paper.authors:
        first = split_name(paper.authors[0])
        author = _ascii(first.family or first.literal)[:20]
    word = next(
        (w for w in (_ascii(t) for t in paper.title.split()) if w and w not in _KEY_STOPWORDS),
        "",
    )
    return f"{author or 'anon'}{_issued(paper).year}{word[:20]}"


def _letters(n: int) -> str:
    """0 → a, 25 → z, 26 → aa: the suffixes BibTeX users expect on colliding keys."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def citation_keys(papers: list[Paper]) -> list[str]:
    """One unique key per paper, in order.

    Colliding papers are suffixed in arXiv-id order, not input order, so re-exporting the
    same set in another order gives every paper the same key.
    """
    bases = [_key_base(p) for p in papers]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, base in enumerate(bases):
        groups[base].append(i)
    used = set(groups)
    keys = list(bases)
    for base, members in groups.items():
        members.sort(key=lambda i: papers[i].id)
        n = 0
        for i in members[1:]:
            while (candidate := base + _letters(n)) in used:
                n += 1
            used.add(candidate)
            keys[i] = candidate
    return keys


# --- BibTeX ----------------------------------------------------------------------------------

_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "$": r"\$",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}
_TEX_SPECIAL = re.compile("[" + re.escape("".join(_TEX_ESCAPES)) + "]")
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_AND = re.compile(r"\band\b", re.IGNORECASE)


def _tex(text: str) -> str:
    """Text as LaTeX that prints it verbatim.

    Braces become ``\\textbraceleft{}`` rather than ``\\{`` because BibTeX counts every
    brace, escaped or not: one stray ``\\}`` would end the field early and let the rest of
    a title be read as new fields or entries. Math and commands in titles are printed, not
    run, for the same reason.
    """
    return _escape(_one_line(text))


def _escape(text: str) -> str:
    return _TEX_SPECIAL.sub(lambda m: _TEX_ESCAPES[m.group(0)], text)


def _tex_title(title: str) -> str:
    """Escape, and brace capitalised words so BibTeX styles keep "BERT" and "Gaussian".

    Styles that sentence-case titles would print "bert"; like Zotero, every capitalised
    word after the first is protected, and the first too if it is an acronym or camel case.
    """
    title = _one_line(title)
    out: list[str] = []
    pos = 0
    for n, m in enumerate(_WORD.finditer(title)):
        out.append(_escape(title[pos : m.start()]))
        word = m.group(0)
        inner_upper = any(c.isupper() for c in word[1:])
        protect = inner_upper or (n > 0 and word[0].isupper())
        out.append("{" + word + "}" if protect else word)
        pos = m.end()
    out.append(_escape(title[pos:]))
    return "".join(out)


def _bib_part(text: str) -> str:
    """A name part; braced when BibTeX would otherwise split it on "and" or a comma."""
    escaped = _tex(text)
    return "{" + escaped + "}" if _AND.search(text) or "," in text else escaped


def _bib_name(raw: str) -> str:
    name = split_name(raw)
    if name.literal:
        return "{" + _tex(name.literal) + "}"
    parts = [_bib_part(name.family)]
    if name.suffix:
        parts.append(_bib_part(name.suffix))
    parts.append(_bib_part(name.given))
    return ", ".join(parts)


def _bibtex_entry(paper: Paper, key: str, *, abstract: bool = True) -> str:
    issued = _issued(paper)
    fields: list[tuple[str, str]] = [("title", "{" + _tex_title(paper.title) + "}")]
    if paper.authors:
        fields.append(("author", "{" + " and ".join(_bib_name(a) for a in paper.authors) + "}"))
    fields += [("year", "{" + str(issued.year) + "}"), ("month", _MONTHS[issued.month - 1])]
    if not paper.is_local:
        fields += [("eprint", "{" + paper.id + "}"), ("archivePrefix", "{arXiv}")]
        # Old-style ids name their archive ("hep-th/9901001"), the category when none is stored.
        primary = paper.primary_category or (paper.id.split("/")[0] if "/" in paper.id else "")
        if primary:
            fields.append(("primaryClass", "{" + _tex(primary) + "}"))
    if doi := _doi(paper):
        fields.append(("doi", "{" + doi + "}"))
    if paper.abs_url:
        fields.append(("url", "{" + paper.abs_url + "}"))
    if paper.categories:
        fields.append(("keywords", "{" + _tex(", ".join(paper.categories)) + "}"))
    if abstract and paper.abstract:
        fields.append(("abstract", "{" + _tex(paper.abstract) + "}"))
    body = "".join(f"  {name} = {value},\n" for name, value in fields)
    return f"@misc{{{key},\n{body}}}\n"


def to_bibtex(papers: Iterable[Paper], *, abstracts: bool = True) -> str:
    """``@misc`` entries shaped like arXiv's own export (eprint, archivePrefix, primaryClass).

    Non-ASCII is written as UTF-8: biber, Zotero and LaTeX since 2018 read it directly. The
    paper page's "cite" box leaves the abstract out (``abstracts=False``): it is for pasting.
    """
    papers = _unique(papers)
    keys = citation_keys(papers)
    return "\n".join(_bibtex_entry(p, k, abstract=abstracts) for p, k in zip(papers, keys, strict=True))


# --- RIS -------------------------------------------------------------------------------------


def _ris_name(raw: str) -> str:
    name = split_name(raw)
    if name.literal:
        return name.literal
    return ", ".join(filter(None, [name.family, name.given, name.suffix]))


def _ris_record(paper: Paper, key: str) -> str:
    issued = _issued(paper)
    lines: list[tuple[str, str]] = [("TY", "GEN"), ("ID", key), ("TI", paper.title)]
    lines += [("AU", _ris_name(a)) for a in paper.authors]
    lines += [
        ("PY", str(issued.year)),
        ("DA", f"{issued.year:04d}/{issued.month:02d}/{issued.day:02d}/"),
    ]
    if not paper.is_local:
        lines += [("PB", "arXiv"), ("DP", "arXiv.org"), ("AN", f"arXiv:{paper.id}")]
    if doi := _doi(paper):
        lines.append(("DO", doi))
    if paper.abs_url:
        lines.append(("UR", paper.abs_url))
    if paper.pdf_url:
        lines.append(("L1", paper.pdf_url))
    lines += [("KW", c) for c in paper.categories]
    if paper.abstract:
        lines.append(("AB", paper.abstract))
    text = "".join(f"{tag}  - {_one_line(value)}\n" for tag, value in lines if _one_line(value))
    return text + "ER  - \n"


def to_ris(papers: Iterable[Paper]) -> str:
    """``TY  - GEN`` records, as Zotero exports its preprint items (RIS has no preprint type).

    Every value sits on one line (abstracts lose paragraph breaks) so no text can begin a
    line with ``ER  -`` or ``TY  -`` and end or start a record.
    """
    papers = _unique(papers)
    keys = citation_keys(papers)
    return "\n".join(_ris_record(p, k) for p, k in zip(papers, keys, strict=True))


# --- CSL-JSON --------------------------------------------------------------------------------


def _csl_name(raw: str) -> dict[str, str]:
    name = split_name(raw)
    if name.literal:
        return {"literal": name.literal}
    out = {"family": name.family, "given": name.given}
    if name.suffix:
        out["suffix"] = name.suffix
    return out


def _csl_item(paper: Paper, key: str) -> dict[str, object]:
    issued = _issued(paper)
    item: dict[str, object] = {"id": key, "type": "article", "title": paper.title}
    if paper.authors:
        item["author"] = [_csl_name(a) for a in paper.authors]
    item["issued"] = {"date-parts": [[issued.year, issued.month, issued.day]]}
    if not paper.is_local:
        item["publisher"] = "arXiv"
        item["number"] = f"arXiv:{paper.id}"
    if doi := _doi(paper):
        item["DOI"] = doi
    if paper.abs_url:
        item["URL"] = paper.abs_url
    if paper.categories:
        item["keyword"] = ", ".join(paper.categories)
    if paper.abstract:
        item["abstract"] = paper.abstract
    return item


def to_csljson(papers: Iterable[Paper]) -> str:
    """A CSL-JSON array; ``type: article`` is what Zotero writes for preprints.

    ``<``, ``>`` and ``&`` are written as ``\\u`` escapes: the same JSON, but inert if a
    browser or template ever treats the file as HTML.
    """
    papers = _unique(papers)
    keys = citation_keys(papers)
    items = [_csl_item(p, k) for p, k in zip(papers, keys, strict=True)]
    text = json.dumps(items, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"
