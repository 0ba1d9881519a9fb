"""/submit and POST /api/papers/index against a local server replaying arXiv's API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from paperboard.web.app import create_app

from ..replay_server import ReplayServer, closed_port
from .conftest import csrf, signup

ARXIV_FIXTURES = Path(__file__).parent.parent / "fixtures" / "arxiv_api"
QUERY = {"id_list": "2401.08001", "start": "0", "max_results": "1"}


@pytest.fixture
def arxiv():
    with ReplayServer(ARXIV_FIXTURES) as server:
        yield server


def _client(settings, store, url: str) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"arxiv_api_url": url}), store))


def test_submit_puts_the_paper_on_todays_feed(settings, loaded_store, arxiv):
    arxiv.route(QUERY, "single.xml", path="/api/query")
    with _client(settings, loaded_store, f"{arxiv.url}/api/query") as client:
        signup(client, "submitter")
        r = client.post("/submit", data={"arxiv": "https://arxiv.org/abs/2401.08001v1",
                                         "csrf_token": csrf(client, "/submit")}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/papers/2401.08001?submitted=1"
        page = client.get(r.headers["location"]).text
        assert "Sparse Mixture-of-Experts Routing Without Load-Balancing Losses" in page
        assert "Submitted by submitter" in page and "on today" in page
        paper = loaded_store.get_paper("2401.08001")
        assert paper.submitted_by == "submitter"
        # embedded at once: findable by meaning before any `paperboard embed` run
        key = loaded_store.paper_keys(["2401.08001"])["2401.08001"]
        assert key in loaded_store.get_vectors("minilm-static-256", [key])
        # Nobody opted in to the stronger model here, so the paper gets none of its vectors.
        assert loaded_store.get_vectors("minilm-l6-int8", [key]) == {}
        assert paper.feed_day == datetime.now(UTC).date()
        today = client.get("/papers", params={"date": paper.feed_day.isoformat()}).text
        assert "submitted by submitter" in today
        # submitting it again finds the stored paper and asks arXiv nothing
        hits = len(arxiv.requests)
        r = client.post("/submit", data={"arxiv": "2401.08001", "csrf_token": csrf(client, "/submit")},
                        follow_redirects=False)  # fmt: skip
        assert r.headers["location"] == "/papers/2401.08001?exists=1" and len(arxiv.requests) == hits


def test_submit_unknown_paper_says_so(settings, loaded_store, arxiv):
    arxiv.route({"id_list": "2501.99999", "start": "0", "max_results": "1"}, "empty.xml", path="/api/query")
    with _client(settings, loaded_store, f"{arxiv.url}/api/query") as client:
        signup(client, "hopeful")
        before = loaded_store.count_papers()
        r = client.post("/submit", data={"arxiv": "2501.99999", "csrf_token": csrf(client, "/submit")})
        assert r.status_code == 404 and "arXiv has no paper 2501.99999" in r.text
        assert loaded_store.count_papers() == before


def test_submit_offline_stores_nothing_and_says_why(settings, loaded_store):
    with _client(settings, loaded_store, f"http://127.0.0.1:{closed_port()}/api/query") as client:
        signup(client, "offline")
        before = loaded_store.count_papers()
        r = client.post("/submit", data={"arxiv": "2401.08001", "csrf_token": csrf(client, "/submit")})
        assert r.status_code == 503 and "cannot be reached" in r.text and "nothing was stored" in r.text
        assert loaded_store.count_papers() == before


def test_submit_rejects_non_arxiv_input(client):
    signup(client, "confused")
    for value in ("", "hello world", "https://evil.example/abs/1234", "<script>alert(1)</script>"):
        r = client.post("/submit", data={"arxiv": value, "csrf_token": csrf(client, "/submit")})
        assert r.status_code == 400, value
        assert "<script>alert" not in r.text


def test_api_index_fetches_and_stores(settings, loaded_store, arxiv):
    arxiv.route(QUERY, "single.xml", path="/api/query")
    with _client(settings, loaded_store, f"{arxiv.url}/api/query") as client:
        signup(client, "indexer")
        headers = {"X-CSRF-Token": csrf(client, "/")}
        r = client.post("/api/papers/index", json={"arxivId": "2401.08001"}, headers=headers)
        assert r.status_code == 201 and r.json()["created"] is True
        assert r.json()["paper"]["submittedBy"] == {"name": "indexer", "fullname": "indexer"}
        r = client.post("/api/papers/index", json={"arxivId": "arXiv:2401.08001"}, headers=headers)
        assert r.status_code == 200 and r.json()["created"] is False
        r = client.post("/api/papers/index", json={"arxivId": "not an id"}, headers=headers)
        assert r.status_code == 400 and "not an arXiv id" in r.json()["detail"]
        r = client.post("/api/papers/index", json={"wrong": "field"}, headers=headers)
        assert r.status_code == 422


def test_submitted_paper_gets_the_stronger_models_vectors_once_it_is_in_use(settings, loaded_store, arxiv):
    from paperboard.search.embedder import load_embedder
    from paperboard.search.embedding import embed_missing

    embed_missing(loaded_store, load_embedder("minilm-l6-int8"), limit=3)  # the installation opted in
    arxiv.route(QUERY, "single.xml", path="/api/query")
    with _client(settings, loaded_store, f"{arxiv.url}/api/query") as client:
        signup(client, "submitter")
        r = client.post("/submit", data={"arxiv": "2401.08001", "csrf_token": csrf(client, "/submit")},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 303
    key = loaded_store.paper_keys(["2401.08001"])["2401.08001"]
    for model in ("minilm-static-256", "minilm-l6-int8", "minilm-l6-int8/title"):
        assert key in loaded_store.get_vectors(model, [key]), model
