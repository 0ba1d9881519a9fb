"""The library on the web: Save on every card, the library page (notes, collections,
dismissals), public collections with share links and feeds, export and import, and privacy
between two users (another user's things answer 404, never 403)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import bibtexparser
import pytest
import rispy
from fastapi.testclient import TestClient

from paperboard.web.app import create_app

from ..replay_server import ReplayServer, closed_port
from .conftest import csrf, signup

SMOE, ROBOT, XSS, OLD = "2607.00001", "2607.00002", "2607.00003", "2605.00005"


def post(client: TestClient, path: str, data: dict | None = None, **kw):
    """A form post with the page's CSRF token, not following the redirect."""
    kw.setdefault("follow_redirects", False)
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client, "/")}, **kw)


def save(client: TestClient, paper_id: str, **fields):
    r = post(client, "/library/save", {"paper_id": paper_id, **fields})
    assert r.status_code == 303, r.text[:300]
    return r


def new_collection(client: TestClient, store, user: str, name: str, public: bool = False):
    r = post(client, "/collections", {"name": name, **({"public": "on"} if public else {})})
    assert r.status_code == 303, r.text[:300]
    uid = store.get_user_by_name(user).id
    return next(c for c in store.collections(uid) if c.name == name)


def card_html(html: str, paper_id: str) -> str:
    start = html.index(f'id="p-{paper_id}"')
    return html[start : html.index("</article>", start)]


def titles_in_order(html: str, ids: list[str]) -> list[str]:
    return sorted((i for i in ids if f'id="p-{i}"' in html), key=lambda i: html.index(f'id="p-{i}"'))


def test_save_from_a_card_shows_saved_everywhere_and_unsave_reverses(client, loaded_store):
    signup(client, "reader")
    before = card_html(client.get("/").text, ROBOT)
    assert 'action="/library/save"' in before and 'aria-pressed="false"' in before and ">Save</button>" in before
    r = save(client, ROBOT, next=f"/#p-{ROBOT}")
    assert r.headers["location"] == f"/#p-{ROBOT}"
    uid = loaded_store.get_user_by_name("reader").id
    assert loaded_store.saved_ids(uid, [ROBOT, SMOE]) == {ROBOT}
    for page in ("/", "/search?q=robot+grasping"):
        card = card_html(client.get(page).text, ROBOT)
        assert 'action="/library/unsave"' in card and ">Saved</button>" in card, page
        assert 'class="save-btn saved" aria-pressed="true"' in card, page
    paper = client.get(f"/papers/{ROBOT}").text
    assert 'action="/library/unsave"' in paper and "Saved</button>" in paper
    # saving twice keeps one save; unsave takes it away
    save(client, ROBOT)
    assert loaded_store.library_size(uid) == 1
    r = post(client, "/library/unsave", {"paper_id": ROBOT, "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert loaded_store.saved_ids(uid, [ROBOT]) == set()
    assert ">Saved</button>" not in card_html(client.get("/").text, ROBOT)


def test_save_answers_json_to_a_script(client, loaded_store):
    signup(client, "scripted")
    r = client.post("/library/save", data={"paper_id": SMOE},
                    headers={"X-CSRF-Token": csrf(client, "/"), "Accept": "application/json"})  # fmt: skip
    assert r.json() == {"paper_id": SMOE, "saved": True, "created": True}


def test_logged_out_save_goes_to_login_and_back(client, loaded_store):
    card = card_html(client.get("/").text, ROBOT)
    assert 'href="/login?next=%2F"' in card and "/library/save" not in card
    r = client.post("/library/save", data={"paper_id": ROBOT, "csrf_token": csrf(client, "/")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    signup(client, "latecomer")
    r = client.get("/library/save", follow_redirects=False)  # where the login form returns
    assert r.status_code == 303 and r.headers["location"] == "/library"


def test_save_needs_csrf_and_refuses_unknown_or_hidden_papers(client, loaded_store):
    signup(client, "careful")
    r = client.post("/library/save", data={"paper_id": ROBOT}, follow_redirects=False)
    assert r.status_code == 403
    assert post(client, "/library/save", {"paper_id": "9999.99999"}).status_code == 404
    loaded_store.set_hidden(OLD, True)
    assert post(client, "/library/save", {"paper_id": OLD}).status_code == 404
    assert post(client, "/library/save", {"paper_id": ROBOT, "next": "https://evil.example/"}).headers[
        "location"
    ] == "/library"  # never an open redirect
    assert loaded_store.library_size(loaded_store.get_user_by_name("careful").id) == 1


def test_library_lists_newest_first_and_filters_by_collection(client, loaded_store):
    signup(client, "collector")
    for pid in (OLD, SMOE, ROBOT):
        save(client, pid)
    page = client.get("/library").text
    assert titles_in_order(page, [OLD, SMOE, ROBOT]) == [ROBOT, SMOE, OLD]
    assert "3 saved papers" in page
    reading = new_collection(client, loaded_store, "collector", "Reading group")
    save(client, SMOE, collection_id=str(reading.id), next="/library")
    filtered = client.get("/library", params={"collection": reading.id}).text
    assert titles_in_order(filtered, [OLD, SMOE, ROBOT]) == [SMOE]
    assert "<h1>Reading group</h1>" in filtered
    # the library shows where each paper is filed, with a remove button
    item = client.get("/library").text
    assert f'action="/collections/{reading.id}/remove"' in item
    r = post(client, f"/collections/{reading.id}/remove", {"paper_id": SMOE, "next": "/library"})
    assert r.status_code == 303
    assert titles_in_order(client.get("/library", params={"collection": reading.id}).text, [SMOE]) == []
    assert SMOE in {i.paper.id for i in loaded_store.library(loaded_store.get_user_by_name("collector").id)}
    assert client.get("/library", params={"collection": "999999"}).status_code == 404
    assert client.get("/library", params={"collection": "abc"}).status_code == 404


def test_library_needs_login(client):
    r = client.get("/library", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Flibrary"


def test_notes_are_saved_edited_and_cleared(client, loaded_store):
    signup(client, "annotator")
    save(client, ROBOT)
    r = post(client, "/library/note", {"paper_id": ROBOT, "note": "Read section 3 before Friday", "next": "/library"})
    assert r.status_code == 303
    assert "Read section 3 before Friday</textarea>" in client.get("/library").text
    post(client, "/library/note", {"paper_id": ROBOT, "note": "Done"})
    assert ">Done</textarea>" in client.get("/library").text
    post(client, "/library/note", {"paper_id": ROBOT, "note": ""})
    assert loaded_store.library(loaded_store.get_user_by_name("annotator").id)[0].note is None
    # a note on an unsaved paper is refused, clearly
    r = post(client, "/library/note", {"paper_id": SMOE, "note": "hmm"})
    assert r.status_code == 404 and "save the paper first" in r.text
    assert post(client, "/library/note", {"paper_id": ROBOT, "note": "x" * 2500}).status_code == 400


def test_not_interested_and_undo_from_the_library(client, loaded_store):
    signup(client, "picky")
    save(client, SMOE)
    r = post(client, "/library/dismiss", {"paper_id": SMOE, "next": "/"})
    assert r.status_code == 303
    uid = loaded_store.get_user_by_name("picky").id
    assert loaded_store.dismissed_ids(uid, [SMOE]) == {SMOE} and loaded_store.library_size(uid) == 0
    page = client.get("/library").text
    section = page[page.index('id="dismissed"') :]
    assert "Sparse Mixture of Experts" in section and 'action="/library/undismiss"' in section
    r = post(client, "/library/undismiss", {"paper_id": SMOE, "next": "/library#dismissed"})
    assert r.headers["location"] == "/library#dismissed"
    assert loaded_store.dismissed_ids(uid, [SMOE]) == set()
    assert "Sparse Mixture of Experts" not in client.get("/library").text.split('id="dismissed"')[1]


def test_cards_offer_not_interested_only_when_asked(client, app, loaded_store):
    """The For-you page passes ``dismissable=true``; ordinary listings have no such button."""
    signup(client, "feedback")
    assert "Not interested" not in client.get("/").text
    post(client, "/library/dismiss", {"paper_id": ROBOT})
    env = app.state.templates.env
    from paperboard.web.views import Card

    macro = env.from_string('{% from "_macros.html" import card with context %}{{ card(c, "/for-you", dismissable=true) }}')
    uid = loaded_store.get_user_by_name("feedback").id
    html = macro.render(c=Card(loaded_store.get_paper(ROBOT), dismissed=True), user=uid, csrf_token="t")
    assert 'action="/library/undismiss"' in html and "Undo not interested" in html
    html = macro.render(c=Card(loaded_store.get_paper(SMOE)), user=uid, csrf_token="t")
    assert 'action="/library/dismiss"' in html and ">Not interested</button>" in html


def test_collections_create_rename_publish_delete(client, loaded_store):
    signup(client, "curator")
    coll = new_collection(client, loaded_store, "curator", "Robots")
    assert not coll.is_public
    assert post(client, "/collections", {"name": "Robots"}).status_code == 400  # the name is taken
    assert post(client, "/collections", {"name": "   "}).status_code == 400
    r = post(client, f"/collections/{coll.id}/rename", {"name": "Robot learning"})
    assert r.status_code == 303 and r.headers["location"] == f"/collections/{coll.id}"
    r = post(client, f"/collections/{coll.id}/visibility", {"public": "true"})
    page = client.get(f"/collections/{coll.id}").text
    assert "<h1>Robot learning</h1>" in page and "Make private" in page and f"/c/{coll.share_token}" in page
    save(client, ROBOT, collection_id=str(coll.id))
    r = post(client, f"/collections/{coll.id}/delete")
    assert r.status_code == 303 and r.headers["location"] == "/library"
    uid = loaded_store.get_user_by_name("curator").id
    assert loaded_store.collections(uid) == [] and loaded_store.library_size(uid) == 1  # papers stay
    assert client.get(f"/collections/{coll.id}").status_code == 404


def test_public_collection_share_link_and_feeds(client, make_client, loaded_store):
    signup(client, "sharer")
    coll = new_collection(client, loaded_store, "sharer", "Mixtures", public=True)
    save(client, SMOE, collection_id=str(coll.id))
    save(client, ROBOT, collection_id=str(coll.id))
    save(client, OLD)  # saved, not in the collection
    stranger = make_client()
    page = stranger.get(f"/c/{coll.share_token}")
    assert page.status_code == 200 and "Mixtures" in page.text and "Sparse Mixture of Experts" in page.text
    assert "Older Paper about Graph" not in page.text and 'href="/u/sharer"' in page.text
    assert "textarea" not in page.text  # no notes, no settings for a visitor
    assert stranger.get(f"/collections/{coll.id}").status_code == 200
    rss = stranger.get(f"/c/{coll.share_token}/feed.xml")
    assert rss.headers["content-type"].startswith("application/rss+xml")
    items = [i.findtext("title") for i in ET.fromstring(rss.content).iter("item")]
    assert items == ["Diffusion Policies for Robot Grasping", "Sparse Mixture of Experts for Long Context"]
    atom = stranger.get(f"/c/{coll.share_token}/feed.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    assert len(ET.fromstring(atom.content).findall("{http://www.w3.org/2005/Atom}entry")) == 2
    # made private: the link, the feeds and the page die for everyone but the owner
    post(client, f"/collections/{coll.id}/visibility", {"public": "false"})
    for path in (f"/c/{coll.share_token}", f"/c/{coll.share_token}/feed.xml", f"/c/{coll.share_token}/feed.atom",
                 f"/c/{coll.share_token}/export?format=bibtex", f"/collections/{coll.id}"):  # fmt: skip
        assert stranger.get(path).status_code == 404, path
    assert client.get(f"/collections/{coll.id}").status_code == 200
    assert client.get(f"/c/{coll.share_token}").status_code == 404  # even the owner's dead link
    assert stranger.get("/c/not-a-token").status_code == 404


def test_export_downloads_parse_with_real_parsers(client, loaded_store):
    signup(client, "exporter")
    coll = new_collection(client, loaded_store, "exporter", "Two papers")
    save(client, XSS)
    save(client, SMOE, collection_id=str(coll.id))
    save(client, ROBOT, collection_id=str(coll.id))
    r = client.get("/library/export", params={"format": "bibtex"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-bibtex")
    assert r.headers["content-disposition"] == 'attachment; filename="paperboard-library.bib"'
    library = bibtexparser.parse_string(r.text)
    assert not library.failed_blocks and len(library.entries) == 3
    r = client.get("/library/export", params={"format": "bibtex", "collection": coll.id})
    assert r.headers["content-disposition"] == 'attachment; filename="paperboard-two-papers.bib"'
    titles = {e.fields_dict["title"].value for e in bibtexparser.parse_string(r.text).entries}
    assert {t.replace("{", "").replace("}", "") for t in titles} == {"Sparse Mixture of Experts for Long Context",
                                               "Diffusion Policies for Robot Grasping"}  # fmt: skip
    r = client.get("/library/export", params={"format": "ris"})
    assert r.headers["content-type"].startswith("application/x-research-info-systems")
    assert len(rispy.loads(r.text)) == 3 and r.headers["content-disposition"].endswith('.ris"')
    r = client.get("/library/export", params={"format": "csljson", "collection": coll.id})
    assert r.headers["content-type"].startswith("application/vnd.citationstyles.csl+json")
    assert {item["title"] for item in json.loads(r.text)} == {"Sparse Mixture of Experts for Long Context",
                                                               "Diffusion Policies for Robot Grasping"}  # fmt: skip
    assert client.get("/library/export", params={"format": "docx"}).status_code == 400
    # a public collection exports from its share link, for anyone
    post(client, f"/collections/{coll.id}/visibility", {"public": "true"})
    r = TestClient(client.app).get(f"/c/{coll.share_token}/export", params={"format": "bibtex"})
    assert r.status_code == 200 and len(bibtexparser.parse_string(r.text).entries) == 2


BIB = """\
@article{smoe,
  title = {Sparse Mixture of Experts for Long Context},
  eprint = {2607.00001},
  archivePrefix = {arXiv},
}

@article{broken,
  title = {Missing its closing brace,
  year = 2024

@misc{robot,
  title = {Diffusion Policies for Robot Grasping},
  url = {https://arxiv.org/abs/2607.00002v2},
}

@misc{future,
  title = {A paper this Paperboard has not seen},
  eprint = {2501.99999},
}
"""


@pytest.fixture
def offline_client(settings, loaded_store):
    """arXiv unreachable: unknown ids become pending imports."""
    app = create_app(settings.model_copy(update={"arxiv_api_url": f"http://127.0.0.1:{closed_port()}/api/query",
                                                 "http_max_retries": 0}), loaded_store)  # fmt: skip
    with TestClient(app) as c:
        yield c


def test_import_reports_saved_already_pending_and_problems(offline_client, loaded_store):
    client = offline_client
    signup(client, "importer")
    save(client, SMOE)  # already there
    coll = new_collection(client, loaded_store, "importer", "Imported")
    r = client.post("/library/import", data={"csrf_token": csrf(client, "/library"), "collection_id": str(coll.id)},
                    files={"file": ("refs.bib", BIB.encode(), "application/x-bibtex")})  # fmt: skip
    assert r.status_code == 200, r.text[:500]
    html = r.text
    counts = {k: int(v) for k, v in re.findall(r'class="n-(\w+)">(\d+)<', html)}
    assert counts == {"saved": 1, "already": 1, "fetched": 0, "pending": 1, "problems": 1}
    assert "2501.99999" in html and "could not be reached" in html
    problem = re.search(r"<li>Entry (\d+): ([^<]+)</li>", html)
    assert problem and problem.group(1) == "2", html[html.index("Problems") :][:400]
    uid = loaded_store.get_user_by_name("importer").id
    assert {i.paper.id for i in loaded_store.library(uid)} == {SMOE, ROBOT}
    assert {i.paper.id for i in loaded_store.library(uid, collection_id=coll.id)} == {SMOE, ROBOT}
    assert loaded_store.pending_imports(uid) == ["2501.99999"]
    assert "2501.99999" in client.get("/library").text.split('id="pending"')[1]
    # pasted ids (and URLs) work too
    r = client.post("/library/import", data={"csrf_token": csrf(client, "/library"),
                                              "ids": f"https://arxiv.org/abs/{OLD}\nnot-an-id"})  # fmt: skip
    counts = {k: int(v) for k, v in re.findall(r'class="n-(\w+)">(\d+)<', r.text)}
    assert counts["saved"] == 1 and counts["problems"] == 1
    assert OLD in {i.paper.id for i in loaded_store.library(uid)}


def test_import_fetches_unknown_ids_from_arxiv_when_online(settings, loaded_store):
    from pathlib import Path

    fixtures = Path(__file__).parent.parent / "fixtures" / "arxiv_api"
    with ReplayServer(fixtures) as arxiv:
        arxiv.route({"id_list": "2401.08001", "start": "0", "max_results": "1"}, "single.xml", path="/api/query")
        app = create_app(settings.model_copy(update={"arxiv_api_url": f"{arxiv.url}/api/query"}), loaded_store)
        with TestClient(app) as client:
            signup(client, "online")
            r = client.post("/library/import", data={"csrf_token": csrf(client, "/library"),
                                                      "ids": "arXiv:2401.08001v1"})  # fmt: skip
    counts = {k: int(v) for k, v in re.findall(r'class="n-(\w+)">(\d+)<', r.text)}
    assert counts == {"saved": 1, "already": 0, "fetched": 1, "pending": 0, "problems": 0}, r.text[:800]
    uid = loaded_store.get_user_by_name("online").id
    assert [i.paper.title for i in loaded_store.library(uid)] == [
        "Sparse Mixture-of-Experts Routing Without Load-Balancing Losses"
    ]


def test_oversized_and_binary_imports_are_refused_and_nothing_is_lost(client, loaded_store):
    signup(client, "uploader")
    save(client, ROBOT)
    uid = loaded_store.get_user_by_name("uploader").id
    ten_mb = b"@misc{x, title={" + b"a" * 10_000_000 + b"}}"
    r = client.post("/library/import", data={"csrf_token": csrf(client, "/library")},
                    files={"file": ("huge.bib", ten_mb, "application/x-bibtex")})  # fmt: skip
    assert r.status_code == 413 and "imports are limited to 2 MB" in r.text and "Nothing was imported" in r.text
    assert "<html" in r.text  # a page in the site's layout, not a bare status
    binary = bytes(range(256)) * 40
    r = client.post("/library/import", data={"csrf_token": csrf(client, "/library")},
                    files={"file": ("thesis.pdf", binary, "application/pdf")})  # fmt: skip
    assert r.status_code == 400 and "Nothing was imported" in r.text
    r = client.post("/library/import", data={"csrf_token": csrf(client, "/library")})
    assert r.status_code == 400 and "choose a BibTeX file" in r.text
    assert [i.paper.id for i in loaded_store.library(uid)] == [ROBOT]
    assert loaded_store.pending_imports(uid) == []


def test_another_users_things_are_404_not_403(client, make_client, loaded_store):
    signup(client, "alice")
    secret = new_collection(client, loaded_store, "alice", "Secret project")
    save(client, SMOE, collection_id=str(secret.id), note="my private thoughts")
    post(client, "/library/dismiss", {"paper_id": ROBOT})
    bob = make_client()
    signup(bob, "bob")
    cid = secret.id
    assert bob.get("/library", params={"collection": cid}).status_code == 404
    assert bob.get(f"/collections/{cid}").status_code == 404
    assert bob.get(f"/c/{secret.share_token}").status_code == 404
    assert bob.get("/library/export", params={"collection": cid}).status_code == 404
    for path, data in ((f"/collections/{cid}/rename", {"name": "Mine now"}),
                       (f"/collections/{cid}/visibility", {"public": "true"}),
                       (f"/collections/{cid}/delete", {}),
                       (f"/collections/{cid}/remove", {"paper_id": SMOE}),
                       ("/library/save", {"paper_id": ROBOT, "collection_id": str(cid)})):  # fmt: skip
        r = post(bob, path, data)
        assert r.status_code == 404, (path, r.status_code)
        assert "Secret project" not in r.text
    r = bob.post("/library/import", data={"csrf_token": csrf(bob, "/library"), "ids": SMOE, "collection_id": str(cid)})
    assert r.status_code == 404
    # nothing of alice's shows on bob's pages, and nothing of hers changed
    page = bob.get("/library").text
    assert "my private thoughts" not in page and "Secret project" not in page and "Diffusion Policies" not in page
    assert "my private thoughts" not in bob.get(f"/papers/{SMOE}").text
    alice = loaded_store.get_user_by_name("alice").id
    assert [c.name for c in loaded_store.collections(alice)] == ["Secret project"]
    assert loaded_store.library(alice, collection_id=cid)[0].note == "my private thoughts"
    assert loaded_store.library_size(loaded_store.get_user_by_name("bob").id) == 0
    # a public collection of alice's is visible, but never its notes, and bob cannot export it as his
    post(client, f"/collections/{cid}/visibility", {"public": "true"})
    shown = bob.get(f"/collections/{cid}").text
    assert "Secret project" in shown and "my private thoughts" not in shown and "Rename" not in shown
    assert bob.get("/library/export", params={"collection": cid}).status_code == 404


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_names_notes_and_display_names_render_inert(client, make_client, loaded_store):
    signup(client, "mallory")
    coll = new_collection(client, loaded_store, "mallory", HOSTILE[:80], public=True)
    save(client, ROBOT, collection_id=str(coll.id), note=HOSTILE)
    r = post(client, "/account/display-name", {"display_name": "Ada Lovelace " + HOSTILE})
    assert r.status_code == 303
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    visitor = make_client()
    pages = [client.get("/library").text, client.get(f"/collections/{coll.id}").text, client.get("/account").text,
             visitor.get(f"/c/{coll.share_token}").text, visitor.get("/u/mallory").text]  # fmt: skip
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
    assert escaped in pages[0] and escaped in pages[1] and escaped in pages[2] and escaped in pages[4]
    feed = visitor.get(f"/c/{coll.share_token}/feed.xml")
    assert "<script>" not in feed.text and ET.fromstring(feed.content) is not None
    r = client.get("/library/export", params={"format": "bibtex", "collection": coll.id})
    assert r.headers["content-disposition"] == 'attachment; filename="paperboard-script-alert-x-script-img-src-x-onerror-alert-1.bib"'
