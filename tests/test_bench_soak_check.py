"""The soak's write audit (bench/lib/soak_check.py) finds lost, duplicated and phantom writes,
and lets a write that got no answer go either way."""

from __future__ import annotations

from bench.lib.soak_check import StoreView, UserLedger, audit


def _ledgers() -> list[UserLedger]:
    ann = UserLedger("ann", signed_up=True, votes={"p1": True, "p2": False}, saved={"p1": True},
                     comments=[("p1", "soak t ann #1")], subscription=("ann@example.org", "daily"))  # fmt: skip
    bob = UserLedger("bob", signed_up=True, votes={"p1": True}, uncertain_votes={"p2"},
                     uncertain_comments=[("p2", "soak t bob #1")])  # fmt: skip
    return [ann, bob]


def _view(**change) -> StoreView:
    view = StoreView(
        upvotes_before={"p1": 5, "p2": 0}, upvotes_after={"p1": 7, "p2": 1},
        user_ids={"ann": 1, "bob": 2}, votes={"ann": {"p1"}, "bob": {"p1", "p2"}},
        saved={"ann": {"p1"}, "bob": set()}, comments=[(10, "ann", "p1", "soak t ann #1")],
        subscribers={"ann@example.org": "daily"},
    )  # fmt: skip
    for key, value in change.items():
        setattr(view, key, value)
    return view


def test_a_store_matching_the_ledgers_passes_and_unanswered_writes_go_either_way():
    result = audit(_ledgers(), _view())
    assert result.ok, result.problems
    assert (result.votes_checked, result.comments_checked, result.saves_checked) == (3, 1, 1)
    assert result.uncertain == 2
    # bob's unanswered vote on p2 not applied, and his unanswered comment not stored: also fine
    assert audit(_ledgers(), _view(upvotes_after={"p1": 7, "p2": 0}, votes={"ann": {"p1"}, "bob": {"p1"}})).ok


def test_lost_and_duplicated_writes_are_counted():
    lost_vote = audit(_ledgers(), _view(upvotes_after={"p1": 6, "p2": 1}, votes={"ann": set(), "bob": {"p1", "p2"}}))
    assert lost_vote.lost == 2 and not lost_vote.ok  # ann's row and p1's count
    doubled = audit(_ledgers(), _view(comments=[(10, "ann", "p1", "soak t ann #1"), (11, "ann", "p1", "soak t ann #1")]))
    assert doubled.duplicated == 1
    phantom = audit(_ledgers(), _view(saved={"ann": {"p1"}, "bob": {"p9"}}))
    assert phantom.duplicated == 1 and "p9" in phantom.problems[0]
    retraction = audit(_ledgers(), _view(votes={"ann": {"p1", "p2"}, "bob": {"p1"}}, upvotes_after={"p1": 7, "p2": 2}))
    assert retraction.duplicated == 2  # ann's un-vote undone, and p2 above what anyone cast
    gone = audit(_ledgers(), _view(subscribers={}, user_ids={"ann": 1}))
    assert gone.lost == 2  # the subscription and bob's account
