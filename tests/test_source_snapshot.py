"""The Kaggle arXiv metadata snapshot: field mapping, and bad lines that do not sink the file."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

from paperboard.models import Paper, RecordError
from paperboard.sources import arxiv_snapshot
from paperboard.sources.arxiv_snapshot import split_authors

SAMPLE = Path(__file__).parent / "fixtures" / "files" / "arxiv_snapshot_sample.jsonl"


def _split(items: list) -> tuple[dict[str, Paper], list[RecordError]]:
    return (
        {p.id: p for p in items if isinstance(p, Paper)},
        [e for e in items if isinstance(e, RecordError)],
    )


def test_maps_the_snapshot_fields() -> None:
    papers, _ = _split(list(arxiv_snapshot.read(SAMPLE)))
    p = papers["0704.0001"]
    assert p.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert p.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert p.version == 2
    assert p.published == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert p.updated == datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)
    assert p.feed_day == date(2007, 4, 2)
    assert p.categories == ["hep-ph"] and p.primary_category == "hep-ph"
    assert p.comment == "37 pages, 15 figures; published version"
    assert p.journal_ref == "Phys.Rev.D76:013009,2007"
    assert p.doi == "10.1103/PhysRevD.76.013009"
    assert p.license is None
    assert p.abstract.startswith("A fully differential calculation in perturbative quantum")
    assert "\n" not in p.abstract


def test_old_style_id_and_suffix() -> None:
    papers, _ = _split(list(arxiv_snapshot.read(SAMPLE)))
    old = papers["hep-th/9901001"]
    assert old.authors == ["J. Q. Physicist", "R. Example Jr"]
    assert old.categories == ["hep-th", "gr-qc"]
    assert old.feed_day == date(1999, 1, 1) and old.version == 1


def test_versions_out_of_order_and_author_string_fallback() -> None:
    papers, _ = _split(list(arxiv_snapshot.read(SAMPLE)))
    p = papers["2401.01234"]
    assert p.version == 3
    assert p.published == datetime(2024, 1, 2, 23, 59, 59, tzinfo=UTC)
    assert p.updated == datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
    assert p.feed_day == date(2024, 1, 2)
    assert p.authors == ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger W. Dijkstra"]
    assert p.code_urls == ["https://github.com/example/tiny-bench"]
    assert p.license == "http://creativecommons.org/licenses/by/4.0/"
    assert p.abstract == "We propose a tiny benchmark.\n\nIt has two paragraphs."


def test_malformed_lines_are_reported_with_file_and_line() -> None:
    papers, errors = _split(list(arxiv_snapshot.read(SAMPLE)))
    assert set(papers) == {"0704.0001", "hep-th/9901001", "2401.01234", "2401.00006"}
    reasons = {e.position: e.reason for e in errors}
    name = SAMPLE.name
    assert set(reasons) == {f"{name}:2", f"{name}:4", f"{name}:5", f"{name}:6"}
    assert reasons[f"{name}:2"] == "missing title"
    assert "not an arXiv identifier" in reasons[f"{name}:4"]
    assert "invalid date" in reasons[f"{name}:5"]
    assert reasons[f"{name}:6"].startswith("invalid JSON")
    assert all(e.source == arxiv_snapshot.SOURCE == "arxiv-snapshot" for e in errors)


def test_huge_line_is_rejected_and_the_rest_lands(tmp_path: Path) -> None:
    record = json.loads(SAMPLE.read_text().splitlines()[0])
    huge = dict(record, id="2401.09999", abstract="x" * 10_000_000)
    path = tmp_path / "snapshot.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(huge) + "\n")
        fh.write(json.dumps(record) + "\n")
    items = list(arxiv_snapshot.read(path))
    assert len(items) == 2
    assert isinstance(items[0], RecordError) and items[0].position == "snapshot.json.gz:1"
    assert "larger than" in items[0].reason
    assert isinstance(items[1], Paper) and items[1].id == "0704.0001"


def test_bad_fields_inside_valid_json(tmp_path: Path) -> None:
    record = json.loads(SAMPLE.read_text().splitlines()[0])
    cases = [
        dict(record, id=704.0001),
        dict(record, versions=[]),
        dict(record, versions=[{"version": "one", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}]),
        dict(record, categories=42),
        dict(record, title="t" * 5_000),
        ["not", "an", "object"],
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in cases) + "\n")
    items = list(arxiv_snapshot.read(path))
    assert all(isinstance(i, RecordError) for i in items) and len(items) == len(cases)
    reasons = [i.reason for i in items]
    assert reasons[0] == "id is not a string"
    assert reasons[1].startswith("no versions")
    assert "bad version" in reasons[2]
    assert reasons[3] == "categories is not a string"
    assert "title" in reasons[4]
    assert reasons[5] == "record is not a JSON object"


def test_split_authors() -> None:
    assert split_authors("A. One, B. Two and C. Three") == ["A. One", "B. Two", "C. Three"]
    assert split_authors("X (Univ. A, Univ. B), Y") == ["X", "Y"]
    assert split_authors("") == []
