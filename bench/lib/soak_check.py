"""The soak's closing audit: what the simulated users say they did, against what the store holds.

Why each user keeps its own record: a write that the server acknowledged and then lost, or
applied twice, is invisible in latency figures and status codes; only a ledger kept on the
client side can catch it. A request that got no answer (a timeout, a reset connection, a 5xx)
may or may not have been applied, so the user marks that write *uncertain* and the audit
allows either outcome for it; everything else must match exactly.

The functions here are pure (plain dicts in, problems out) so the logic is testable without
a server (tests/test_bench_soak_check.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class UserLedger:
    """One simulated user's own account of its writes."""

    name: str
    signed_up: bool = False
    votes: dict[str, bool] = field(default_factory=dict)
    """paper id -> whether the user's vote is on, as the server's last answer said."""
    uncertain_votes: set[str] = field(default_factory=set)
    comments: list[tuple[str, str]] = field(default_factory=list)
    """(paper id, body) of each comment the server acknowledged; bodies are unique."""
    uncertain_comments: list[tuple[str, str]] = field(default_factory=list)
    saved: dict[str, bool] = field(default_factory=dict)
    uncertain_saves: set[str] = field(default_factory=set)
    subscription: tuple[str, str] | None = None
    """(email, kind) the server acknowledged."""
    uncertain_subscription: tuple[str, str] | None = None

    def to_json(self) -> dict:
        return {
            "name": self.name, "signed_up": self.signed_up, "votes": self.votes,
            "uncertain_votes": sorted(self.uncertain_votes), "comments": self.comments,
            "uncertain_comments": self.uncertain_comments, "saved": self.saved,
            "uncertain_saves": sorted(self.uncertain_saves), "subscription": self.subscription,
            "uncertain_subscription": self.uncertain_subscription,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> UserLedger:
        return cls(
            name=data["name"], signed_up=data["signed_up"], votes=dict(data["votes"]),
            uncertain_votes=set(data["uncertain_votes"]),
            comments=[tuple(c) for c in data["comments"]],
            uncertain_comments=[tuple(c) for c in data["uncertain_comments"]],
            saved=dict(data["saved"]), uncertain_saves=set(data["uncertain_saves"]),
            subscription=tuple(data["subscription"]) if data["subscription"] else None,
            uncertain_subscription=tuple(data["uncertain_subscription"]) if data["uncertain_subscription"] else None,
        )  # fmt: skip


@dataclass
class StoreView:
    """What the store holds after the run, restricted to what the users could have touched."""

    upvotes_before: dict[str, int]
    """paper id -> upvotes before the load began (0 for papers that did not exist yet)."""
    upvotes_after: dict[str, int]
    user_ids: dict[str, int]
    """user name -> id, for every simulated user whose account exists."""
    votes: dict[str, set[str]]
    """user name -> ids of the papers the store says that user has upvoted."""
    saved: dict[str, set[str]]
    comments: list[tuple[int, str, str, str]]
    """(comment id, user name, paper id, body) of every comment carrying the run's tag."""
    subscribers: dict[str, str]
    """email -> kind, for every address the users used."""


@dataclass
class Audit:
    problems: list[str] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    votes_checked: int = 0
    papers_checked: int = 0
    comments_checked: int = 0
    saves_checked: int = 0
    subscriptions_checked: int = 0
    uncertain: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def audit(users: list[UserLedger], view: StoreView) -> Audit:
    """Every acknowledged write present exactly once; vote counts equal before + cast - retracted."""
    out = Audit()
    _audit_votes(users, view, out)
    _audit_comments(users, view, out)
    _audit_saves(users, view, out)
    _audit_subscriptions(users, view, out)
    out.uncertain = sum(
        len(u.uncertain_votes) + len(u.uncertain_comments) + len(u.uncertain_saves)
        + (u.uncertain_subscription is not None) for u in users
    )  # fmt: skip
    return out


def _audit_votes(users: list[UserLedger], view: StoreView, out: Audit) -> None:
    expected_on: Counter[str] = Counter()
    slack: Counter[str] = Counter()
    for u in users:
        if not u.signed_up:
            continue
        if u.name not in view.user_ids:
            out.lost += 1
            out.problems.append(
                f"user {u.name}: signed up (the server said so) but no such account"
            )
            continue
        stored = view.votes.get(u.name, set())
        for pid, on in u.votes.items():
            if pid in u.uncertain_votes:
                continue
            out.votes_checked += 1
            expected_on[pid] += on
            if on and pid not in stored:
                out.lost += 1
                out.problems.append(
                    f"vote lost: {u.name} on {pid} (acknowledged as on, not in the store)"
                )
            elif not on and pid in stored:
                out.duplicated += 1
                out.problems.append(
                    f"vote retraction lost: {u.name} on {pid} (acknowledged as off, still stored)"
                )
        for pid in u.uncertain_votes:
            slack[pid] += 1
        for pid in stored - set(u.votes) - u.uncertain_votes:
            out.duplicated += 1
            out.problems.append(f"vote nobody cast: {u.name} on {pid}")
    for pid in sorted(set(expected_on) | set(slack)):
        out.papers_checked += 1
        low = view.upvotes_before.get(pid, 0) + expected_on[pid]
        high = low + slack[pid]
        got = view.upvotes_after.get(pid)
        if got is None:
            out.lost += 1
            out.problems.append(f"paper {pid}: voted on, now missing from the store")
        elif not low <= got <= high:
            if got < low:
                out.lost += 1
            else:
                out.duplicated += 1
            want = f"{low}" if low == high else f"{low}..{high}"
            out.problems.append(
                f"paper {pid}: {got} upvotes, expected {want} "
                f"({view.upvotes_before.get(pid, 0)} before + {expected_on[pid]} cast and not retracted)"
            )


def _audit_comments(users: list[UserLedger], view: StoreView, out: Audit) -> None:
    stored = Counter((user, pid, body) for _, user, pid, body in view.comments)
    maybe = {(u.name, pid, body) for u in users for pid, body in u.uncertain_comments}
    acknowledged = set()
    for u in users:
        for pid, body in u.comments:
            out.comments_checked += 1
            key = (u.name, pid, body)
            acknowledged.add(key)
            n = stored.get(key, 0)
            if n == 0:
                out.lost += 1
                out.problems.append(f"comment lost: {u.name} on {pid}: {body[:60]!r}")
            elif n > 1:
                out.duplicated += n - 1
                out.problems.append(f"comment stored {n} times: {u.name} on {pid}: {body[:60]!r}")
    for key, n in stored.items():
        if key in acknowledged:
            continue
        if key in maybe and n == 1:
            continue
        out.duplicated += n - (1 if key in maybe else 0)
        out.problems.append(
            f"comment nobody acknowledged, stored {n} time(s): {key[0]} on {key[1]}: {key[2][:60]!r}"
        )


def _audit_saves(users: list[UserLedger], view: StoreView, out: Audit) -> None:
    for u in users:
        if not u.signed_up or u.name not in view.user_ids:
            continue
        stored = view.saved.get(u.name, set())
        for pid, on in u.saved.items():
            if pid in u.uncertain_saves:
                continue
            out.saves_checked += 1
            if on and pid not in stored:
                out.lost += 1
                out.problems.append(f"save lost: {u.name} saved {pid}, not in the library")
            elif not on and pid in stored:
                out.duplicated += 1
                out.problems.append(f"unsave lost: {u.name} removed {pid}, still in the library")
        for pid in stored - set(u.saved) - u.uncertain_saves:
            out.duplicated += 1
            out.problems.append(f"save nobody made: {pid} in {u.name}'s library")


def _audit_subscriptions(users: list[UserLedger], view: StoreView, out: Audit) -> None:
    for u in users:
        if u.subscription is None:
            continue
        out.subscriptions_checked += 1
        email, kind = u.subscription
        got = view.subscribers.get(email)
        if got is None:
            out.lost += 1
            out.problems.append(f"subscription lost: {email} ({kind})")
        elif got != kind:
            out.lost += 1
            out.problems.append(f"subscription of {email}: kind {got!r}, the user chose {kind!r}")
