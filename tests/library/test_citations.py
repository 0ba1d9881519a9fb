"""Exports read back through the parsers Zotero, Mendeley and LaTeX users actually rely on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import SeparateCoAuthors, SplitNameParts
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from paperboard.ids import local_id_for_title
from paperboard.library.citations import (
    FORMATS,
    citation_keys,
    export,
    split_name,
    to_bibtex,
    to_csljson,
    to_ris,
)
from paperboard.models import Paper

HOSTILE_TITLE = (
    'Evil}} @misc{pwned, title={x}} \\input{/etc/passwd} \\end{document} 100% & '
    '<script>alert("x")</script> $\\alpha$ # _ ~ ^ {Braces} back\\slash'
)
HOSTILE_ABSTRACT = "First paragraph.\n\nER  - \nTY  - JOUR\n@article{injected, title={no}}\n% comment"
DIACRITIC_AUTHORS = [
    "Zoë Müller-Łukasiewicz",
    "José María Álvarez",
    "Guido van Rossum",
    "Martin Luther King Jr.",
    "OpenAI",
    "张伟",
    "Gemini Team",
    "Jo and Li",
]
LONG_AUTHORS = [f"Given{i} Family{i}" for i in range(3000)]


def paper(pid: str, title: str, authors: list[str], **kw) -> Paper:
    kw.setdefault("feed_day", date(2025, 6, 2))
    return Paper(id=pid, title=title, authors=authors, **kw)


PAPERS = [
    paper(
        "1706.03762",
        "Attention Is All You Need",
        ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"],
        abstract="The dominant sequence transduction models.\n\nWe propose the Transformer.",
        categories=["cs.CL", "cs.LG"],
        published=datetime(2017, 6, 12, 17, 57, tzinfo=UTC),
    ),
    paper(
        "2506.00005",
        HOSTILE_TITLE,
        DIACRITIC_AUTHORS,
        abstract=HOSTILE_ABSTRACT,
        categories=["cs.CR"],
        published=datetime(2025, 5, 30, tzinfo=UTC),
    ),
    paper("hep-th/9901001", "Strings on {AdS} Spaces", [], feed_day=date(1999, 1, 5)),
    paper("2506.00006", "A Very Large Collaboration Report", LONG_AUTHORS, categories=["hep-ex"]),
    paper("2401.00001", "LLMs as Judges", ["Ashish Vaswani"], doi="10.1145/3442188.3445922",
          published=datetime(2017, 12, 1, tzinfo=UTC)),
    paper(local_id_for_title("A seed card"), "A seed card", ["Ada Lovelace"]),
]


def display(name: str) -> str:
    return " ".join(name.split())


def _latex_reader() -> LatexNodes2Text:
    db = get_default_latex_context_db()
    db.add_context_category(
        "text-symbols",
        macros=[
            MacroTextSpec(name, text)
            for name, text in [
                ("textbraceleft", "{"),
                ("textbraceright", "}"),
                ("textless", "<"),
                ("textgreater", ">"),
                ("textasciitilde", "~"),
                ("textasciicircum", "^"),
                ("textbackslash", "\\"),
            ]
        ],
        prepend=True,
    )
    return LatexNodes2Text(latex_context=db, math_mode="verbatim", strict_latex_spaces=True)


LATEX = _latex_reader()


def untex(value: str) -> str:
    return LATEX.latex_to_text(value)


# --- BibTeX ----------------------------------------------------------------------------------


def parse_bibtex(text: str):
    library = bibtexparser.parse_string(
        text, append_middleware=[SeparateCoAuthors(), SplitNameParts()]
    )
    assert library.failed_blocks == []
    return {entry.key: entry for entry in library.entries}, library


def test_bibtex_round_trips_through_bibtexparser():
    entries, library = parse_bibtex(to_bibtex(PAPERS))
    assert len(library.entries) == len(PAPERS)  # no hostile string added or swallowed an entry
    keys = citation_keys(PAPERS)
    assert set(entries) == set(keys)
    for p, key in zip(PAPERS, keys, strict=True):
        e = entries[key]
        assert e.entry_type == "misc"
        assert untex(e["title"]) == p.title
        names = e["author"] if p.authors else []
        assert [untex(" ".join(n.first + n.von + n.last + n.jr)) for n in names] == p.authors
        year = (p.published or datetime.combine(p.feed_day, datetime.min.time())).year
        assert e["year"] == str(year)
        if p.is_local:
            assert "eprint" not in e.fields_dict and "url" not in e.fields_dict
        else:
            assert e["eprint"] == p.id
            assert e["archivePrefix"] == "arXiv"
            assert e["url"] == f"https://arxiv.org/abs/{p.id}"
        if p.abstract:
            assert untex(e["abstract"]) == " ".join(p.abstract.split())


def test_bibtex_fields_match_arxivs_own_export():
    entries, _ = parse_bibtex(to_bibtex(PAPERS[:1]))
    e = entries["vaswani2017attention"]
    assert e["primaryClass"] == "cs.CL"
    assert e["month"] == "jun"
    assert e["doi"] == "10.48550/arXiv.1706.03762"
    names = e["author"]
    assert (names[0].last, names[0].first) == (["Vaswani"], ["Ashish"])


def test_bibtex_escapes_everything_latex_would_run():
    text = to_bibtex([PAPERS[1]])
    title_line = next(line for line in text.splitlines() if line.startswith("  title = "))
    for raw in ("\\input", "\\end{", "$\\alpha$", " % ", " & ", "<script>"):
        assert raw not in title_line
    assert title_line.count("{") == title_line.count("}")
    # Only the one entry line starts with "@": nothing in the abstract begins a new entry.
    assert [line for line in text.splitlines() if line.lstrip().startswith("@")] == [
        "@misc{mullerlukasiewicz2025evil,"
    ]


def test_bibtex_protects_capitalised_words_but_not_the_first():
    entries, _ = parse_bibtex(to_bibtex([PAPERS[4], PAPERS[0]]))
    assert entries["vaswani2017llms"]["title"] == "{LLMs} as {Judges}"
    assert entries["vaswani2017attention"]["title"] == "Attention {Is} {All} {You} {Need}"


def test_bibtex_prefers_the_papers_own_doi():
    entries, _ = parse_bibtex(to_bibtex([PAPERS[4]]))
    assert entries["vaswani2017llms"]["doi"] == "10.1145/3442188.3445922"


def test_old_style_ids_keep_their_slash():
    entries, _ = parse_bibtex(to_bibtex([PAPERS[2]]))
    e = entries["anon1999strings"]
    assert e["eprint"] == "hep-th/9901001"
    assert e["primaryClass"] == "hep-th"
    assert "author" not in e.fields_dict


def test_citation_keys_are_unique_and_do_not_depend_on_order():
    twins = [
        paper("1706.03763", "Attention Is All You Need Too", ["Ashish Vaswani"],
              published=datetime(2017, 6, 13, tzinfo=UTC)),
        PAPERS[0],
        paper("1706.03764", "The Attention Is Back", ["Ashish Vaswani"],
              published=datetime(2017, 6, 14, tzinfo=UTC)),
    ]
    keys = dict(zip([p.id for p in twins], citation_keys(twins), strict=True))
    assert keys == {
        "1706.03762": "vaswani2017attention",
        "1706.03763": "vaswani2017attentiona",
        "1706.03764": "vaswani2017attentionb",
    }
    reversed_keys = citation_keys(twins[::-1])
    assert dict(zip([p.id for p in twins[::-1]], reversed_keys, strict=True)) == keys


def test_a_paper_listed_twice_is_exported_once():
    entries, library = parse_bibtex(to_bibtex([PAPERS[0], PAPERS[0]]))
    assert len(library.entries) == 1


# --- RIS -------------------------------------------------------------------------------------


def ris_name(name: str) -> str:
    parts = name.split(", ")
    if len(parts) == 1:
        return name
    family, given, *suffix = parts
    return " ".join([given, family, *suffix])


def test_ris_round_trips_through_rispy():
    records = rispy.loads(to_ris(PAPERS))
    assert len(records) == len(PAPERS)  # "ER  -" in an abstract did not end a record early
    for p, r in zip(PAPERS, records, strict=True):
        assert r["type_of_reference"] == "GEN"
        assert r["title"] == p.title
        assert [ris_name(a) for a in r.get("authors", [])] == p.authors
        year = (p.published.date() if p.published else p.feed_day).year
        assert r["year"] == str(year)
        if p.is_local:
            assert "urls" not in r and "accession_number" not in r
        else:
            assert r["urls"] == [f"https://arxiv.org/abs/{p.id}"]
            assert r["accession_number"] == f"arXiv:{p.id}"
            assert r["publisher"] == "arXiv"
        if p.abstract:
            assert r["abstract"] == " ".join(p.abstract.split())


def test_ris_carries_doi_date_and_categories():
    r = rispy.loads(to_ris(PAPERS[:1]))[0]
    assert r["doi"] == "10.48550/arXiv.1706.03762"
    assert r["date"] == "2017/06/12/"
    assert r["keywords"] == ["cs.CL", "cs.LG"]
    assert r["id"] == "vaswani2017attention"


# --- CSL-JSON --------------------------------------------------------------------------------


def csl_name(name: dict[str, str]) -> str:
    if "literal" in name:
        return name["literal"]
    return " ".join(filter(None, [name.get("given"), name["family"], name.get("suffix")]))


def test_csljson_round_trips_and_renders_with_citeproc():
    text = to_csljson(PAPERS)
    assert "<" not in text and ">" not in text  # inert even if mistaken for HTML
    items = json.loads(text)
    assert len(items) == len(PAPERS)
    for p, item in zip(PAPERS, items, strict=True):
        assert item["type"] == "article"
        assert item["title"] == p.title
        assert [csl_name(a) for a in item.get("author", [])] == p.authors
        issued = p.published.date() if p.published else p.feed_day
        assert item["issued"]["date-parts"] == [[issued.year, issued.month, issued.day]]
        if not p.is_local:
            assert item["number"] == f"arXiv:{p.id}"
            assert item["URL"] == f"https://arxiv.org/abs/{p.id}"
            assert item["publisher"] == "arXiv"

    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    rendered = [str(entry) for entry in bibliography.bibliography()]
    assert len(rendered) == len(PAPERS)
    vaswani = next(r for r in rendered if "Attention Is All You Need" in r)
    assert vaswani.startswith("Vaswani, A., Shazeer, N. and Parmar, N. (2017)")
    assert any("Müller-Łukasiewicz, Z." in r and "alert" in r for r in rendered)
    assert any("Family0, G. et al. (2025)" in r for r in rendered)


# --- names and the dispatcher ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "given", "family", "suffix", "literal"),
    [
        ("Ashish Vaswani", "Ashish", "Vaswani", "", ""),
        ("José María Álvarez", "José María", "Álvarez", "", ""),
        ("Guido van Rossum", "Guido", "van Rossum", "", ""),
        ("Charles de la Vallée Poussin", "Charles", "de la Vallée Poussin", "", ""),
        ("Martin Luther King Jr.", "Martin Luther", "King", "Jr.", ""),
        ("OpenAI", "", "", "", "OpenAI"),
        ("Gemini Team", "", "", "", "Gemini Team"),
        ("LIGO Scientific Collaboration", "", "", "", "LIGO Scientific Collaboration"),
        ("张伟", "", "", "", "张伟"),
    ],
)
def test_split_name(name, given, family, suffix, literal):
    n = split_name(name)
    assert (n.given, n.family, n.suffix, n.literal) == (given, family, suffix, literal)


@pytest.mark.parametrize("fmt", ["bibtex", "ris", "csljson"])
def test_export_dispatches_with_a_media_type(fmt):
    text, media_type = export(PAPERS[:1], fmt)
    assert media_type == FORMATS[fmt].media_type
    assert "Attention" in text


def test_export_rejects_an_unknown_format():
    with pytest.raises(ValueError, match="unknown export format"):
        export(PAPERS, "endnote")  # type: ignore[arg-type]


def test_empty_export_is_valid_in_every_format():
    assert bibtexparser.parse_string(to_bibtex([])).entries == []
    assert rispy.loads(to_ris([])) == []
    assert json.loads(to_csljson([])) == []
