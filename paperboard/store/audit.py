"""The admin audit log: every admin action with who, what and when (migration 0012).

Each audited action is one store call that performs the action and records it in the same
transaction (both backends' ``writer()`` is re-entrant: the action's own statements join the
transaction opened here), so the log can never show an action that did not happen, nor miss
one that did. An action that fails (no such paper, a claim already decided) raises or
returns False and leaves no row. The SQL is written once for both backends (``store.sql``).

The actor is an account (``actor_id`` and its name at the time) for actions on the site, or
a description of who ran the command for ``paperboard users promote``, which has no account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .sql import Dialect, now

if TYPE_CHECKING:
    from .accounts import User
    from .library import Claim

T = TypeVar("T")
TargetType = Literal["paper", "comment", "user", "claim"]
MAX_DETAIL = 300
PAGE = 100


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a site account, or someone at the command line (no account)."""

    name: str
    user_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.username, user.id)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: str


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AuditStore:
    """Mixed into both stores; ``_dialect`` says which SQL flavour their connections speak."""

    _db: Any
    _dialect: Dialect

    def _audited(self, actor: Actor, action: str, target_type: TargetType, target_id: str,
                 act: Callable[[], T], detail: str | Callable[[T], str] = "") -> T:  # fmt: skip
        """Run ``act`` and log it in one transaction; a falsy result (nothing was there) logs
        nothing. ``detail`` may be computed from the result (a claim's names, known only after)."""
        with self._db.writer() as conn:
            result = act()
            if result:
                text = detail(result) if callable(detail) else detail
                conn.execute(
                    self._dialect.sql(
                        "INSERT INTO audit_log (at, actor_id, actor, action, target_type, target_id, detail)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)"
                    ),
                    (self._dialect.ts(now()), actor.user_id, actor.name[:200], action, target_type,
                     str(target_id)[:300], text[:MAX_DETAIL]),
                )  # fmt: skip
            return result

    # -- the audited actions ----------------------------------------------------------------
    def hide_paper_as(self, actor: Actor, paper_id: str, hidden: bool) -> bool:
        paper = self.get_paper(paper_id, include_hidden=True)  # type: ignore[attr-defined]
        if paper is None:
            return False
        return self._audited(
            actor, "paper.hide" if hidden else "paper.unhide", "paper", paper.id,
            lambda: self.set_hidden(paper.id, hidden), _short(paper.title),  # type: ignore[attr-defined]
        )  # fmt: skip

    def hide_comment_as(self, actor: Actor, comment_id: int, hidden: bool) -> bool:
        comment = self.get_comment(comment_id)  # type: ignore[attr-defined]
        if comment is None:
            return False
        return self._audited(
            actor, "comment.hide" if hidden else "comment.unhide", "comment", str(comment_id),
            lambda: self.set_comment_hidden(comment_id, hidden),  # type: ignore[attr-defined]
            f"by {comment.username} on {comment.paper_id}: {_short(comment.body)}",
        )  # fmt: skip

    def delete_comment_as(self, actor: Actor, comment_id: int) -> bool:
        """An admin deleting someone else's comment (deleting one's own is not an admin act)."""
        comment = self.get_comment(comment_id)  # type: ignore[attr-defined]
        if comment is None:
            return False
        return self._audited(
            actor, "comment.delete", "comment", str(comment_id),
            lambda: self.delete_comment(comment_id),  # type: ignore[attr-defined]
            f"by {comment.username} on {comment.paper_id}: {_short(comment.body)}",
        )  # fmt: skip

    def set_admin_as(self, actor: Actor, username: str, is_admin: bool) -> bool:
        return self._audited(
            actor, "user.promote" if is_admin else "user.revoke", "user", username,
            lambda: self.set_admin(username, is_admin),  # type: ignore[attr-defined]
        )  # fmt: skip

    def decide_claim_as(self, actor: Actor, claim_id: int, *, approve: bool) -> Claim:
        """Raises like ``decide_claim`` (missing, already decided); then nothing is logged."""
        if actor.user_id is None:
            raise ValueError("a claim is decided by an admin account")
        return self._audited(
            actor, "claim.approve" if approve else "claim.refuse", "claim", str(claim_id),
            lambda: self.decide_claim(claim_id, admin_id=actor.user_id, approve=approve),  # type: ignore[attr-defined]
            lambda claim: f"{claim.username} as {claim.author_name} on {claim.paper_id}",
        )  # fmt: skip

    # -- reading ----------------------------------------------------------------------------
    def audit_log(self, *, limit: int = PAGE, before_id: int | None = None) -> list[AuditEntry]:
        """Newest first; ``before_id`` pages back (ids only grow)."""
        where, params = "", [max(1, min(int(limit), 1000))]
        if before_id is not None:
            where = "WHERE id < ? "
            params.insert(0, int(before_id))
        with self._db.reader() as conn:
            rows = conn.execute(
                self._dialect.sql(
                    "SELECT id, at, actor_id, actor, action, target_type, target_id, detail FROM audit_log "
                    + where + "ORDER BY id DESC LIMIT ?"
                ),
                tuple(params),
            ).fetchall()  # fmt: skip
        read_ts = self._dialect.read_ts
        return [
            AuditEntry(r["id"], read_ts(r["at"]), r["actor_id"], r["actor"], r["action"], r["target_type"],
                       r["target_id"], r["detail"])
            for r in rows
        ]  # fmt: skip
