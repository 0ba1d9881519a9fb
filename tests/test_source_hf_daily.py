"""Hugging Face daily-papers JSON: the API's shape mapped to Paper, arrays read as a stream."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperboard.models import Paper, RecordError
from paperboard.sources import hf_daily

SAMPLE = Path(__file__).parent / "fixtures" / "files" / "hf_daily_sample.json"


def _entries() -> list[dict]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def _papers(items: list) -> dict[str, Paper]:
    return {p.id: p for p in items if isinstance(p, Paper)}


def test_maps_the_api_fields() -> None:
    items = list(hf_daily.read(SAMPLE))
    assert len(items) == 5
    papers = _papers(items)
    p = papers["2410.05258"]
    assert p.title == "Differential Transformer"
    assert p.abstract.startswith(
        "Transformer tends to overallocate attention to irrelevant context."
    )
    assert p.authors == ["Tianzhu Ye", "Li Dong", "Yuqing Xia", "Yutao Sun", "Furu Wei"]
    assert p.published == datetime(2024, 10, 7, 17, 59, 58, tzinfo=UTC)
    assert p.feed_day == date(2024, 10, 8)
    assert (p.upvotes, p.submitted_by, p.organization) == (167, "akhaliq", "Microsoft")
    assert p.code_urls == ["https://github.com/microsoft/unilm"]


def test_versioned_id_org_name_fallback_and_hostile_link_dropped() -> None:
    p = _papers(list(hf_daily.read(SAMPLE)))["2501.04519"]
    assert p.version == 2
    assert p.organization == "msra"  # no fullname: the org handle
    assert p.submitted_by == "lynazhang"
    assert p.feed_day == date(2025, 1, 9)
    # "javascript:alert(1)" never becomes a link; the abstract's project page still does.
    assert p.project_urls == ["https://example-rstar.github.io/math/"]


def test_daily_date_from_submitted_on_daily_at_and_links_from_fields() -> None:
    p = _papers(list(hf_daily.read(SAMPLE)))["2502.00001"]
    assert p.feed_day == date(2025, 2, 3)
    assert p.submitted_by == "ada-ex"
    assert p.code_urls == ["https://github.com/ada-example/daily"]
    assert p.project_urls == ["https://ada-example.github.io/daily/"]


def test_timestamps_with_offsets_are_dated_in_utc() -> None:
    p = _papers(list(hf_daily.read(SAMPLE)))["2502.01234"]
    assert p.published == datetime(2025, 2, 4, 4, 30, tzinfo=UTC)
    assert p.feed_day == date(2025, 2, 5)


def test_broken_entry_reported_by_index() -> None:
    errors = [i for i in hf_daily.read(SAMPLE) if isinstance(i, RecordError)]
    assert [(e.source, e.position, e.reason) for e in errors] == [
        ("hf-daily", "hf_daily_sample.json[3]", "missing paper id")
    ]


def test_json_lines_gzipped(tmp_path: Path) -> None:
    path = tmp_path / "daily.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for e in _entries():
            fh.write(json.dumps(e) + "\n")
    items = list(hf_daily.read(path))
    assert set(_papers(items)) == {"2410.05258", "2501.04519", "2502.00001", "2502.01234"}
    errors = [i for i in items if isinstance(i, RecordError)]
    assert [e.position for e in errors] == ["daily.jsonl.gz:4"]


def test_syntax_error_keeps_the_entries_before_it(tmp_path: Path) -> None:
    text = json.dumps(_entries()[:2], indent=1)
    path = tmp_path / "cut.json"
    path.write_text(text[:-2] + ', {"paper": {"id": "2501.0', encoding="utf-8")
    items = list(hf_daily.read(path))
    assert set(_papers(items)) == {"2410.05258", "2501.04519"}
    assert isinstance(items[-1], RecordError) and items[-1].position == "cut.json[2]"
    assert "invalid JSON" in items[-1].reason


def test_entries_larger_than_a_read_chunk(tmp_path: Path) -> None:
    entries = _entries()
    entries[0]["paper"]["ai_keywords"] = ["keyword"] * (hf_daily.CHUNK // 3)
    path = tmp_path / "big.json"
    path.write_text(json.dumps(entries * 3), encoding="utf-8")
    items = list(hf_daily.read(path))
    assert len(items) == 15
    assert sum(isinstance(i, Paper) for i in items) == 12
    assert [i.position for i in items if isinstance(i, RecordError)] == [
        "big.json[3]",
        "big.json[8]",
        "big.json[13]",
    ]


def test_oversized_entry_is_rejected(tmp_path: Path) -> None:
    first, second = _entries()[:2]
    huge = dict(first, padding="x" * (hf_daily.MAX_ENTRY_CHARS + 10))
    path = tmp_path / "huge.json"
    path.write_text(json.dumps([first, huge, second]), encoding="utf-8")
    items = list(hf_daily.read(path))
    assert len(items) == 3
    assert isinstance(items[1], RecordError) and items[1].position == "huge.json[1]"
    assert "larger than" in items[1].reason
    assert [p.id for p in items if isinstance(p, Paper)] == ["2410.05258", "2501.04519"]

    # Cut off inside the huge entry: everything before it lands, then one clear error.
    path.write_text(json.dumps([first, huge])[:-100], encoding="utf-8")
    items = list(hf_daily.read(path))
    assert isinstance(items[0], Paper) and len(items) == 2
    assert items[1].position == "huge.json[1]" and "larger than" in items[1].reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty file"),
        ("<html>not json</html>", "not a JSON array or JSON-lines file"),
        ("[1, 2", "entry is not a JSON object"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(content, encoding="utf-8")
    items = list(hf_daily.read(path))
    assert isinstance(items[0], RecordError) and items[0].reason == reason


def test_bad_fields(tmp_path: Path) -> None:
    good = _entries()[0]
    cases = [
        dict(good, publishedAt="yesterday"),
        dict(good, paper=dict(good["paper"], upvotes="many")),
        dict(good, paper=dict(good["paper"], id="../../etc/passwd")),
        dict(good, paper=dict(good["paper"], authors=[{"_id": "x"}])),
        {"publishedAt": "2025-01-01T00:00:00Z"},
        dict(
            good,
            publishedAt=None,
            paper={k: v for k, v in good["paper"].items() if k != "submittedOnDailyAt"},
        ),
    ]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    items = list(hf_daily.read(path))
    assert all(isinstance(i, RecordError) for i in items) and len(items) == len(cases)
    assert [i.position for i in items] == [f"bad.json[{n}]" for n in range(len(cases))]
    reasons = [i.reason for i in items]
    assert "invalid date" in reasons[0]
    assert reasons[1] == "paper.upvotes is not an integer"
    assert "not an arXiv identifier" in reasons[2]
    assert reasons[3] == "author without a name"
    assert reasons[4] == "missing paper object"
    assert reasons[5] == "no daily-page date (publishedAt)"


def test_empty_array_yields_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("  [ ]\n", encoding="utf-8")
    assert list(hf_daily.read(path)) == []
