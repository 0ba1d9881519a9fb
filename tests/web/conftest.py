"""Web fixtures: a real store with the demo corpus plus hand-made papers, the app, clients."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from paperboard.models import Paper
from paperboard.sources import demo
from paperboard.web.app import create_app

XSS_TITLE = '<script>alert("t")</script>"><img src=x onerror=alert(1)> Robust Attention'
XSS_ABSTRACT = (
    'We show <script>alert("a")</script> that "><img src=x onerror=alert(2)> attention '
    "works. Code: javascript:alert(3) and https://github.com/example/robust-attn."
)
FEED_DAY = date(2026, 7, 1)


def make_paper(pid: str, title: str, *, day: date = FEED_DAY, upvotes: int = 0, **extra) -> Paper:
    fields = {
        "id": pid,
        "title": title,
        "abstract": extra.pop("abstract", f"We study {title.lower()}. It is good."),
        "authors": extra.pop("authors", ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Kurt Gödel"]),
        "categories": extra.pop("categories", ["cs.CL", "cs.LG"]),
        "published": extra.pop("published", datetime(2026, 6, 30, 12, tzinfo=UTC)),
        "feed_day": day,
        "upvotes": upvotes,
        **extra,
    }
    return Paper(**fields)


def sample_papers() -> list[Paper]:
    return [
        make_paper("2607.00001", "Sparse Mixture of Experts for Long Context", upvotes=40,
                   organization="DeepLab", code_urls=["https://github.com/deeplab/smoe"]),
        make_paper("2607.00002", "Diffusion Policies for Robot Grasping", upvotes=12,
                   categories=["cs.RO"], organization="RoboOrg"),
        make_paper("2607.00003", XSS_TITLE, abstract=XSS_ABSTRACT, upvotes=3,
                   organization='Evil"><script>alert(4)</script>',
                   project_urls=["javascript:alert(5)"]),
        make_paper("2606.00004", "Yesterday's Paper on Retrieval Augmented Generation",
                   day=date(2026, 6, 30), upvotes=100),
        make_paper("2605.00005", "An Older Paper about Graph Neural Networks",
                   day=date(2026, 5, 15), upvotes=500),
    ]  # fmt: skip


@pytest.fixture
def loaded_store(tmp_store):
    tmp_store.upsert_papers([p for p in demo.read() if isinstance(p, Paper)])
    tmp_store.upsert_papers(sample_papers())
    return tmp_store


@pytest.fixture
def app(settings, loaded_store):
    return create_app(settings, loaded_store)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def make_client(app):
    """More independent browsers (each with its own cookies)."""
    made = []

    def factory() -> TestClient:
        c = TestClient(app)
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    m = _TOKEN.search(page.text)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def signup(client: TestClient, username: str, password: str = "correct horse battery") -> None:
    r = client.post(
        "/signup",
        data={"username": username, "password": password, "csrf_token": csrf(client, "/signup")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    assert "pb_session" in client.cookies


def login(client: TestClient, username: str, password: str = "correct horse battery"):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(client, "/login")},
        follow_redirects=False,
    )
