"""/api/library, /api/collections, /api/dismissals: the caller's data, and only theirs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from paperboard.web.tokens import new_api_token, token_hash


@pytest.fixture
def bearer(loaded_store):
    """Make a user and an API token for them; returns Authorization headers."""

    def make(username: str) -> dict[str, str]:
        user = loaded_store.create_user(username, "x")
        token = new_api_token()
        loaded_store.create_api_token(user.id, "test", token_hash(token))
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def bare(app):
    with TestClient(app) as c:
        yield c


def test_save_list_note_unsave(bare, bearer):
    ada = bearer("ada")
    assert bare.get("/api/library").status_code == 401
    r = bare.post("/api/library", json={"paper_id": "2607.00001", "note": "for the reading group"}, headers=ada)
    assert r.status_code == 200 and r.json() == {"paper_id": "2607.00001", "created": True}
    assert bare.post("/api/library", json={"paper_id": "2607.00001"}, headers=ada).json()["created"] is False
    bare.post("/api/library", json={"paper_id": "2607.00002"}, headers=ada)
    items = bare.get("/api/library", headers=ada).json()
    assert [i["paper"]["id"] for i in items] == ["2607.00002", "2607.00001"]
    assert items[1]["note"] == "for the reading group" and items[1]["paper"]["saved"] is True
    # Paper objects everywhere carry the caller's marks; anonymous ones do not.
    assert bare.get("/api/papers/2607.00001", headers=ada).json()["saved"] is True
    assert bare.get("/api/papers/2607.00001").json()["saved"] is None
    daily = bare.get("/api/daily_papers", params={"date": "2026-07-01"}, headers=ada).json()
    assert {e["paper"]["id"]: e["paper"]["saved"] for e in daily}["2607.00001"] is True
    assert bare.delete("/api/library/2607.00001", headers=ada).json()["changed"] is True
    assert [i["paper"]["id"] for i in bare.get("/api/library", headers=ada).json()] == ["2607.00002"]


def test_bad_input_is_refused_and_nothing_changes(bare, bearer):
    ada = bearer("ada")
    assert bare.post("/api/library", json={"paper_id": "2699.99999"}, headers=ada).status_code == 404
    assert bare.post("/api/library", json={"paper_id": "2607.00001", "note": "x" * 5000}, headers=ada).status_code == 422
    assert bare.post("/api/library", json={"paper_id": "2607.00001", "extra": 1}, headers=ada).status_code == 422
    assert bare.post("/api/collections", json={"name": " "}, headers=ada).status_code == 400
    assert bare.get("/api/library", headers=ada).json() == []


def test_collections_are_private_to_their_owner(bare, bearer):
    ada, bob = bearer("ada"), bearer("bob")
    name = "<script>alert(1)</script> reading"
    c = bare.post("/api/collections", json={"name": name}, headers=ada).json()
    assert c["name"] == name and c["public"] is False and c["share_url"] is None
    assert bare.post(f"/api/collections/{c['id']}/papers", json={"paper_id": "2607.00002"}, headers=ada).status_code == 200
    detail = bare.get(f"/api/collections/{c['id']}", headers=ada).json()
    assert [p["id"] for p in detail["papers"]] == ["2607.00002"] and detail["size"] == 1
    # Bob sees nothing and can change nothing: 404s, as for a collection that does not exist.
    for method, path, body in (
        ("get", f"/api/collections/{c['id']}", None),
        ("patch", f"/api/collections/{c['id']}", {"public": True}),
        ("delete", f"/api/collections/{c['id']}", None),
        ("post", f"/api/collections/{c['id']}/papers", {"paper_id": "2607.00001"}),
        ("delete", f"/api/collections/{c['id']}/papers/2607.00002", None),
        ("get", f"/api/library?collection={c['id']}", None),
        ("get", "/api/collections/999999", None),
    ):
        r = bare.request(method.upper(), path, json=body, headers=bob)
        assert r.status_code == 404, (method, path, r.status_code)
    assert bare.get("/api/collections", headers=bob).json() == []
    assert bare.get("/api/library", headers=bob).json() == []
    # Ada publishes it: a share link appears; Bob's API still reads only his own.
    public = bare.patch(f"/api/collections/{c['id']}", json={"public": True}, headers=ada).json()
    assert public["share_url"].endswith("/c/" + public["share_url"].rsplit("/", 1)[1])
    assert bare.get(f"/api/collections/{c['id']}", headers=bob).status_code == 404
    assert bare.delete(f"/api/collections/{c['id']}", headers=ada).status_code == 204
    assert [i["paper"]["id"] for i in bare.get("/api/library", headers=ada).json()] == ["2607.00002"]


def test_dismissals_round_trip(bare, bearer):
    ada, bob = bearer("ada"), bearer("bob")
    assert bare.post("/api/dismissals", json={"paper_id": "2607.00001"}, headers=ada).json()["changed"] is True
    assert [p["id"] for p in bare.get("/api/dismissals", headers=ada).json()] == ["2607.00001"]
    assert bare.get("/api/dismissals", headers=bob).json() == []
    assert bare.get("/api/papers/2607.00001", headers=ada).json()["dismissed"] is True
    assert bare.delete("/api/dismissals/2607.00001", headers=ada).json()["changed"] is True
    assert bare.get("/api/dismissals", headers=ada).json() == []


def test_session_writes_need_the_csrf_header(client):
    from tests.web.conftest import signup

    signup(client, "carol")
    assert client.post("/api/library", json={"paper_id": "2607.00001"}).status_code == 403
    assert client.get("/api/library").status_code == 200


def test_openapi_lists_the_library_routes(bare):
    paths = bare.get("/openapi.json").json()["paths"]
    for path in ("/api/library", "/api/collections", "/api/collections/{collection_id}", "/api/dismissals",
                 "/api/recommendations", "/api/library/export"):  # fmt: skip
        assert path in paths, path


def test_recommendations_learn_from_the_callers_saves_only(bare, bearer, loaded_store):
    from paperboard.search.query import parse_query

    ada, bob = bearer("ada"), bearer("bob")
    day = "2025-11-03"  # the demo corpus's day
    cold = bare.get("/api/recommendations", params={"date": day, "limit": 5}, headers=ada).json()
    assert len(cold) == 5 and all(r["reason"].startswith("trending") and r["score"] is None for r in cold)
    robots = [h.paper.id for h in loaded_store.keyword_search(parse_query("robot policy"), None, limit=10, match="any")]
    for pid in robots[:3]:
        bare.post("/api/library", json={"paper_id": pid}, headers=ada)
    bare.post("/api/dismissals", json={"paper_id": robots[3]}, headers=ada)
    warm = bare.get("/api/recommendations", params={"date": day, "limit": 100}, headers=ada).json()
    ids = [r["paper"]["id"] for r in warm]
    assert warm and not set(ids) & set(robots[:4])
    explained = [r for r in warm if r["because"] is not None]
    assert len(explained) > len(warm) // 2 and warm[0] in explained
    assert all(r["reason"].startswith("because you saved") and r["because"] in robots[:3] for r in explained)
    assert all(r["paper"]["saved"] is False and r["paper"]["dismissed"] is False for r in warm)
    # Bob's list knows nothing of Ada's: still cold, and Ada's dismissal does not hide it from him.
    his = bare.get("/api/recommendations", params={"date": day, "limit": 100}, headers=bob).json()
    assert all(r["reason"].startswith("trending") for r in his) and robots[3] in [r["paper"]["id"] for r in his]
    assert bare.get("/api/recommendations").status_code == 401
    assert bare.get("/api/recommendations", params={"date": day, "week": "2025-W45"}, headers=ada).status_code == 400
