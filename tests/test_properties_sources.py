"""Property-based tests (Hypothesis) of every parser that reads outside data.

Each source promises (sources/base.py): a record is a ``Paper`` or a ``RecordError`` naming its
position and reason, and one bad record never sinks the ones around it. The converters are
called directly, because the readers' last-resort ``except Exception`` would turn a converter
crash into a vague error: here a crash is a bug. The same holds for identifiers (``ids``:
``InvalidId``) and library imports (``ImportRejected`` for a whole file, problems per entry).

Derandomized and bounded so CI is reproducible and quick;
``PAPERBOARD_FUZZ_EXAMPLES=2000 pytest tests/test_properties_sources.py`` explores longer.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paperboard import ids
from paperboard.config import Settings
from paperboard.library.citations import to_bibtex
from paperboard.library.imports import ImportParse, ImportRejected, normalize_title, parse_import
from paperboard.models import Paper, RecordError
from paperboard.sources import arxiv_daily, arxiv_snapshot, hf_daily, oai_pmh, seed_page
from paperboard.sources.arxiv_api import fetch_papers
from paperboard.sources.http import HttpClient

pytestmark = pytest.mark.sqlite_only  # no store involved: a second backend would only repeat them
EXAMPLES = int(os.environ.get("PAPERBOARD_FUZZ_EXAMPLES", "75"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)  # fmt: skip
DAY = date(2025, 6, 2)

# -- building blocks -----------------------------------------------------------------------
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
arxiv_ids = st.one_of(
    st.sampled_from(["2501.01234", "2501.01234v2", "hep-th/9901001", "math.GT/0309136v1", "arXiv:2501.01234",
                     "https://arxiv.org/abs/2501.01234v3", "٢٥٠١.٠١٢٣٤", "2501.01234\n", "HEP-TH/9901001", ""]),
    st.from_regex(r"\A2[0-9]{3}\.[0-9]{4,5}(v[0-9]{1,3})?\Z"),
    st.text(max_size=30),
)  # fmt: skip
iso_stamps = st.one_of(
    st.sampled_from(["2024-10-07T17:59:58.000Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
                     "2024-02-30", "", " ", "yesterday"]),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.text(max_size=25),
)  # fmt: skip
rfc2822_dates = st.one_of(
    st.sampled_from(["Mon, 2 Jun 2025 17:59:58 GMT", "Mon, 1 Jan 99999 00:00:00 GMT",
                     "Mon, 1 Jan 99999999999999999999 00:00:00 GMT", "Mon, 1 Jan 0001 00:00:00 +0100",
                     "Fri, 31 Dec 9999 23:59:59 -0100", "", "garbage"]),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S %z")),
    st.text(max_size=30),
)  # fmt: skip
short_text = st.text(max_size=40)


def maybe(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a plausible value, sometimes any JSON value: hostile records look almost right."""
    return st.one_of(plausible, plausible, json_value)


def records(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict]:
    """Records with any subset of the known keys, plus the odd unknown one."""
    return st.fixed_dictionaries(
        {}, optional={k: maybe(v) for k, v in fields.items()} | {"extra": json_value}
    )


def assert_item(item: object, position: str) -> None:
    assert isinstance(item, Paper | RecordError), item
    if isinstance(item, RecordError):
        assert item.position.startswith(position) and item.reason.strip(), item


_SCRATCH = tempfile.TemporaryDirectory(prefix="pb-fuzz-")  # removed when the run ends


def scratch(name: str) -> Path:
    """One reused file per kind of test, each in a folder of its own (examples run in turn)."""
    path = Path(_SCRATCH.name) / name.replace(".", "-") / name
    path.parent.mkdir(exist_ok=True)
    return path


def write(lines: list[str]) -> Path:
    path = scratch(f"{DAY.isoformat()}.jsonl")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- identifiers ---------------------------------------------------------------------------
@FUZZ
@given(text=arxiv_ids)
@example(text="٢٥٠١.٠١٢٣٤")  # Arabic-Indic digits matched \d: a key no URL or store agrees on
@example(text="https://arxiv.org/abs/HEP-TH/9901001")  # an upper-case archive: not a store key
@example(text="0000.0000v0")  # version 0 printed as no version: the round trip changed it
def test_any_text_is_an_arxiv_id_or_invalid_id(text):
    try:
        aid = ids.parse_arxiv_id(text)
    except ids.InvalidId as exc:
        assert str(exc)
        return
    assert ids.is_paper_id(aid.id), (
        f"{text!r} parsed to {aid.id!r}, which the store refuses as a key"
    )
    assert aid.id.isascii()
    assert ids.parse_arxiv_id(str(aid)) == aid


@FUZZ
@given(text=arxiv_ids)
@example(text="2501.01234\n")  # "$" matched before a trailing newline
def test_a_store_key_is_exactly_its_own_id(text):
    if ids.is_paper_id(text) and not ids.LOCAL_ID.match(text):
        assert ids.parse_arxiv_id(text) == ids.ArxivId(text)


# -- JSON-lines sources --------------------------------------------------------------------
snapshot_records = records({
    "id": arxiv_ids, "title": short_text, "abstract": short_text, "authors": short_text,
    "authors_parsed": st.lists(st.lists(st.one_of(short_text, st.none()), max_size=4), max_size=3),
    "categories": st.one_of(short_text, st.lists(short_text, max_size=3)),
    "versions": st.lists(st.fixed_dictionaries({"version": st.sampled_from(["v1", "v2", "v0", "x"]),
                                                "created": rfc2822_dates}), max_size=3),
    "comments": short_text, "journal-ref": short_text, "doi": short_text, "license": short_text,
})  # fmt: skip
daily_records = records({
    "id": arxiv_ids, "title": short_text, "summary": short_text, "abstract": short_text,
    "authors": st.lists(short_text, max_size=3), "categories": st.one_of(short_text, st.lists(short_text)),
    "comment": short_text,
})  # fmt: skip
hf_papers = records({
    "id": arxiv_ids, "title": short_text, "summary": short_text, "publishedAt": iso_stamps,
    "submittedOnDailyAt": iso_stamps, "upvotes": st.integers(), "githubRepo": short_text,
    "projectPage": short_text, "authors": st.lists(st.one_of(short_text, st.fixed_dictionaries({"name": short_text}))),
    "organization": st.one_of(short_text, st.fixed_dictionaries({"fullname": short_text})),
    "submittedOnDailyBy": st.fixed_dictionaries({"user": short_text}),
})  # fmt: skip
hf_entries = st.one_of(
    st.fixed_dictionaries({"paper": maybe(hf_papers)}, optional={"publishedAt": maybe(iso_stamps),
                          "submittedBy": json_value, "title": json_value}),
    hf_papers,
    json_value,
)  # fmt: skip


def good_snapshot(n: int) -> dict:
    return {"id": f"1912.{n:05d}", "title": f"Good paper {n}", "abstract": "Fine.", "authors": "A. B, C. D",
            "categories": "cs.CL", "versions": [{"version": "v1", "created": "Mon, 2 Jun 2025 17:59:58 GMT"}]}  # fmt: skip


def good_daily(n: int) -> dict:
    return {
        "id": f"1912.{n:05d}",
        "title": f"Good paper {n}",
        "summary": "Fine.",
        "authors": ["A"],
        "categories": "cs.CL",
    }


def good_hf(n: int) -> dict:
    return {"publishedAt": "2025-06-02T12:00:00.000Z",
            "paper": {"id": f"1912.{n:05d}", "title": f"Good paper {n}", "summary": "Fine.", "upvotes": 3}}  # fmt: skip


@FUZZ
@given(record=snapshot_records)
@example(record={"id": "2501.01234", "title": "T", "versions": [{"version": "v1", "created": "Mon, 1 Jan 99999999999999999999 00:00:00 GMT"}]})  # fmt: skip
@example(record={"id": "2501.01234", "title": "T", "versions": [{"version": "v1", "created": "Mon, 1 Jan 0001 00:00:00 +0100"}]})  # fmt: skip
def test_a_snapshot_record_is_a_paper_or_a_record_error(record):
    assert_item(arxiv_snapshot.convert(record, "f:1"), "f:1")


@FUZZ
@given(record=daily_records)
def test_a_daily_record_is_a_paper_or_a_record_error(record):
    assert_item(arxiv_daily.convert(record, "f:1", DAY), "f:1")


@FUZZ
@given(entry=hf_entries)
@example(
    entry={"publishedAt": "0001-01-01T00:00:00+01:00", "paper": {"id": "2501.01234", "title": "T"}}
)
@example(entry={"publishedAt": "2025-06-02", "paper": {"id": "2501.01234", "title": "T", "publishedAt": "0001-01-01T00:00:00+01:00"}})  # fmt: skip
def test_an_hf_entry_is_a_paper_or_a_record_error(entry):
    assert_item(hf_daily.convert(entry, "f[0]"), "f[0]")


@dataclass
class MinimalLines:
    """The explicit example of a failure found: these bad lines before one good line."""

    bad: list[str]


# A bad line is any text, or a record that is almost right.
bad_lines = st.one_of(
    st.text(max_size=60).map(lambda s: s.replace("\n", " ").replace("\r", " ")),
    json_value.map(json.dumps),
)


@pytest.mark.parametrize(
    ("read", "good", "hostile"),
    [
        (arxiv_snapshot.read, good_snapshot, snapshot_records),
        (lambda path: arxiv_daily.read(path.parent), good_daily, daily_records),
        (hf_daily.read, good_hf, hf_entries),
    ],
    ids=["snapshot", "arxiv-daily", "hf-daily-lines"],
)
@FUZZ
@given(data=st.data())
@example(data=MinimalLines(["null"]))  # a bad first line refused the whole file
@example(data=MinimalLines(["[]"]))  # an array first line: the good lines after it vanished
def test_bad_lines_cost_one_error_each_and_lose_no_good_line(read, good, hostile, data):
    lines, good_ids = [], []
    if isinstance(data, MinimalLines):  # an explicit example: these bad lines, then one good one
        lines, good_ids = [*data.bad, json.dumps(good(0))], ["1912.00000"]
    for n in range(
        0 if isinstance(data, MinimalLines) else data.draw(st.integers(1, 6), label="good lines")
    ):
        for bad in data.draw(
            st.lists(st.one_of(bad_lines, hostile.map(json.dumps)), max_size=2), label="bad"
        ):
            lines.append(bad)
        lines.append(json.dumps(good(n)))
        good_ids.append(f"1912.{n:05d}")
    items = list(read(write(lines)))
    for item in items:
        assert_item(item, "")
    if "\n".join(lines).lstrip().startswith("[") and read is hf_daily.read:
        # A file that starts with "[" is a JSON array (the API's format): what follows the
        # array is reported, not read. (Before, it was dropped without a word.)
        assert isinstance(items[-1], RecordError) or len(items) == len(lines)
        return
    assert len(items) == sum(1 for line in lines if line.strip()), "one item per non-blank line"
    papers = [i.id for i in items if isinstance(i, Paper) and i.id.startswith("1912.")]
    assert papers == good_ids


@FUZZ
@given(
    entries=st.lists(st.one_of(hf_entries.map(lambda e: (False, e)), st.integers(0, 5).map(lambda n: (True, good_hf(n)))), max_size=6),
    cut=st.booleans(),
)  # fmt: skip
def test_an_hf_array_keeps_every_good_entry_before_a_problem(entries, cut):
    """Every entry lands or is reported; a file cut short keeps every entry before the cut."""
    text = json.dumps([e for _, e in entries])
    if cut:
        text = text[: len(text) * 2 // 3]
    path = scratch("daily.json")
    path.write_text(text, encoding="utf-8")
    items = list(hf_daily.read(path))
    for item in items:
        assert_item(item, "daily.json")
    good = [i.id for i in items if isinstance(i, Paper) and i.id.startswith("1912.")]
    expected = [e["paper"]["id"] for is_good, e in entries if is_good]
    if cut:
        assert good == expected[: len(good)] and isinstance(items[-1], RecordError)
    else:
        assert len(items) == max(len(entries), 1 if not entries else 0) or not entries
        assert good == expected


# -- OAI-PMH ---------------------------------------------------------------------------------
OAI_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            "<responseDate>2025-06-03T00:00:00Z</responseDate><ListRecords>")  # fmt: skip
OAI_TAIL = "<resumptionToken>next-page</resumptionToken></ListRecords></OAI-PMH>"


def oai_record(
    identifier: str, fields: dict[str, str], datestamp: str = "2025-06-02", raw: bool = False
) -> str:
    """A record in the arXiv format (or arXivRaw), each field's text escaped unless ``raw``."""
    body = "".join(f"<{k}>{v if raw else escape(v)}</{k}>" for k, v in fields.items())
    return (f"<record><header><identifier>oai:arXiv.org:{escape(identifier)}</identifier>"
            f"<datestamp>{escape(datestamp)}</datestamp></header><metadata>"
            f'<arXiv xmlns="http://arxiv.org/OAI/arXiv/">{body}</arXiv></metadata></record>')  # fmt: skip


def good_oai(n: int) -> str:
    fields = {"id": f"1912.{n:05d}", "created": "2025-06-01", "title": f"Good paper {n}", "abstract": "Fine.",
              "categories": "cs.CL"}  # fmt: skip
    return oai_record(f"1912.{n:05d}", fields)


oai_fields = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "created",
            "updated",
            "title",
            "abstract",
            "categories",
            "comments",
            "doi",
            "license",
        ]
    ),
    st.one_of(arxiv_ids, iso_stamps, short_text),
    max_size=6,
).map(lambda d: {k: "".join(c for c in v if c.isprintable()) for k, v in d.items()})


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
@example(data=(OAI_HEAD + "<record><header>").encode())
def test_any_bytes_are_a_page_or_a_broken_page(data):
    try:
        page = oai_pmh.parse_page(data)
    except oai_pmh.BrokenPage as exc:
        assert str(exc)
        return
    assert isinstance(page, oai_pmh.ParsedPage)


@FUZZ
@given(
    fields=oai_fields,
    datestamp=iso_stamps.map(lambda s: "".join(c for c in s if c.isprintable())),
    broken=st.booleans(),
)
@example(
    fields={"id": "2501.01234", "created": "0001-01-01", "title": "T"},
    datestamp="2025-06-02",
    broken=False,
)
def test_a_bad_oai_record_costs_one_error_and_keeps_its_neighbours(fields, datestamp, broken):
    """Records with hostile fields, or (``broken``) not even well-formed XML, between good ones."""
    bad = oai_record(fields.get("id", "x"), fields, datestamp, raw=broken)
    page = (OAI_HEAD + good_oai(1) + bad + good_oai(2) + OAI_TAIL).encode()
    parsed = oai_pmh.parse_page(page)
    items = []
    for n, record in enumerate(parsed.records, 1):
        if isinstance(record, oai_pmh._Unparsable):
            continue
        item = oai_pmh.convert_record(record, f"page 1 record {n}", "arXiv")
        assert_item(item, f"page 1 record {n}")
        items.append(item)
    assert parsed.token == "next-page"
    assert [i.id for i in items if isinstance(i, Paper) and i.id.startswith("1912.")] == [
        "1912.00001",
        "1912.00002",
    ]


# -- arXiv query API (Atom), through a local HTTP server ---------------------------------------
ATOM_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'


def atom_entry(fields: dict[str, str], category: str = "cs.CL") -> str:
    body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items() if k != "author")
    author = f"<author><name>{escape(fields.get('author', 'A. Author'))}</name></author>"
    return (
        f'<entry>{body}{author}<category term="{escape(category, {chr(34): "&quot;"})}"/></entry>'
    )


def good_atom(n: int) -> str:
    return atom_entry({"id": f"http://arxiv.org/abs/1912.{n:05d}v1", "title": f"Good paper {n}", "summary": "Fine.",
                       "published": "2025-06-01T00:00:00Z", "updated": "2025-06-01T00:00:00Z"})  # fmt: skip


@pytest.fixture(scope="module")
def atom_server():
    """A local arXiv API that answers every query with the feed the test sets."""
    state = {"body": b""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml")
            self.send_header("Content-Length", str(len(state["body"])))
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    settings_ = Settings(data_dir=Path(_SCRATCH.name), arxiv_api_url=f"http://127.0.0.1:{httpd.server_address[1]}/api/query",
                         http_max_retries=0)  # fmt: skip
    with HttpClient(settings_) as client:
        yield state, settings_, client
    httpd.shutdown()
    httpd.server_close()


atom_fields = st.fixed_dictionaries(
    {"id": arxiv_ids.map(lambda s: "http://arxiv.org/abs/" + s)},
    optional={"title": short_text, "summary": short_text, "published": iso_stamps, "updated": iso_stamps,
              "arxiv:comment": short_text, "arxiv:doi": short_text, "author": short_text},
).map(lambda d: {k: "".join(c for c in v if c.isprintable()) for k, v in d.items()})  # fmt: skip


@FUZZ
@given(
    fields=atom_fields, category=short_text.map(lambda s: "".join(c for c in s if c.isprintable()))
)
@example(fields={"id": "http://arxiv.org/abs/2501.01234v1", "title": "T", "published": "0001-01-01T00:00:00+01:00"}, category="cs.CL")  # fmt: skip
def test_a_bad_atom_entry_costs_one_error_and_keeps_its_neighbours(atom_server, fields, category):
    state, settings_, client = atom_server
    state["body"] = (
        ATOM_HEAD + good_atom(1) + atom_entry(fields, category) + good_atom(2) + "</feed>"
    ).encode()
    wanted = ["1912.00001", "2501.01234", "1912.00002"]
    items = list(fetch_papers(wanted, settings_, client=client, feed_day=DAY))
    assert len(items) == 3, "one item per requested id"
    for item in items:
        assert_item(item, "")
    assert [i.id for i in items if isinstance(i, Paper) and i.id.startswith("1912.")] == [
        "1912.00001",
        "1912.00002",
    ]


# -- the seed page ---------------------------------------------------------------------------
SEED_HEAD = "Daily Papers\n\nby AK and the research community\n\nNov 3\n\n"


def seed_card(n: int) -> str:
    return f"Good paper number {n}\n\nWe study things and find them good.\n\n  • 3 authors\n·\nOct 7, 2024 2\n\n"


@FUZZ
@given(text=st.text(max_size=400))
@example(text="Title\n\nAbstract\n\n·\nFeb 29 5\n")
@example(text="Nov 3\n\nTitle\n\nAbstract\n\nFeb 30, 2024\n")
def test_any_page_text_gives_cards_or_record_errors(text):
    for item in seed_page.parse_text(text, name="p.txt"):
        assert_item(item, "p.txt:")


@FUZZ
@given(junk=st.text(min_size=1, max_size=200).filter(str.strip))
def test_a_junk_block_between_cards_keeps_both_cards(junk):
    page = SEED_HEAD + seed_card(1) + junk.replace("\r", "") + "\n\n" + seed_card(2)
    items = list(seed_page.parse_text(page, name="p.txt"))
    titles = [i.title for i in items if isinstance(i, Paper)]
    assert "Good paper number 1" in titles and "Good paper number 2" in titles, items


# -- library imports (BibTeX, id lists) ---------------------------------------------------------
def bib_entry(n: int) -> str:
    return f"@article{{good{n},\n  title = {{Good paper {n}}},\n  eprint = {{1912.{n:05d}}},\n  archivePrefix = {{arXiv}}\n}}\n"


@FUZZ
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
@example(data=b"@article{x, title = {")
@example(data=b"\xff\xfe@\x00")
def test_any_file_is_an_import_or_import_rejected(data):
    try:
        result = parse_import(data)
    except ImportRejected as exc:
        assert str(exc)
        return
    assert isinstance(result, ImportParse)
    for problem in result.errors:
        assert problem.position >= 0 and problem.line >= 1 and problem.reason


@FUZZ
@given(junk=st.text(max_size=150))
@example(junk="title = {unclosed")
@example(junk='title = "a {b" }')
def test_a_malformed_bibtex_entry_keeps_the_entries_around_it(junk):
    text = bib_entry(1) + "@article{bad,\n" + junk + "\n" + bib_entry(2)
    try:
        result = parse_import(text)
    except (
        ImportRejected
    ) as exc:  # only for a whole file that is not text (e.g. control characters)
        assert "binary" in str(exc)
        return
    found = [e.arxiv_id for e in result.entries]
    assert "1912.00001" in found and "1912.00002" in found, (found, result.errors)


@FUZZ
@given(lines=st.lists(st.one_of(arxiv_ids, short_text), max_size=8))
def test_an_id_list_reports_every_unusable_line(lines):
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    text = "\n".join(["1912.00001", *lines, "https://arxiv.org/abs/1912.00002v2"])
    try:
        result = parse_import(text)
    except ImportRejected as exc:
        assert "binary" in str(exc)
        return
    found = [e.arxiv_id for e in result.entries]
    assert found[0] == "1912.00001" and "1912.00002" in found


paper_titles = st.text(min_size=1, max_size=60).filter(lambda s: s.strip())


@FUZZ
@given(titles=st.lists(paper_titles, min_size=1, max_size=4))
@example(titles=["A {B} \\emph{C} $x$ 50% & ~ # _ ^ }{"])
def test_exported_bibtex_imports_back_to_the_same_papers(titles):
    """Round trip: the library's own BibTeX export is an import that finds every paper again,
    by id and by title (the export must escape whatever a title holds)."""
    papers = []
    for n, title in enumerate(titles):
        try:
            papers.append(Paper(id=f"1912.{n:05d}", title=title, authors=["Ada Lovelace"], feed_day=DAY,
                                published=datetime(2025, 6, 1, tzinfo=UTC)))  # fmt: skip
        except ValueError:
            continue  # not a title the store would hold either
    if not papers:
        return
    result = parse_import(to_bibtex(papers))
    assert [e.arxiv_id for e in result.entries] == [p.id for p in papers], result.errors
    assert [e.normalized_title for e in result.entries] == [
        normalize_title(p.title) or None for p in papers
    ]
