"""Sign up, log in/out, password change, rate limiting, CSRF, sessions."""

from __future__ import annotations

from .conftest import csrf, login, signup


def test_signup_logs_in_and_first_user_is_admin(client, make_client, loaded_store):
    signup(client, "alice")
    assert "alice" in client.get("/").text
    assert loaded_store.get_user_by_name("ALICE").is_admin  # names are case-insensitive
    other = make_client()
    signup(other, "bob")
    assert not loaded_store.get_user_by_name("bob").is_admin


def test_password_is_hashed_with_argon2(client, loaded_store):
    signup(client, "carol", "a very secret phrase")
    user = loaded_store.get_user_by_name("carol")
    stored = loaded_store.get_password_hash(user.id)
    assert stored.startswith("$argon2") and "a very secret phrase" not in stored


def test_signup_rejects_bad_input_with_messages(client, make_client):
    token = csrf(client, "/signup")
    for data, message in (
        ({"username": "x", "password": "longenough"}, "3 to 32"),
        ({"username": "<script>", "password": "longenough"}, "3 to 32"),
        ({"username": "dave", "password": "short"}, "at least 8"),
        ({"username": "dave", "password": "longenough", "email": "not-an-email"}, "email"),
    ):
        r = client.post("/signup", data={**data, "csrf_token": token})
        assert r.status_code == 400 and message in r.text, data
    signup(client, "dave")
    other = make_client()
    r = other.post("/signup", data={"username": "DAVE", "password": "longenough", "csrf_token": csrf(other, "/signup")})
    assert r.status_code == 400 and "taken" in r.text


def test_login_logout_cycle(client, make_client):
    signup(client, "erin")
    r = client.post("/logout", data={"csrf_token": csrf(client, "/")}, follow_redirects=False)
    assert r.status_code == 303
    assert "erin" not in client.get("/").text
    assert login(client, "erin", "wrong password").status_code == 400
    r = login(client, "erin")
    assert r.status_code == 303 and "erin" in client.get("/").text


def test_session_cookie_flags(client):
    token = csrf(client, "/signup")
    r = client.post("/signup", data={"username": "frank", "password": "longenough", "csrf_token": token},
                    follow_redirects=False)  # fmt: skip
    cookie = r.headers["set-cookie"].lower()
    assert "pb_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_login_redirects_only_to_local_paths(client):
    signup(client, "gina")
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    for target, expected in (("/papers/2607.00001", "/papers/2607.00001"), ("https://evil.example", "/"),
                             ("//evil.example", "/")):  # fmt: skip
        r = client.post("/login", data={"username": "gina", "password": "correct horse battery",
                                         "next": target, "csrf_token": csrf(client, "/login")},
                        follow_redirects=False)  # fmt: skip
        assert r.headers["location"] == expected
        client.post("/logout", data={"csrf_token": csrf(client, "/")})


def test_login_is_rate_limited(client):
    signup(client, "henry")
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    for _ in range(5):
        assert login(client, "henry", "wrong password").status_code == 400
    r = login(client, "henry")  # even the right password is refused while blocked
    assert r.status_code == 429 and "Too many failed attempts" in r.text


def test_forms_without_csrf_token_are_refused(client, loaded_store):
    r = client.post("/signup", data={"username": "ivan", "password": "longenough"})
    assert r.status_code == 403
    client.get("/")  # get a CSRF cookie
    r = client.post("/signup", data={"username": "ivan", "password": "longenough", "csrf_token": "forged"})
    assert r.status_code == 403
    r = client.post(
        "/signup", data={"username": "ivan", "password": "longenough", "csrf_token": csrf(client, "/signup")},
        headers={"Origin": "https://evil.example"},
    )  # fmt: skip
    assert r.status_code == 403
    assert loaded_store.get_user_by_name("ivan") is None


def test_password_change_ends_other_sessions(client, make_client):
    signup(client, "judy", "first password")
    other = make_client()
    assert login(other, "judy", "first password").status_code == 303
    r = client.post("/account/password", data={"current": "wrong", "new": "second password",
                                                "csrf_token": csrf(client, "/account")})  # fmt: skip
    assert r.status_code == 400 and "current password is wrong" in r.text
    r = client.post("/account/password", data={"current": "first password", "new": "second password",
                                                "csrf_token": csrf(client, "/account")}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert "judy" in client.get("/").text  # this session stays
    assert "judy" not in other.get("/").text  # the other one is gone
    assert login(other, "judy", "second password").status_code == 303


def test_account_page_needs_login(client):
    r = client.get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_account_page_links_to_email_digests(client):
    signup(client, "reader")
    page = client.get("/account").text
    assert 'href="/account/alerts"' in page
    assert client.get("/account/alerts").status_code == 200
