"""Upvotes (toggle, exact counts under concurrency) and comments (escaped, owned, moderated)."""

from __future__ import annotations

import threading

from paperboard.web.passwords import hash_password

from .conftest import XSS_TITLE, csrf, signup


def _vote(client, paper_id="2607.00002", **kw):
    return client.post(f"/papers/{paper_id}/upvote", data={"csrf_token": csrf(client, "/")}, **kw)


def test_upvote_toggles_and_never_double_counts(client, loaded_store):
    signup(client, "voter")
    assert loaded_store.get_paper("2607.00002").upvotes == 12
    r = _vote(client, follow_redirects=False)
    assert r.status_code == 303
    assert loaded_store.get_paper("2607.00002").upvotes == 13
    _vote(client)
    assert loaded_store.get_paper("2607.00002").upvotes == 12  # toggled back
    r = client.post("/papers/2607.00002/upvote", headers={"X-CSRF-Token": csrf(client, "/"),
                                                          "Accept": "application/json"})  # fmt: skip
    assert r.json() == {"paper_id": "2607.00002", "upvoted": True, "upvotes": 13}
    assert 'aria-pressed="true"' in client.get("/papers/2607.00002").text


def test_upvote_needs_login_and_csrf(client, loaded_store):
    r = _vote(client, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    signup(client, "sneaky")
    r = client.post("/papers/2607.00002/upvote", follow_redirects=False)
    assert r.status_code == 403
    assert loaded_store.get_paper("2607.00002").upvotes == 12


def test_upvote_unknown_paper_is_404(client):
    signup(client, "lost")
    assert _vote(client, "9999.99999").status_code == 404


def test_a_hundred_concurrent_upvotes_by_one_user_count_once(app, loaded_store, make_client):
    user = loaded_store.create_user("racer", hash_password("longenough"))
    from paperboard.web.tokens import token_hash

    loaded_store.create_api_token(user.id, "t", token_hash("pb_race-token"))
    clients = [make_client() for _ in range(100)]
    barrier = threading.Barrier(100)
    codes: list[int] = []

    def hit(c):
        barrier.wait()
        r = c.post("/api/papers/2607.00001/upvote", headers={"Authorization": "Bearer pb_race-token"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=hit, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 100
    assert loaded_store.get_paper("2607.00001").upvotes == 41


def test_a_hundred_users_voting_concurrently_count_exactly(app, loaded_store, make_client):
    from paperboard.web.tokens import token_hash

    for i in range(100):
        u = loaded_store.create_user(f"crowd{i}", "not-a-real-hash")
        loaded_store.create_api_token(u.id, "t", token_hash(f"pb_crowd-{i}"))
    barrier = threading.Barrier(100)
    clients = [make_client() for _ in range(100)]

    def hit(i):
        barrier.wait()
        for _ in range(2):  # each user votes twice: still one vote each
            clients[i].post("/api/papers/2607.00002/upvote", headers={"Authorization": f"Bearer pb_crowd-{i}"})

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loaded_store.get_paper("2607.00002").upvotes == 112


def test_votes_survive_a_seed_card_merging_into_its_arxiv_paper(client, loaded_store):
    from paperboard.models import Paper

    from .conftest import make_paper

    seed = next(p for p in __import__("paperboard.sources.demo", fromlist=["read"]).read() if isinstance(p, Paper))
    signup(client, "merger")
    assert _vote(client, seed.id).status_code == 200
    before = loaded_store.get_paper(seed.id).upvotes
    loaded_store.upsert_papers([make_paper("2410.05255", seed.title, day=seed.feed_day, upvotes=0)])
    merged = loaded_store.get_paper("2410.05255")
    assert merged.upvotes == before
    r = client.post("/papers/2410.05255/upvote", headers={"X-CSRF-Token": csrf(client, "/"),
                                                          "Accept": "application/json"})  # fmt: skip
    assert r.json()["upvoted"] is False  # the vote moved with the paper: this toggles it off


def test_comments_are_escaped_and_owned(client, make_client, loaded_store):
    signup(client, "writer")  # first user: admin
    other = make_client()
    signup(other, "reader")
    body = '<script>alert("c")</script> **bold** [x](javascript:alert(1)) "><img src=x onerror=alert(2)>'
    r = other.post("/papers/2607.00001/comments", data={"body": body, "csrf_token": csrf(other, "/papers/2607.00001")},
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    html = other.get("/papers/2607.00001").text
    assert "&lt;script&gt;alert(&#34;c&#34;)&lt;/script&gt;" in html or "&lt;script&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert 'href="javascript:' not in html
    assert "<strong>bold</strong>" in html
    comment = loaded_store.list_comments("2607.00001")[0]
    # nobody else's comment can be deleted by a normal user
    third = make_client()
    signup(third, "mallory")
    r = third.post(f"/comments/{comment.id}/delete", data={"csrf_token": csrf(third, "/")})
    assert r.status_code == 403
    # the admin hides it: gone for others, visible (marked) for the admin
    r = client.post(f"/comments/{comment.id}/hide", data={"hidden": "true", "csrf_token": csrf(client, "/")})
    assert r.status_code == 200
    assert "bold" not in third.get("/papers/2607.00001").text
    assert "hidden" in client.get("/papers/2607.00001").text
    # the owner deletes it
    r = other.post(f"/comments/{comment.id}/delete", data={"csrf_token": csrf(other, "/")})
    assert r.status_code == 200 and loaded_store.get_comment(comment.id) is None


def test_comment_counts_show_on_cards(client):
    signup(client, "chatty")
    for text in ("one", "two"):
        client.post("/papers/2607.00002/comments", data={"body": text, "csrf_token": csrf(client, "/")})
    html = client.get("/").text
    card = html[html.index('id="p-2607.00002"'):]
    assert '</svg>2</a>' in card[:3000]


def test_empty_or_huge_comment_is_refused(client):
    signup(client, "terse")
    token = csrf(client, "/")
    assert client.post("/papers/2607.00001/comments", data={"body": "   ", "csrf_token": token}).status_code == 400
    r = client.post("/papers/2607.00001/comments", data={"body": "x" * 6000, "csrf_token": token})
    assert r.status_code == 400


def test_admin_hides_a_paper(client, make_client, loaded_store):
    signup(client, "boss")
    other = make_client()
    signup(other, "pleb")
    r = other.post("/papers/2607.00002/hide", data={"hidden": "true", "csrf_token": csrf(other, "/")})
    assert r.status_code == 403
    client.post("/papers/2607.00002/hide", data={"hidden": "true", "csrf_token": csrf(client, "/")})
    assert "Diffusion Policies" not in other.get("/").text
    assert other.get("/papers/2607.00002").status_code == 404
    assert "hidden from everyone but admins" in client.get("/papers/2607.00002").text
    client.post("/papers/2607.00002/hide", data={"hidden": "false", "csrf_token": csrf(client, "/")})
    assert other.get("/papers/2607.00002").status_code == 200


def test_hostile_paper_fields_render_inert(client):
    for path in ("/", "/papers/2607.00003", "/search?q=robust+attention", "/trending"):
        html = client.get(path).text
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
        assert 'href="javascript:' not in html, path
    assert "&lt;script&gt;" in client.get("/papers/2607.00003").text
    assert XSS_TITLE not in client.get("/papers/2607.00003").text
