"""Validation at the edge and the small parsers everything relies on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from paperboard.ids import InvalidId, is_paper_id, local_id_for_title, parse_arxiv_id
from paperboard.links import mine_links
from paperboard.models import Paper
from paperboard.periods import PeriodError, parse_month, parse_week


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2501.01234", ("2501.01234", None)),
        ("2501.01234v3", ("2501.01234", 3)),
        ("arXiv:2501.01234", ("2501.01234", None)),
        ("https://arxiv.org/abs/2501.01234v2", ("2501.01234", 2)),
        ("http://export.arxiv.org/abs/2501.01234", ("2501.01234", None)),
        ("https://arxiv.org/pdf/2501.01234v1.pdf", ("2501.01234", 1)),
        ("https://huggingface.co/papers/2501.01234", ("2501.01234", None)),
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
    ],
)
def test_arxiv_ids_in_every_form(text, expected):
    aid = parse_arxiv_id(text)
    assert (aid.id, aid.version) == expected


@pytest.mark.parametrize("text", ["", "hello", "2501.123", "https://evil.example/abs/2501.01234", "1" * 400])
def test_invalid_ids_are_rejected(text):
    with pytest.raises(InvalidId):
        parse_arxiv_id(text)


def test_local_ids_are_stable_and_valid():
    a = local_id_for_title("SePPO: Semi-Policy  Preference")
    assert a == local_id_for_title("seppo semi policy preference") and is_paper_id(a)


def test_links_are_mined_from_abstract_and_comment():
    code, project = mine_links(
        "Code will be released in https://github.com/DwanZhang-AI/SePPO. See also https://example.org/x.",
        "Project page: https://mikewangwzhl.github.io/TriMPI. Code at https://gitlab.com/a/b.git",
    )
    assert code == ["https://github.com/DwanZhang-AI/SePPO", "https://gitlab.com/a/b"]
    assert project == ["https://mikewangwzhl.github.io/TriMPI"]


def test_paper_normalises_text_and_derives_fields():
    p = Paper(id="2501.01234", title="  A\n  wrapped   title ", abstract="line one\nline two\n\nnext para",
              categories=["cs.CL", "68T50", "I.2.7; cs.AI"], feed_day="2025-01-02")  # fmt: skip
    assert p.title == "A wrapped title"
    assert p.abstract == "line one line two\n\nnext para"
    assert p.categories == ["cs.CL", "cs.AI"] and p.primary_category == "cs.CL"
    assert p.abs_url == "https://arxiv.org/abs/2501.01234"


@pytest.mark.parametrize(
    "fields,reason",
    [
        ({"title": "   "}, "title is empty"),
        ({"id": "not-an-id"}, "not a valid paper id"),
        ({"abstract": "x" * 10_000_000}, "abstract longer"),
        ({"feed_day": "2025-02-30"}, "feed_day"),
        ({"published": "yesterday"}, "published"),
    ],
)
def test_bad_fields_are_rejected_with_a_reason(fields, reason):
    base = {"id": "2501.01234", "title": "T", "feed_day": "2025-01-02"}
    with pytest.raises(ValidationError, match=reason):
        Paper(**{**base, **fields})


def test_periods():
    w = parse_week("2025-W23")
    assert (w.start.isoformat(), w.end.isoformat(), w.label) == ("2025-06-02", "2025-06-08", "2025-W23")
    m = parse_month("2024-02")
    assert (m.end.isoformat(), m.next().label, m.previous().label) == ("2024-02-29", "2024-03", "2024-01")
    for bad in ("2025-W60", "2025-23", "x"):
        with pytest.raises(PeriodError):
            parse_week(bad)
