"""The arXiv query API client against a local server replaying Atom responses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperboard.ids import InvalidId
from paperboard.models import Paper, RecordError
from paperboard.sources.arxiv_api import PaperNotFound, fetch_paper, fetch_papers
from paperboard.sources.http import HttpClient, SourceError, SourceUnavailable

from .replay_server import ReplayServer, Reply, SleepRecorder, closed_port

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv_api"
# No store is involved: running these again on the PostgreSQL backend would only repeat them.
pytestmark = pytest.mark.sqlite_only


def query(id_list: str, n: int) -> dict[str, str]:
    return {"id_list": id_list, "start": "0", "max_results": str(n)}


@pytest.fixture
def server():
    with ReplayServer(FIXTURES) as s:
        yield s


@pytest.fixture
def api_settings(settings, server):
    return settings.model_copy(update={"arxiv_api_url": f"{server.url}/api/query"})


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def client(api_settings, sleeps):
    with HttpClient(api_settings, sleep=sleeps) as c:
        yield c


def test_fetch_one_paper_for_the_submit_page(server, api_settings, client):
    server.route(query("2401.08001", 1), "single.xml", path="/api/query")
    paper = fetch_paper(
        "https://arxiv.org/abs/2401.08001", api_settings, submitted_by="alice", client=client
    )
    assert paper.id == "2401.08001" and paper.version == 1
    assert paper.title == "Sparse Mixture-of-Experts Routing Without Load-Balancing Losses"
    assert paper.authors == ["Adaeze Okafor", "Maja K. Lindqvist"]
    assert paper.primary_category == "cs.LG"
    assert paper.categories == ["cs.LG", "cs.AI", "stat.ML"]
    assert paper.comment.startswith("12 pages, 4 figures.")
    assert paper.code_urls == ["https://github.com/example/sparse-moe-routing"]
    assert paper.published == datetime(2024, 1, 15, 18, 59, 59, tzinfo=UTC)
    assert paper.feed_day == datetime.now(UTC).date()
    assert paper.submitted_by == "alice"
    assert server.requests[0].headers["User-Agent"].startswith("paperboard/")


def test_fetch_many_ids_in_request_order(server, api_settings, client, sleeps):
    server.route(query("2401.08001,2401.08004v2,hep-th/9901001", 3), "three.xml")
    ids = ["2401.08001", "arXiv:2401.08004v2", "hep-th/9901001", "2401.08001v1"]
    items = list(fetch_papers(ids, api_settings, feed_day=date(2024, 1, 17), client=client))

    assert all(isinstance(i, Paper) for i in items)
    assert [i.id for i in items] == ["2401.08001", "2401.08004", "hep-th/9901001"]
    assert {i.feed_day for i in items} == {date(2024, 1, 17)}
    rad = items[1]
    assert rad.version == 2
    assert rad.categories == ["cs.CL", "cs.SE"]  # ACM "I.2.7" and MSC "68T50" are not arXiv's
    assert rad.project_urls == ["https://example.org/rad-code"]
    old = items[2]
    assert old.version == 3 and old.doi == "10.1103/PhysRevD.59.114007"  # from the doi link
    assert old.journal_ref == "Phys.Rev. D59 (1999) 114007"
    assert sleeps.waits == []  # one batch, no politeness pause


def test_batches_are_spaced_by_three_seconds(server, api_settings, client, sleeps):
    server.route(query("2401.08001", 1), "single.xml")
    server.route(query("hep-th/9901001", 1), "old-style.xml")
    items = list(
        fetch_papers(["2401.08001", "hep-th/9901001"], api_settings, batch_size=1, client=client)
    )
    assert [i.id for i in items] == ["2401.08001", "hep-th/9901001"]
    assert items[1].doi == "10.1103/PhysRevD.59.114007" and items[1].authors == [
        "C. Balazs",
        "C. -P. Yuan",
    ]
    assert sleeps.waits == [3.0]


def test_default_batches_hold_100_ids(server, api_settings, client, sleeps):
    ids = [f"2402.{n:05d}" for n in range(101)]
    server.route(query(",".join(ids[:100]), 100), "empty.xml")
    server.route(query(ids[100], 1), "empty.xml")
    items = list(fetch_papers(ids, api_settings, client=client))
    assert len(items) == 101 and server.unmatched == []
    assert {i.reason for i in items} == {"not found on arXiv"}
    assert sleeps.waits == [3.0]


def test_unknown_id_is_a_record_error_and_the_rest_lands(server, api_settings, client):
    server.route(query("2401.08001,2401.99999", 2), "unknown-mixed.xml")
    items = list(fetch_papers(["2401.08001", "2401.99999"], api_settings, client=client))
    assert isinstance(items[0], Paper) and items[0].id == "2401.08001"
    assert items[1] == RecordError("arxiv-api", "2401.99999", "not found on arXiv")


def test_fetch_paper_not_found(server, api_settings, client):
    server.route(query("2501.99999", 1), "empty.xml")
    with pytest.raises(PaperNotFound, match="arXiv has no paper 2501.99999"):
        fetch_paper("2501.99999", api_settings, client=client)


def test_api_error_entry_is_reported(server, api_settings, client):
    server.route(query("1234.12345", 1), Reply(400, FIXTURES / "bad-id-400.xml"))
    items = list(fetch_papers(["1234.12345"], api_settings, client=client))
    assert items == [
        RecordError(
            "arxiv-api", "1234.12345", "arXiv API error: incorrect id format for 1234.12345"
        )
    ]
    with pytest.raises(SourceError, match="incorrect id format") as exc:
        fetch_paper("1234.12345", api_settings, client=client)
    assert not isinstance(exc.value, PaperNotFound)


def test_invalid_ids_are_rejected_without_a_request(server, api_settings, client):
    items = list(fetch_papers(["not an id", "<script>"], api_settings, client=client))
    assert [type(i) for i in items] == [RecordError, RecordError]
    assert server.requests == []
    with pytest.raises(InvalidId):
        fetch_paper("javascript:alert(1)", api_settings, client=client)


def test_unreadable_response_is_a_record_error_per_id(server, api_settings, client):
    server.route(
        query("2401.08001,2401.08002", 2), Reply(200, "<html>Service notice", {}, "text/html")
    )
    items = list(fetch_papers(["2401.08001", "2401.08002"], api_settings, client=client))
    assert [i.position for i in items] == ["2401.08001", "2401.08002"]
    assert all(i.reason.startswith("unreadable API response (HTTP 200)") for i in items)


def test_offline_gives_clear_source_unavailable(settings, sleeps):
    offline = settings.model_copy(
        update={
            "arxiv_api_url": f"http://127.0.0.1:{closed_port()}/api/query",
            "http_max_retries": 0,
        }
    )
    with HttpClient(offline, sleep=sleeps) as c, pytest.raises(SourceUnavailable) as exc:
        fetch_paper("2401.08001", offline, client=c)
    assert str(exc.value).startswith("cannot reach 127.0.0.1 (offline?): ")
    assert sleeps.waits == []
