"""Claiming authorship on the web: the display name, the paper page's button, the admin queue
(approve / refuse, recorded) and the public profile that lists approved papers."""

from __future__ import annotations

import pytest

from .conftest import signup
from .test_library_pages import ROBOT, SMOE, new_collection, post, save

CLAIM = "I am an author of this paper"


def _author(client, name: str, display: str) -> None:
    signup(client, name)
    r = post(client, "/account/display-name", {"display_name": display})
    assert r.status_code == 303 and r.headers["location"] == "/account?done=name"


@pytest.fixture
def admin(make_client, loaded_store):
    """An admin's browser, signed up before anyone else (the first user is an admin anyway)."""
    browser = make_client()
    signup(browser, "root")
    loaded_store.set_admin("root", True)
    return browser


def test_claim_is_approved_by_an_admin_and_shows_on_paper_and_profile(admin, client, make_client, loaded_store):
    _author(client, "kurt", "K. Godel")  # initial and diacritics folded against "Kurt Gödel"
    assert 'value="K. Godel"' in client.get("/account").text
    page = client.get(f"/papers/{ROBOT}").text
    assert CLAIM in page and "as Kurt Gödel" in page
    r = post(client, f"/papers/{ROBOT}/claim")
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{ROBOT}?claimed=1#authorship"
    page = client.get(r.headers["location"]).text
    assert "waiting for an admin" in page and CLAIM not in page

    # the queue is for admins only; everyone else finds nothing there
    assert client.get("/admin/claims").status_code == 404
    assert make_client().get("/admin/claims").status_code == 404
    (claim,) = loaded_store.claims(status="pending")
    assert post(client, f"/admin/claims/{claim.id}/approve").status_code == 404
    queue = admin.get("/admin/claims").text
    assert 'href="/u/kurt"' in queue and "Diffusion Policies for Robot Grasping" in queue and "Kurt Gödel" in queue
    r = post(admin, f"/admin/claims/{claim.id}/approve")
    assert r.status_code == 303 and r.headers["location"] == "/admin/claims?done=approved"
    (decided,) = loaded_store.claims(user_id=claim.user_id)
    assert decided.status == "approved" and decided.decided_at is not None
    assert "No claims to review" in admin.get("/admin/claims").text
    assert post(admin, f"/admin/claims/{claim.id}/refuse").status_code == 400  # decided once
    assert post(admin, "/admin/claims/999999/approve").status_code == 404

    # the paper shows its confirmed author to everyone, linking the profile
    visitor = make_client()
    page = visitor.get(f"/papers/{ROBOT}").text
    assert 'href="/u/kurt"' in page and "@kurt" in page
    assert "your profile" in client.get(f"/papers/{ROBOT}").text

    # the profile lists approved papers and public collections, nothing private
    public = new_collection(client, loaded_store, "kurt", "Logic classics", public=True)
    new_collection(client, loaded_store, "kurt", "Private drafts")
    save(client, SMOE, collection_id=str(public.id), note="secret remark")
    profile = visitor.get("/u/kurt").text
    assert "Diffusion Policies for Robot Grasping" in profile and "K. Godel" in profile
    assert f'href="/c/{public.share_token}"' in profile and "Logic classics" in profile
    assert "Private drafts" not in profile and "secret remark" not in profile
    assert visitor.get("/u/nobody-at-all").status_code == 404


def test_no_button_and_a_clear_refusal_without_a_matching_name(client, loaded_store):
    signup(client, "stranger")
    assert CLAIM not in client.get(f"/papers/{ROBOT}").text
    r = post(client, f"/papers/{ROBOT}/claim")
    assert r.status_code == 403 and "set your display name" in r.text
    post(client, "/account/display-name", {"display_name": "Nobody Special"})
    assert CLAIM not in client.get(f"/papers/{ROBOT}").text
    r = post(client, f"/papers/{ROBOT}/claim")
    assert r.status_code == 403 and "matches none of this paper" in r.text
    assert post(client, "/papers/9999.99999/claim").status_code == 404
    assert loaded_store.claims() == []


def test_claim_needs_login_and_csrf(client, loaded_store):
    r = post(client, f"/papers/{ROBOT}/claim")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    _author(client, "ada", "Ada Lovelace")
    assert client.post(f"/papers/{ROBOT}/claim", follow_redirects=False).status_code == 403  # no CSRF token
    assert loaded_store.claims() == []


def test_a_refused_claim_is_recorded_and_may_be_asked_again(admin, client, make_client, loaded_store):
    _author(client, "grace", "Grace Hopper")
    post(client, f"/papers/{SMOE}/claim")
    (claim,) = loaded_store.claims()
    r = post(admin, f"/admin/claims/{claim.id}/refuse")
    assert r.headers["location"] == "/admin/claims?done=refused"
    (refused,) = loaded_store.claims()
    assert refused.status == "refused" and refused.decided_at is not None
    assert "refused" in admin.get("/admin/claims").text  # in the decided list
    page = client.get(f"/papers/{SMOE}").text
    assert "refused your earlier claim" in page and CLAIM in page
    assert "@grace" not in page and "Sparse Mixture" not in make_client().get("/u/grace").text
    post(client, f"/papers/{SMOE}/claim")
    assert [c.status for c in loaded_store.claims()] == ["pending"]


def test_display_name_too_long_is_a_clear_400(client):
    signup(client, "verbose")
    r = post(client, "/account/display-name", {"display_name": "x" * 200})
    assert r.status_code == 400 and "at most 120 characters" in r.text
