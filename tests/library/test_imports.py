"""Import files as researchers have them: Zotero and Google Scholar BibTeX, pasted id lists,
and the broken, huge or binary files a form upload will receive sooner or later."""

from __future__ import annotations

import codecs
import time
from datetime import date

import pytest

from paperboard.library.citations import to_bibtex
from paperboard.library.imports import (
    MAX_PROBLEMS,
    ImportRejected,
    fold_latex,
    normalize_title,
    parse_import,
)
from paperboard.models import Paper

ZOTERO = r"""
@misc{vaswani_attention_2023,
	title = {Attention {Is} {All} {You} {Need}},
	url = {http://arxiv.org/abs/1706.03762},
	doi = {10.48550/arXiv.1706.03762},
	abstract = {The dominant sequence transduction models are based on complex recurrent or
convolutional neural networks. We propose a new simple network architecture, the {Transformer}.},
	urldate = {2024-03-01},
	publisher = {arXiv},
	author = {Vaswani, Ashish and Shazeer, Noam and Parmar, Niki and Gomez, Aidan N. and Kaiser, Łukasz},
	month = aug,
	year = {2023},
	note = {arXiv:1706.03762 [cs]},
	keywords = {Computer Science - Computation and Language, Computer Science - Machine Learning},
	file = {arXiv Fulltext PDF:/Users/ada/Zotero/storage/ABCD1234/Vaswani et al. - 2023.pdf:application/pdf},
}

@article{muller_uber_2021,
	title = {{\"U}ber die {Sch\"atzung} von {Dichten}: {\"U}berblick \& {Ausblick}},
	volume = {12},
	url = {https://doi.org/10.1000/XYZ123},
	doi = {10.1000/XYZ123},
	journal = {Journal of Examples},
	author = {M{\"u}ller, Zo{\"e} and {\AA}ngstr{\"o}m, Anders},
	year = {2021},
	pages = {1--20},
}

@inproceedings{devlin_bert_2019,
	address = {Minneapolis, Minnesota},
	title = {{BERT}: {Pre}-training of {Deep} {Bidirectional} {Transformers} for {Language} {Understanding}},
	shorttitle = {{BERT}},
	url = {https://aclanthology.org/N19-1423},
	doi = {10.18653/v1/N19-1423},
	booktitle = {Proceedings of the 2019 {Conference} of the {North} {American} {Chapter} of the {Association} for {Computational} {Linguistics}},
	publisher = {Association for Computational Linguistics},
	author = {Devlin, Jacob and Chang, Ming-Wei and Lee, Kenton and Toutanova, Kristina},
	month = jun,
	year = {2019},
	pages = {4171--4186},
}

@misc{wei_chain--thought_2023,
	title = {Chain-of-{Thought} {Prompting} {Elicits} {Reasoning} in {Large} {Language} {Models}},
	url = {http://arxiv.org/abs/2201.11903},
	publisher = {arXiv},
	author = {Wei, Jason and Wang, Xuezhi},
	month = jan,
	year = {2023},
	note = {arXiv:2201.11903 [cs]},
}
"""

ARXIV_AND_BIBLATEX = r"""
@misc{vaswani2023attentionneed,
      title={Attention Is All You Need},
      author={Ashish Vaswani and Noam Shazeer},
      year={2023},
      eprint={1706.03762},
      archivePrefix={arXiv},
      primaryClass={cs.CL},
      url={https://arxiv.org/abs/1706.03762},
}
@online{maldacena_large_1999,
  title = {The Large {{N}} Limit of Superconformal Field Theories and Supergravity},
  author = {Maldacena, Juan},
  date = {1999-01-05},
  eprint = {hep-th/9711200v3},
  eprinttype = {arxiv},
  eprintclass = {hep-th},
}
@article{pubmed_paper,
  title = {Not on arXiv},
  eprint = {31452104},
  eprinttype = {pubmed},
  url = {https://arxiv.org/abs/2101.00001},
}
"""

SCHOLAR = r"""
@article{brown2020language,
  title={Language models are few-shot learners},
  author={Brown, Tom and Mann, Benjamin and Ryder, Nick and others},
  journal={arXiv preprint arXiv:2005.14165},
  year={2020}
}

@inproceedings{he2016deep,
  title={Deep residual learning for image recognition},
  author={He, Kaiming and Zhang, Xiangyu and Ren, Shaoqing and Sun, Jian},
  booktitle={Proceedings of the IEEE conference on computer vision and pattern recognition},
  pages={770--778},
  year={2016}
}

@article{radford2019language,
  title={Language models are unsupervised multitask learners},
  author={Radford, Alec and Wu, Jeffrey and Child, Rewon},
  journal={OpenAI blog},
  volume={1},
  number={8},
  pages={9},
  year={2019}
}
"""

MALFORMED_IN_THE_MIDDLE = r"""@misc{first,
  title = {First Paper},
  eprint = {2506.00001},
  archivePrefix = {arXiv},
}

@article{broken,
  title = {Second Paper, whose closing brace was lost},
  author = {Nobody, A.},
  journal = {arXiv preprint arXiv:2506.00002},

@misc{third,
  title = {Third Paper},
  url = {https://arxiv.org/abs/2506.00003v2},
}
"""


def by_key(result):
    return {e.key: e for e in result.entries}


# --- BibTeX ----------------------------------------------------------------------------------


def test_zotero_export_yields_arxiv_ids_dois_and_folded_titles():
    result = parse_import(ZOTERO.encode())
    assert result.format == "bibtex"
    assert result.errors == []
    entries = by_key(result)
    assert [e.position for e in result.entries] == [1, 2, 3, 4]
    vaswani = entries["vaswani_attention_2023"]
    assert (vaswani.arxiv_id, vaswani.doi) == ("1706.03762", "10.48550/arxiv.1706.03762")
    assert vaswani.title == "Attention Is All You Need"
    assert vaswani.normalized_title == "attention is all you need"
    assert vaswani.line == 2
    muller = entries["muller_uber_2021"]
    assert (muller.arxiv_id, muller.doi) == (None, "10.1000/xyz123")
    assert muller.title == "Über die Schätzung von Dichten: Überblick & Ausblick"
    assert muller.normalized_title == "uber die schatzung von dichten uberblick ausblick"
    bert = entries["devlin_bert_2019"]
    assert (bert.arxiv_id, bert.doi) == (None, "10.18653/v1/n19-1423")
    assert bert.title.startswith("BERT: Pre-training of Deep")
    cot = entries["wei_chain--thought_2023"]
    assert (cot.arxiv_id, cot.doi) == ("2201.11903", None)


def test_arxiv_export_and_biblatex_eprint_fields_give_versionless_ids():
    entries = by_key(parse_import(ARXIV_AND_BIBLATEX))
    assert entries["vaswani2023attentionneed"].arxiv_id == "1706.03762"
    assert entries["maldacena_large_1999"].arxiv_id == "hep-th/9711200"
    # An eprint of another archive is not an arXiv id; the URL still is.
    assert entries["pubmed_paper"].arxiv_id == "2101.00001"


def test_google_scholar_entries_give_ids_from_journal_or_fall_back_to_titles():
    entries = by_key(parse_import(SCHOLAR))
    assert entries["brown2020language"].arxiv_id == "2005.14165"
    he = entries["he2016deep"]
    assert (he.arxiv_id, he.doi) == (None, None)
    assert he.normalized_title == "deep residual learning for image recognition"
    assert entries["radford2019language"].title == (
        "Language models are unsupervised multitask learners"
    )


def test_a_malformed_entry_in_the_middle_is_reported_and_the_rest_lands():
    result = parse_import(MALFORMED_IN_THE_MIDDLE)
    assert [e.arxiv_id for e in result.entries] == ["2506.00001", "2506.00003"]
    assert [e.position for e in result.entries] == [1, 3]
    assert len(result.errors) == 1
    problem = result.errors[0]
    assert (problem.position, problem.line) == (2, 7)
    assert problem.reason == "entry is not closed: missing '}' before line 12"
    assert str(problem).startswith("entry 2 (line 7): ")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("@misc{k, title {No equals}}", "expected '=' after field 'title', found '{No equals}}'"),
        ("@misc{k, title = {x} author = {y}}", "expected ',' or '}' after field 'title'"),
        ('@misc{k, title = "unclosed quote}', "unbalanced '}' in field 'title'"),
        ("@misc{k, title = }", "field 'title' has no value"),
        ("@misc{k, = {x}}", "expected a field name, found '= {x}}'"),
        ("@misc{k, title = {x}", "entry is not closed: missing '}' before the end of the file"),
        ("@misc{k, title = {a {b}", "field 'title' is not closed: missing '}' before the end"),
    ],
)
def test_malformed_entries_say_what_is_wrong(body, reason):
    text = "@misc{ok, title = {Fine}}\n" + body + "\n"
    result = parse_import(text)
    assert [e.title for e in result.entries] == ["Fine"]
    assert len(result.errors) == 1
    assert result.errors[0].position == 2 and result.errors[0].line == 2
    assert result.errors[0].reason.startswith(reason)


def test_strings_concatenation_comments_preamble_and_parentheses():
    text = r"""
This text outside entries is a comment, even with an email: ada@example.org
@comment{jabref-meta: databaseType:bibtex; {unbalanced? no: {ok}}}
@preamble{ "\newcommand{\noopsort}[1]{}" }
@string{ml = "Machine Learning"}
@STRING(arx = {arXiv preprint arXiv:})
@Article(paren2020,
  title = "Advances in " # ml # {: a {Survey}},
  journal = arx # "2506.00042",
  year = 2020
)
@misc{nokey-field-first,
  title = {Keyed normally}}
@misc{title = {An entry that forgot its key}, doi = {https://doi.org/10.1234/ABC.def}}
"""
    result = parse_import(text)
    assert result.errors == []
    titles = {e.title: e for e in result.entries}
    paren = titles["Advances in Machine Learning: a Survey"]
    assert (paren.key, paren.arxiv_id, paren.position, paren.line) == (
        "paren2020", "2506.00042", 1, 7
    )
    assert titles["Keyed normally"].key == "nokey-field-first"
    keyless = titles["An entry that forgot its key"]
    assert (keyless.key, keyless.doi) == (None, "10.1234/abc.def")


def test_an_entry_without_id_doi_or_title_is_reported():
    result = parse_import("@misc{empty, author = {Someone}, year = 2020}\n@misc{ok, title={T}}")
    assert [e.key for e in result.entries] == ["ok"]
    assert [(p.position, p.reason) for p in result.errors] == [
        (1, "entry has no arXiv id, DOI or title")
    ]


def test_bibtex_duplicates_are_reported_once_and_kept_once():
    text = r"""
@misc{a, title = {One}, eprint = {2506.00001}, archivePrefix = {arXiv}}
@misc{b, title = {One again}, url = {https://arxiv.org/abs/2506.00001v3}}
@article{c, title = {Two}, doi = {10.1000/ABC}}
@article{d, title = {Two (journal version)}, doi = {https://doi.org/10.1000/abc}}
@article{e, title = {Deep residual learning}}
@inproceedings{f, title = {Deep {Residual} Learning.}}
@misc{g, title = {Deep residual learning}, eprint = {1512.03385}, archivePrefix = {arXiv}}
"""
    result = parse_import(text)
    assert [e.key for e in result.entries] == ["a", "c", "e", "g"]
    assert [(p.position, p.reason) for p in result.errors] == [
        (2, "duplicate of entry 1; kept once"),
        (4, "duplicate of entry 3; kept once"),
        (6, "duplicate of entry 5; kept once"),
    ]


def test_our_own_export_imports_back_to_the_same_papers():
    papers = [
        Paper(id="1706.03762", title="Attention Is All You Need", authors=["Ashish Vaswani"],
              feed_day=date(2017, 6, 13)),
        Paper(id="hep-th/9901001", title="Strings on {AdS} Spaces", feed_day=date(1999, 1, 5)),
        Paper(id="2506.00005",
              title='Evil}} @misc{x, title={y}} \\input{/etc/passwd} 100% & <b>"x"</b> $\\alpha$ ~ ^ _ #',
              authors=["Zoë Müller"], feed_day=date(2025, 6, 2)),
    ]
    result = parse_import(to_bibtex(papers))
    assert result.errors == []
    assert [(e.arxiv_id, e.title) for e in result.entries] == [(p.id, p.title) for p in papers]
    assert [e.normalized_title for e in result.entries] == [
        normalize_title(p.title) for p in papers
    ]


def test_deep_or_unclosed_braces_do_not_hang_or_recurse():
    started = time.perf_counter()
    result = parse_import("@misc{x, title = {" + "{" * 500_000 + "\n@misc{y, title = {Fine}}")
    assert time.perf_counter() - started < 5
    assert [e.title for e in result.entries] == ["Fine"]
    assert result.errors[0].reason == "field 'title' is not closed: missing '}' before line 2"


# --- plain id lists --------------------------------------------------------------------------


def test_plain_list_accepts_ids_urls_versions_and_old_style_ids():
    text = """# my reading list
2506.00001
2506.00002v3
arXiv:2506.00003
arXiv: 2506.00004v1
https://arxiv.org/abs/2506.00005v2?context=cs.LG
http://export.arxiv.org/pdf/2506.00006v1.pdf
https://arxiv.org/html/2506.00007v1
https://huggingface.co/papers/2506.00008
hep-th/9901001v2
https://arxiv.org/abs/math.AG/0101001

<https://arxiv.org/abs/1706.03762>, 2506.00009
https://doi.org/10.48550/arXiv.2506.00010
10.1145/3442188.3445922
"""
    result = parse_import(text.encode())
    assert result.format == "ids"
    assert result.errors == []
    assert [e.arxiv_id for e in result.entries] == [
        "2506.00001", "2506.00002", "2506.00003", "2506.00004", "2506.00005", "2506.00006",
        "2506.00007", "2506.00008", "hep-th/9901001", "math.AG/0101001", "1706.03762",
        "2506.00009", "2506.00010", None,
    ]  # fmt: skip
    assert result.entries[-2].doi == "10.48550/arxiv.2506.00010"
    assert result.entries[-1].doi == "10.1145/3442188.3445922"
    assert [e.line for e in result.entries][:3] == [2, 3, 4]
    assert [e.position for e in result.entries] == list(range(1, 15))


def test_a_line_that_is_not_an_id_is_reported_with_its_number_and_the_rest_still_parse():
    result = parse_import("2506.00001\nAttention is all you need\n\n2506.00002\nftp://x/2506\n")
    assert [e.arxiv_id for e in result.entries] == ["2506.00001", "2506.00002"]
    assert [(p.line, p.reason) for p in result.errors] == [
        (2, "not an arXiv id, arXiv URL or DOI: 'Attention is all you need'"),
        (5, "not an arXiv id, arXiv URL or DOI: 'ftp://x/2506'"),
    ]


def test_id_list_duplicates_in_any_spelling_are_kept_once():
    result = parse_import("2506.00001\nhttps://arxiv.org/pdf/2506.00001v2\narXiv:2506.00001v1\n")
    assert [e.arxiv_id for e in result.entries] == ["2506.00001"]
    assert [(p.line, p.reason) for p in result.errors] == [
        (2, "duplicate of entry 1; kept once"),
        (3, "duplicate of entry 1; kept once"),
    ]


def test_a_file_with_neither_entries_nor_ids_is_rejected():
    with pytest.raises(ImportRejected, match="found no BibTeX entry and no arXiv id.*line 1"):
        parse_import(b"TY  - JOUR\nTI  - A RIS file\nER  - \n")


# --- whole-file refusals ---------------------------------------------------------------------


def test_a_10_mb_file_is_refused_before_parsing():
    data = b"2506.00001\n" * 1_000_000  # 11 MB of valid ids: size alone decides
    started = time.perf_counter()
    with pytest.raises(ImportRejected, match=r"the file is 11\.0 MB; imports are limited to 2\.0 MB"):
        parse_import(data)
    with pytest.raises(ImportRejected, match="MB"):
        parse_import(data.decode())
    assert time.perf_counter() - started < 1


def test_the_size_limit_counts_utf8_bytes_of_text():
    with pytest.raises(ImportRejected, match="1,000 bytes"):
        parse_import("é" * 600, max_bytes=1_000)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00",
        b"@misc{k, title={x}}\n" + bytes(range(1, 9)) * 200,
    ],
)
def test_binary_files_are_refused(data):
    with pytest.raises(ImportRejected, match="binary"):
        parse_import(data)


def test_non_utf8_text_is_refused_with_where_it_failed():
    with pytest.raises(ImportRejected, match=r"not UTF-8 text \(byte 0xfc at offset 30\)"):
        parse_import("@misc{k, title = {Schätzung M".encode() + "üller}}".encode("latin-1"))


@pytest.mark.parametrize("data", [b"", b"  \n\t\n", "\ufeff".encode()])
def test_empty_files_are_refused(data):
    with pytest.raises(ImportRejected, match="empty"):
        parse_import(data)


def test_bom_utf16_and_crlf_files_are_read():
    text = "@misc{k,\r\n  title = {Über Alles},\r\n  eprint = {2506.00001}\r\n}\r\n"
    for data in (codecs.BOM_UTF8 + text.encode(), text.encode("utf-16")):
        result = parse_import(data)
        assert [(e.title, e.arxiv_id, e.line) for e in result.entries] == [
            ("Über Alles", "2506.00001", 1)
        ]


def test_entries_beyond_the_cap_are_reported_not_read():
    result = parse_import("\n".join(f"2506.{i:05d}" for i in range(1, 11)), max_entries=3)
    assert len(result.entries) == 3
    assert [(p.position, p.reason) for p in result.errors] == [
        (4, "more than 3 entries; this one and the rest were not read")
    ]


def test_a_garbage_file_gets_a_short_report():
    text = "2506.00001\n" + "\n".join(f"junk {i}" for i in range(5_000))
    result = parse_import(text)
    assert len(result.entries) == 1
    assert len(result.errors) == MAX_PROBLEMS + 2
    assert result.errors[MAX_PROBLEMS].reason == "800 more problems not listed"
    assert result.errors[-1].reason == "1000 problems; stopped reading here"


# --- titles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"{\"U}ber {Sch\"{a}tzung}", "Über Schätzung"),
        (r"Erd\H{o}s and \v{C}ech and \c{c}a and G\"odel", "Erdős and Čech and ça and Gödel"),
        (r"{\ss}e, \o{}re, \L{}\'od\'z, {\AA}ngstr\"om, na\"{\i}ve", "ße, øre, Łódź, Ångström, naïve"),
        (r"\textit{Deep} \emph{Learning} \& Friends: 100\% \$5", "Deep Learning & Friends: 100% $5"),
        (r"$\alpha$-Nets in $O(n \log n)$", "α-Nets in O(n n)"),
        (r"A~B -- C --- D", "A B – C — D"),
        (r"\textbraceleft{}x\textbraceright{} \textbackslash{}y", "{x} \\y"),
    ],
)
def test_fold_latex(latex, text):
    assert fold_latex(latex) == text


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Attention {Is} All You Need!", "attention is all you need"),
        (r"M{\"u}ller's \textit{$\alpha$-Nets}", "Mullers α nets"),
        ("Self-Attention: A Survey", "self attention a survey"),
        ("ŁUKASIEWICZ  Logic\n", "lukasiewicz logic"),
        ("Straße", "STRASSE"),
    ],
)
def test_normalize_title_meets_spellings_of_the_same_title(a, b):
    assert normalize_title(a) == normalize_title(b)


def test_normalize_title_keeps_titles_apart_that_differ_in_words():
    assert normalize_title("Deep Residual Learning") != normalize_title("Deep Residual Networks")
    assert normalize_title("大规模语言模型") == "大规模语言模型"
