"""The TL;DR wherever a paper shows: cards of every listing, the paper page, RSS/Atom, the
API, digests; hostile text stays inert everywhere."""

from __future__ import annotations

import html
from xml.etree import ElementTree as ET

from paperboard.summarize import tldr

from .conftest import FEED_DAY, XSS_ABSTRACT, XSS_TITLE

SPARSE = "2607.00001"
SPARSE_TLDR = tldr("Sparse Mixture of Experts for Long Context", "We study sparse mixture of experts for long context. It is good.")
XSS_TLDR = tldr(XSS_TITLE, XSS_ABSTRACT)
ATOM = "{http://www.w3.org/2005/Atom}"


def test_the_expected_tldrs_are_what_the_store_holds(loaded_store):
    assert loaded_store.get_paper(SPARSE).tldr == SPARSE_TLDR == "We study sparse mixture of experts for long context."
    assert "<script>" in XSS_TLDR  # so the pages below show it escaped, not dropped


def _card(page: str, paper_id: str) -> str:
    start = page.index(f'id="p-{paper_id}"')
    return page[start : page.index("</article>", start)]


def test_cards_of_every_listing_show_the_tldr_under_the_title(client):
    for path in (f"/?date={FEED_DAY.isoformat()}", "/trending", "/search?q=sparse+mixture+experts"):
        card = _card(client.get(path).text, SPARSE)
        assert card.index('class="card-title"') < card.index(html.escape(SPARSE_TLDR)) < card.index('class="meta"'), path


def test_hostile_tldr_is_escaped_on_the_card_and_the_paper_page(client):
    escaped = html.escape(XSS_TLDR, quote=False)
    for path in (f"/?date={FEED_DAY.isoformat()}", "/papers/2607.00003"):
        page = client.get(path).text
        assert '<script>alert("a")' not in page and "<img src=x" not in page, path
        assert escaped.replace('"', "&#34;") in page or escaped.replace('"', "&quot;") in page, path


def test_paper_page_shows_the_tldr_above_the_abstract(client):
    page = client.get(f"/papers/{SPARSE}").text
    assert page.index('id="tldr"') < page.index(html.escape(SPARSE_TLDR)) < page.index("<h2>Abstract</h2>")


def test_rss_and_atom_items_carry_the_tldr(client):
    rss = ET.fromstring(client.get("/feeds/daily.xml").content)
    items = {i.findtext("link").rsplit("/", 1)[1]: i for i in rss.findall("./channel/item")}
    assert items[SPARSE].findtext("description") == SPARSE_TLDR
    assert items["2607.00003"].findtext("description") == XSS_TLDR  # a text node, not markup
    atom = ET.fromstring(client.get("/feeds/daily.atom").content)
    summaries = {e.findtext(f"{ATOM}id").rsplit("/", 1)[1]: e.findtext(f"{ATOM}summary") for e in atom.findall(f"{ATOM}entry")}
    assert summaries[SPARSE] == SPARSE_TLDR


def test_api_paper_objects_carry_the_tldr(client):
    assert client.get(f"/api/papers/{SPARSE}").json()["tldr"] == SPARSE_TLDR
    daily = client.get("/api/daily_papers", params={"date": FEED_DAY.isoformat()}).json()
    by_id = {d["paper"]["id"]: d for d in daily}
    assert by_id[SPARSE]["paper"]["tldr"] == by_id[SPARSE]["tldr"] == SPARSE_TLDR
    assert all(d["paper"]["tldr"] for d in daily)
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "tldr" in schema["PaperOut"]["properties"] and "tldr" in schema["DailyPaper"]["properties"]


def test_digests_carry_the_tldr_escaped_in_html(settings, loaded_store):
    from paperboard.digest.compose import Composer
    from paperboard.digest.selection import daily_issue

    issue = daily_issue(loaded_store, FEED_DAY, top_n=10)
    rendered = Composer(settings, loaded_store).render_issue(issue, 1, "reader@example.org")
    assert f"TL;DR: {SPARSE_TLDR}" in rendered.text
    assert html.escape(SPARSE_TLDR) in rendered.html
    assert '<script>alert("a")' not in rendered.html and "<img src=x" not in rendered.html
