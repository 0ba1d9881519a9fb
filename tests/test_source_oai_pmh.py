"""The OAI-PMH harvester against a local server replaying arXiv-format responses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperboard.ingest import IngestSummary, ingest
from paperboard.models import Paper, RecordError
from paperboard.sources.http import (
    BadXml,
    HttpClient,
    SourceUnavailable,
    parse_xml,
    retry_after_seconds,
)
from paperboard.sources.oai_pmh import OaiError, OaiHarvester, read, split_authors
from paperboard.store import open_store

from .replay_server import ReplayServer, Reply, SleepRecorder, closed_port

FIXTURES = Path(__file__).parent / "fixtures" / "oai"
JAN = {
    "verb": "ListRecords",
    "metadataPrefix": "arXiv",
    "from": "2024-01-15",
    "until": "2024-01-16",
}
JAN_RANGE = {"from_": date(2024, 1, 15), "until": date(2024, 1, 16)}


def token(value: str) -> dict[str, str]:
    return {"verb": "ListRecords", "resumptionToken": value}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def server():
    with ReplayServer(FIXTURES) as s:
        yield s


@pytest.fixture
def oai_settings(settings, server):
    return settings.model_copy(update={"arxiv_oai_url": f"{server.url}/oai"})


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def client(oai_settings, sleeps):
    with HttpClient(oai_settings, sleep=sleeps) as c:
        yield c


def route_january(server: ReplayServer) -> None:
    server.route(JAN, "arxiv-page1.xml")
    server.route(token("6960524|1001"), "arxiv-page2.xml")
    server.route(token("6960524|2001"), "arxiv-page3.xml")


def split(items):
    papers = {i.id: i for i in items if isinstance(i, Paper)}
    errors = [i for i in items if isinstance(i, RecordError)]
    return papers, errors


def harvest_into(store, harvester, *, crash_after: int | None = None, commit_crashed: bool = True):
    """The ingest pipeline's sequence: store a page's papers, then commit its checkpoint."""
    summary = IngestSummary()
    for page in harvester.pages():
        ingest(store, page.items, summary=summary)
        if page.number == crash_after:
            if commit_crashed:
                page.commit()
            break
        page.commit()
    return summary


def all_papers(store) -> dict[str, dict]:
    ids = [i for batch in store.iter_paper_ids() for i in batch]
    return {pid: p.model_dump() for pid, p in store.get_papers(ids).items()}


def test_arxiv_format_harvest_follows_tokens_and_skips_deleted(server, oai_settings, client):
    route_january(server)
    papers, errors = split(list(read(oai_settings, client=client, **JAN_RANGE)))

    assert list(papers) == [
        "2401.08001",
        "2401.08002",
        "hep-th/9901001",
        "2401.08004",
        "2401.08007",
    ]
    assert "2312.09999" not in papers  # deleted record
    assert [r.query for r in server.requests] == [
        JAN,
        token("6960524|1001"),
        token("6960524|2001"),
    ]
    assert server.unmatched == []
    # The record with no <id> is reported with where it was, and the page's other record landed.
    assert len(errors) == 1
    assert errors[0].position == "page 2 record 2 (oai:arXiv.org:2401.08005)"
    assert errors[0].reason == "record has no <id>"

    moe = papers["2401.08001"]
    assert moe.title == "Sparse Mixture-of-Experts Routing Without Load-Balancing Losses"
    assert moe.authors == ["Adaeze Okafor", "Maja K. Lindqvist"]
    assert moe.categories == ["cs.LG", "cs.AI", "stat.ML"] and moe.primary_category == "cs.LG"
    assert moe.abstract.endswith(
        "unnecessary.\n\nExperiments on language modelling benchmarks"
        " show matched perplexity at lower cost."
    )
    assert moe.code_urls == ["https://github.com/example/sparse-moe-routing"]
    assert moe.license == "http://creativecommons.org/licenses/by/4.0/"
    assert moe.published == moe.updated == utc(2024, 1, 15)
    assert moe.feed_day == date(2024, 1, 16)  # the OAI datestamp

    top = papers["2401.08002"]
    assert top.authors == ["ATLAS Collaboration", "John A. Smith Jr", "Jürgen Müller"]
    assert top.journal_ref == "Phys. Rev. D 109 (2024) 012005"
    assert top.doi == "10.1103/PhysRevD.109.012005"
    assert (top.published, top.updated) == (utc(2024, 1, 15), utc(2024, 1, 16))

    old = papers["hep-th/9901001"]
    assert old.published == utc(1999, 1, 4) and old.categories == ["hep-th", "hep-ph"]
    assert (
        papers["2401.08007"].title
        == "Neural population dynamics during motor adaptation & learning"
    )
    assert "<10 dimensions" in papers["2401.08007"].abstract


def test_arxiv_raw_harvest_takes_versions_and_splits_authors(server, oai_settings, client):
    server.route(
        {
            "verb": "ListRecords",
            "metadataPrefix": "arXivRaw",
            "from": "2024-01-15",
            "until": "2024-01-16",
            "set": "cs",
        },
        "raw-page1.xml",
    )
    server.route(token("6960525|1001"), "raw-page2.xml")
    items = list(read(oai_settings, prefix="arXivRaw", set_="cs", client=client, **JAN_RANGE))
    papers, errors = split(items)

    assert errors == [] and server.unmatched == []
    assert list(papers) == ["2312.01234", "2401.08010", "cs/0501001"]
    dex = papers["2312.01234"]
    assert dex.version == 3
    assert dex.published == utc(2023, 12, 2, 17, 41, 9)  # v1's date
    assert dex.updated == utc(2024, 1, 15, 14, 22, 31)  # the latest version's date
    assert dex.feed_day == date(2024, 1, 15)
    assert dex.authors == ["Wei Zhang", "Laura Rossi", "Daniel P. Kim", "Sofia Alvarez"]
    assert dex.project_urls == ["https://example.org/dexdiff"]
    judges = papers["2401.08010"]
    assert judges.authors == ["Aisha Bello", "Tomás Ferreira, Jr.", "Mei Chen"]
    assert (judges.version, judges.doi) == (1, "10.18653/v1/2024.acl-long.1")
    assert papers["cs/0501001"].version == 2


def test_split_authors_keeps_parenthesised_and_inside_affiliations():
    assert split_authors("A. One (Univ. of X and Y), B. Two and C. Three") == [
        "A. One",
        "B. Two",
        "C. Three",
    ]
    assert split_authors("") == []


def test_503_with_retry_after_is_waited_out_then_succeeds(server, oai_settings, client, sleeps):
    busy = Reply(
        503, "<html><body>Retry after 7 seconds</body></html>", {"Retry-After": "7"}, "text/html"
    )
    route = server.route(JAN, busy, "arxiv-page3.xml")
    papers, errors = split(list(read(oai_settings, client=client, **JAN_RANGE)))
    assert list(papers) == ["2401.08007"] and errors == []
    assert route.hits == 2
    assert sleeps.waits == [7.0]


def test_retry_after_is_capped_and_5xx_backs_off(server, oai_settings, sleeps):
    server.route(
        JAN, Reply(503, "", {"Retry-After": "86400"}), Reply(502), Reply(500), "arxiv-page3.xml"
    )
    with HttpClient(oai_settings, sleep=sleeps, max_retry_after=60) as c:
        papers, _ = split(list(read(oai_settings, client=c, **JAN_RANGE)))
    assert list(papers) == ["2401.08007"]
    assert sleeps.waits == [60, 2.0, 4.0]  # capped; then exponential backoff for attempts 2 and 3


def test_retry_after_forms():
    now = datetime(2024, 1, 17, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 17 Jan 2024 10:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Wed, 17 Jan 2024 09:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_persistent_503_gives_source_unavailable(server, oai_settings, sleeps):
    route = server.route(JAN, Reply(503, "", {"Retry-After": "1"}))
    few = oai_settings.model_copy(update={"http_max_retries": 2})
    with (
        HttpClient(few, sleep=sleeps) as c,
        pytest.raises(SourceUnavailable, match="HTTP 503 after 3"),
    ):
        list(read(few, client=c, **JAN_RANGE))
    assert route.hits == 3 and sleeps.waits == [1.0, 1.0]


def test_offline_gives_clear_source_unavailable(settings, sleeps):
    offline = settings.model_copy(
        update={"arxiv_oai_url": f"http://127.0.0.1:{closed_port()}/oai", "http_max_retries": 1}
    )
    with HttpClient(offline, sleep=sleeps) as c, pytest.raises(SourceUnavailable) as exc:
        list(read(offline, client=c))
    assert str(exc.value).startswith("cannot reach 127.0.0.1 (offline?): ")
    assert sleeps.waits == [1.0]


def test_malformed_page_is_salvaged_and_truncated_page_stops_at_checkpoint(
    server, oai_settings, client, tmp_store
):
    feb = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2024-02-01"}
    server.route(feb, "malformed-page1.xml")
    server.route(token("7000000|1001"), "truncated-page2.xml", "retry-page2.xml")
    harvester = OaiHarvester(oai_settings, tmp_store, from_="2024-02-01", client=client)
    summary = harvest_into(tmp_store, harvester)

    assert [str(e) for e in summary.errors][0].startswith(
        "arxiv-oai:page 1 record 2 (oai:arXiv.org:2402.00102): malformed XML"
    )
    assert summary.errors[1].position == "page 2"
    assert "harvest stopped" in summary.errors[1].reason
    assert (summary.stored, summary.rejected) == (2, 2)
    assert set(tmp_store.get_papers(["2402.00101", "2402.00103"])) == {"2402.00101", "2402.00103"}
    assert tmp_store.get_checkpoint(harvester.checkpoint_name) == "7000000|1001"

    rerun = OaiHarvester(oai_settings, tmp_store, from_="2024-02-01", client=client)
    summary = harvest_into(tmp_store, rerun)
    assert rerun.resumed_from == "7000000|1001"
    assert (summary.stored, summary.rejected) == (1, 0)
    assert tmp_store.get_paper("2402.00104").title == "Percolation on hyperbolic lattices"
    assert tmp_store.get_checkpoint(rerun.checkpoint_name) is None


def test_no_records_match_is_an_empty_result(server, oai_settings, client, tmp_store):
    server.route(
        {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2030-01-01"}, "no-records.xml"
    )
    harvester = OaiHarvester(oai_settings, tmp_store, from_=date(2030, 1, 1), client=client)
    pages = list(harvester.pages())
    assert [(p.items, p.last) for p in pages] == [([], True)]
    assert list(read(oai_settings, from_=date(2030, 1, 1), client=client)) == []


def test_bad_resumption_token_clears_checkpoint_with_clear_error(
    server, oai_settings, client, tmp_store
):
    server.route(token("6960524|9001"), "bad-token.xml")
    harvester = OaiHarvester(oai_settings, tmp_store, client=client, **JAN_RANGE)
    tmp_store.set_checkpoint(harvester.checkpoint_name, "6960524|9001")
    with pytest.raises(OaiError, match="rejected resumption token .* rerun") as exc:
        list(harvester.pages())
    assert exc.value.code == "badResumptionToken"
    assert tmp_store.get_checkpoint(harvester.checkpoint_name) is None


def test_other_oai_errors_raise_with_code(server, oai_settings, client):
    server.route(
        {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "nosuchset"}, "bad-prefix.xml"
    )
    with pytest.raises(OaiError, match="badArgument: Illegal set specification") as exc:
        list(read(oai_settings, set_="nosuchset", client=client))
    assert exc.value.code == "badArgument"


@pytest.mark.parametrize(
    "commit_crashed", [True, False], ids=["crash-after-commit", "crash-before-commit"]
)
def test_interrupted_harvest_resumes_and_matches_uninterrupted(
    server, oai_settings, client, tmp_store, store_factory, commit_crashed
):
    route_january(server)
    first = OaiHarvester(oai_settings, tmp_store, client=client, **JAN_RANGE)
    harvest_into(tmp_store, first, crash_after=2, commit_crashed=commit_crashed)
    expected_token = "6960524|2001" if commit_crashed else "6960524|1001"
    assert tmp_store.get_checkpoint(first.checkpoint_name) == expected_token

    server.requests.clear()
    resumed = OaiHarvester(oai_settings, tmp_store, client=client, **JAN_RANGE)
    harvest_into(tmp_store, resumed)
    assert resumed.resumed_from == expected_token
    assert server.requests[0].query == token(expected_token)
    assert tmp_store.get_checkpoint(resumed.checkpoint_name) is None

    reference = open_store(store_factory())
    try:
        harvest_into(reference, OaiHarvester(oai_settings, reference, client=client, **JAN_RANGE))
        expected = all_papers(reference)
    finally:
        reference.close()
    assert len(expected) == 5
    assert all_papers(tmp_store) == expected


def test_restart_ignores_a_saved_checkpoint(server, oai_settings, client, tmp_store):
    route_january(server)
    harvester = OaiHarvester(oai_settings, tmp_store, client=client, restart=True, **JAN_RANGE)
    tmp_store.set_checkpoint(harvester.checkpoint_name, "6960524|2001")
    summary = harvest_into(tmp_store, harvester)
    assert harvester.resumed_from is None and server.requests[0].query == JAN
    assert (summary.stored, summary.rejected) == (5, 1)
    assert tmp_store.get_checkpoint(harvester.checkpoint_name) is None


def test_checkpoints_are_keyed_by_harvest_parameters(oai_settings, tmp_store):
    a = OaiHarvester(oai_settings, tmp_store, **JAN_RANGE)
    b = OaiHarvester(oai_settings, tmp_store, from_=date(2024, 1, 15), until=date(2024, 1, 17))
    c = OaiHarvester(oai_settings, tmp_store, prefix="arXivRaw", **JAN_RANGE)
    assert len({a.checkpoint_name, b.checkpoint_name, c.checkpoint_name}) == 3
    with pytest.raises(ValueError, match="unsupported metadataPrefix"):
        OaiHarvester(oai_settings, tmp_store, prefix="oai_dc")


def test_xml_with_a_dtd_is_refused():
    with pytest.raises(BadXml):
        parse_xml(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    with pytest.raises(BadXml):
        parse_xml(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;&a;</x>')
