"""The library domain on both backends: one SQL text, the same answers."""

from __future__ import annotations

from datetime import date

import pytest

from paperboard.models import Paper
from paperboard.store.library import LibraryError, NotFound

PAPERS = [
    Paper(id=f"2603.0000{i}", title=f"Paper {i}", abstract=f"About topic {i}.", authors=["Zoë Ångström", "B. Chen"], feed_day=date(2026, 3, i))
    for i in range(1, 7)
]


@pytest.fixture
def store(tmp_store):
    tmp_store.upsert_papers(PAPERS)
    tmp_store.set_hidden("2603.00006", True)
    return tmp_store


@pytest.fixture
def users(store):
    return store.create_user("ada", "x").id, store.create_user("bob", "x").id


def test_saving_is_idempotent_newest_first_and_keeps_notes(store, users):
    ada, bob = users
    assert store.save_paper(ada, "2603.00001") is True
    assert store.save_paper(ada, "2603.00002", note="read <b>this</b>") is True
    assert store.save_paper(ada, "2603.00001") is False  # a second click changes nothing
    items = store.library(ada)
    assert [i.paper.id for i in items] == ["2603.00002", "2603.00001"]
    assert items[0].note == "read <b>this</b>" and items[1].note is None
    store.set_note(ada, "2603.00001", "  later  ")
    assert store.library(ada)[1].note == "later"
    assert store.library(bob) == [] and store.library_size(ada) == 2
    assert store.saved_ids(ada, ["2603.00001", "2603.00003"]) == {"2603.00001"}
    assert store.saved_ids(bob, ["2603.00001"]) == set()
    assert store.unsave_paper(ada, "2603.00001") is True and store.unsave_paper(ada, "2603.00001") is False
    assert [i.paper.id for i in store.library(ada)] == ["2603.00002"]


def test_unknown_and_hidden_papers_cannot_be_saved(store, users):
    ada, _ = users
    for pid in ("2603.09999", "2603.00006"):
        with pytest.raises(NotFound):
            store.save_paper(ada, pid)
    with pytest.raises(LibraryError):
        store.save_paper(ada, "2603.00001", note="x" * 5000)
    assert store.library(ada) == []  # nothing half-applied


def test_collections_are_private_filed_items_follow_the_library(store, users):
    ada, bob = users
    reading = store.create_collection(ada, "  Reading   list ")
    assert reading.name == "Reading list" and not reading.is_public
    with pytest.raises(LibraryError):
        store.create_collection(ada, "Reading list")
    store.add_to_collection(ada, reading.id, "2603.00003")  # saves it too
    store.save_paper(ada, "2603.00004", collection_id=reading.id)
    store.save_paper(ada, "2603.00005")
    assert [i.paper.id for i in store.library(ada, collection_id=reading.id)] == ["2603.00004", "2603.00003"]
    assert store.library(ada)[1].collections == ("Reading list",)
    assert [c.size for c in store.collections(ada)] == [2]
    # Another user's collection is missing, whatever the verb.
    for call in (
        lambda: store.get_collection(reading.id, viewer_id=bob),
        lambda: store.library(bob, collection_id=reading.id),
        lambda: store.save_paper(bob, "2603.00001", collection_id=reading.id),
        lambda: store.update_collection(bob, reading.id, public=True),
        lambda: store.delete_collection(bob, reading.id),
        lambda: store.collection_by_token(reading.share_token),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.library(bob) == []
    public = store.update_collection(ada, reading.id, public=True)
    assert store.get_collection(reading.id, viewer_id=None).is_public
    assert store.collection_by_token(public.share_token).id == reading.id
    assert [p.id for p in store.collection_papers(reading.id, viewer_id=bob)] == ["2603.00004", "2603.00003"]
    store.unsave_paper(ada, "2603.00004")  # leaves every collection with it
    assert [p.id for p in store.collection_papers(reading.id, viewer_id=ada)] == ["2603.00003"]
    store.delete_collection(ada, reading.id)
    assert store.collections(ada) == [] and len(store.library(ada)) == 2


def test_dismissals_undo_and_exclude_saving(store, users):
    ada, bob = users
    store.save_paper(ada, "2603.00001")
    assert store.dismiss_paper(ada, "2603.00001") is True
    assert store.dismiss_paper(ada, "2603.00001") is False
    assert store.library(ada) == [] and [p.id for p in store.dismissed(ada)] == ["2603.00001"]
    assert store.dismissed_ids(ada, ["2603.00001", "2603.00002"]) == {"2603.00001"}
    assert store.dismissed_ids(bob, ["2603.00001"]) == set()
    assert store.undismiss_paper(ada, "2603.00001") is True
    assert store.dismissed(ada) == []
    store.dismiss_paper(ada, "2603.00002")
    store.save_paper(ada, "2603.00002")  # saving takes back a dismissal
    assert store.dismissed(ada) == []


def test_claims_queue_decisions_and_signals(store, users):
    ada, bob = users
    store.set_display_name(ada, " Zoe  Angstrom ")
    assert store.display_name(ada) == "Zoe Angstrom"
    claim, created = store.add_claim(ada, "2603.00001", "Zoë Ångström")
    assert created and claim.status == "pending" and claim.username == "ada"
    assert store.add_claim(ada, "2603.00001", "Zoë Ångström")[1] is False  # once in the queue
    other, _ = store.add_claim(ada, "2603.00002", "Zoë Ångström")
    assert [c.paper_id for c in store.claims(status="pending")] == ["2603.00001", "2603.00002"]
    decided = store.decide_claim(claim.id, admin_id=bob, approve=True)
    assert decided.status == "approved" and decided.decided_at is not None
    with pytest.raises(LibraryError):
        store.decide_claim(claim.id, admin_id=bob, approve=False)  # decided once
    store.decide_claim(other.id, admin_id=bob, approve=False)
    assert [c.paper_id for c in store.claims(user_id=ada, status="approved")] == ["2603.00001"]
    store.save_paper(ada, "2603.00003")
    store.set_vote(ada, "2603.00004", True)
    store.dismiss_paper(ada, "2603.00005")
    signals = store.user_signals(ada)
    assert sorted(signals.claimed.values()) == ["2603.00001"]
    assert sorted(signals.saved.values()) == ["2603.00003"]
    assert sorted(signals.upvoted.values()) == ["2603.00004"]
    assert sorted(signals.dismissed.values()) == ["2603.00005"]
    keys = store.paper_keys(["2603.00001", "2603.00003"])
    assert set(signals.positive_ids) >= {keys["2603.00001"], keys["2603.00003"]}
    assert store.user_signals(bob).positive_ids == {}


def test_pending_imports_settle_when_the_paper_arrives(store, users):
    ada, _ = users
    reading = store.create_collection(ada, "To read")
    assert store.add_pending(ada, ["2604.00001", "2604.00001", "2604.00002"], collection_id=reading.id) == 2
    assert store.pending_imports(ada) == ["2604.00001", "2604.00002"]
    assert store.settle_pending() == 0
    store.upsert_papers([Paper(id="2604.00001", title="Arrived", abstract="Now here.", feed_day=date(2026, 4, 1))])
    assert store.settle_pending() == 1
    assert store.pending_imports(ada) == ["2604.00002"]
    assert [p.id for p in store.collection_papers(reading.id, viewer_id=ada)] == ["2604.00001"]


def test_a_large_library_lists_whole(store, users):
    """An export reads every saved paper at once: more than a query's bind limit."""
    ada, _ = users
    many = [Paper(id=f"2605.{i:05d}", title=f"Bulk {i}", abstract="A bulk paper.", feed_day=date(2026, 5, 1))
            for i in range(1, 1201)]  # fmt: skip
    store.upsert_papers(many)
    shelf = store.create_collection(ada, "All of them")
    for p in many:
        store.save_paper(ada, p.id, collection_id=shelf.id)
    items = store.library(ada, limit=100_000)
    assert len(items) == 1200 and all(i.collections == ("All of them",) for i in items)
