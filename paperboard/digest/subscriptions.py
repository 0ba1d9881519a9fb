"""Subscribing, confirming and leaving: the rules the web pages and the CLI share.

Double opt-in: a new or returning address is ``pending`` and gets one confirmation email
(at most one per cool-down, so the form cannot be used to flood someone's inbox); digests
go only to ``confirmed`` addresses. Confirmation and unsubscribe links are signed tokens,
so neither needs a login.

The For-you digest is chosen by a logged-in user for an address of theirs that is already
confirmed (or waiting for its confirmation link: the choice then starts with it). It needs
no second opt-in: the address said yes to our email, and the user says which. Its own
unsubscribe link turns off only it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..config import Settings
from ..store.accounts import User
from ..store.base import Store
from ..store.digest import FORYOU_CADENCES, ForyouCadence, SavedSearch, Subscriber
from .addresses import InvalidAddress, normalize_address, one_line
from .outbox import OutboxSender, SenderBusy, plan_confirmation, utcnow
from .tokens import TokenData, TokenError, Tokens

SUBSCRIBE_KINDS = ("daily", "weekly")
CONFIRM_COOLDOWN = timedelta(minutes=10)
MAX_SAVED_SEARCHES = 20
MAX_SAVED_QUERY = 200


def cadence_of(value: str) -> ForyouCadence:
    if value not in FORYOU_CADENCES:
        raise ValueError(f"the For-you digest is off, daily or weekly, not {value[:20]!r}")
    return value  # type: ignore[return-value]


@dataclass(slots=True)
class SubscribeResult:
    subscriber: Subscriber
    created: bool
    confirmation_id: int | None
    """The outbox row of the confirmation email, when one was planned."""


class Subscriptions:
    def __init__(self, settings: Settings, store: Store, tokens: Tokens | None = None) -> None:
        self.settings = settings
        self.store = store
        self.tokens = tokens or Tokens(settings.resolved_secret_key())

    # -- subscribe -----------------------------------------------------------------------
    def subscribe(
        self,
        email: str,
        kind: str = "daily",
        *,
        confirmed: bool = False,
        user_id: int | None = None,
        now: datetime | None = None,
    ) -> SubscribeResult:
        """Raises ``InvalidAddress`` with a message for the person who typed it."""
        if kind not in (*SUBSCRIBE_KINDS, "none"):
            raise InvalidAddress(f"choose daily or weekly, not {str(kind)[:20]!r}")
        address = normalize_address(email)
        now = now or utcnow()
        sub, created = self.store.upsert_subscriber(address, kind, confirmed=confirmed, user_id=user_id)  # type: ignore[arg-type]
        if confirmed or (sub.status == "confirmed" and sub.kind == kind):
            return SubscribeResult(sub, created, None)
        since = now - CONFIRM_COOLDOWN
        if sub.unsubscribed_at is not None and sub.unsubscribed_at > since:
            since = sub.unsubscribed_at  # coming back after leaving deserves a fresh link at once
        if self.store.recent_outbox(sub.id, "confirm", since) > 0:
            return SubscribeResult(sub, created, None)
        token = self.tokens.make("confirm", sub.id, sub.email, kind)
        return SubscribeResult(sub, created, plan_confirmation(self.store, sub.id, token, kind, now=now))

    def send_now(self, outbox_ids: list[int], *, lock_wait: float = 5.0) -> bool:
        """Send just-planned emails (confirmations) now; False when a running sender will."""
        if not outbox_ids:
            return True
        try:
            OutboxSender(self.settings, self.store).run(ids=outbox_ids, wait_for_retries=False, lock_wait=lock_wait)
        except SenderBusy:
            return False
        return True

    # -- confirm / unsubscribe -------------------------------------------------------------
    def confirm(self, token: str | None) -> Subscriber:
        """Raises ``TokenError`` (or ``TokenExpired``) with words for the page."""
        data = self.tokens.read("confirm", token, max_age_seconds=self.settings.digest_confirm_max_age_hours * 3600)
        sub = self._subscriber_for(data)
        kind = data.kind if data.kind in (*SUBSCRIBE_KINDS, "none") else None
        # An operator's or account's "none" must not downgrade a digest subscription.
        if kind == "none" and sub.kind != "none":
            kind = None
        confirmed = self.store.confirm_subscriber(sub.id, kind, data.issued_at)  # type: ignore[arg-type]
        if confirmed is None:
            raise TokenError("this link was sent before you unsubscribed: subscribe again to get a new one")
        return confirmed

    def check_unsubscribe(self, token: str | None) -> TokenData:
        return self.tokens.read(
            "unsubscribe", token, max_age_seconds=self.settings.digest_unsubscribe_max_age_days * 86400
        )

    def unsubscribe(self, token: str | None) -> Subscriber | None:
        """None when the address is no longer on the list (removed): nothing left to stop."""
        return self.leave(self.check_unsubscribe(token))

    def leave(self, data: TokenData) -> Subscriber | None:
        """What a checked unsubscribe link stops: a ``foryou`` link that digest only, any
        other link all mail to the address."""
        sub = self.store.get_subscriber(data.subscriber_id)
        if sub is None or sub.email.lower() != data.email.lower():
            return None
        if data.kind == "foryou":
            return self.store.set_foryou_digest(sub.id, "off")
        return self.store.unsubscribe(sub.id)

    # -- the For-you digest -----------------------------------------------------------------
    def foryou_address(self, user: User) -> Subscriber | None:
        """The address a user's For-you digest goes to: the one it is on, else the account's
        own address, else one their alerts go to; only ever one linked to this user (or the
        account's address not yet linked to anyone)."""
        store = self.store
        mine = store.user_subscribers(user.id)
        chosen = next((s for s in mine if s.foryou != "off"), None)
        if chosen is not None:
            return chosen
        if user.email:
            own = store.get_subscriber_by_email(user.email)
            if own is not None and own.user_id in (None, user.id):
                return own
        usable = [s for s in mine if s.status in ("confirmed", "pending")]
        return usable[0] if usable else None

    def set_foryou(self, user: User, cadence: str) -> Subscriber:
        """Raises ``ValueError`` with words for the page when there is no usable address."""
        if cadence not in FORYOU_CADENCES:
            raise ValueError("choose off, daily or weekly")
        sub = self.foryou_address(user)
        if sub is None or sub.status not in ("confirmed", "pending"):
            if cadence == "off":
                raise ValueError("you get no For-you digest")
            raise ValueError("subscribe an address first (the box on this page), then choose the For-you digest")
        if sub.user_id is None:
            self.store.link_subscriber_user(sub.id, user.id)
        chosen = self.store.set_foryou_digest(sub.id, cadence_of(cadence), user_id=user.id)
        if chosen is None:
            raise ValueError("this address belongs to another account")
        return chosen

    def _subscriber_for(self, data: TokenData) -> Subscriber:
        sub = self.store.get_subscriber(data.subscriber_id)
        if sub is None or sub.email.lower() != data.email.lower():
            raise TokenError("this subscription no longer exists: subscribe again")
        return sub

    # -- saved-search alerts ----------------------------------------------------------------
    def add_alert(
        self, user_id: int, email: str, query: str, category: str | None = None
    ) -> tuple[SavedSearch, SubscribeResult]:
        """Save a query for a logged-in user; its alerts go to ``email`` once confirmed.

        Raises ``ValueError`` (``InvalidAddress``, ``QueryError``) with a user-facing message.
        """
        from ..search.query import parse_query

        one_line(query or "", "the query")  # refused, not folded: it ends up in a Subject
        query = " ".join((query or "").split())
        if not query:
            raise ValueError("enter a search query to be alerted about")
        if len(query) > MAX_SAVED_QUERY:
            raise ValueError(f"a saved search has at most {MAX_SAVED_QUERY} characters")
        if parse_query(query).is_empty:
            raise ValueError("the query needs at least one word to look for")
        category = (category or "").strip() or None
        if category is not None:
            from ..models import _CATEGORY

            if len(category) > 40 or not _CATEGORY.match(category):
                raise ValueError(f"{category[:40]!r} is not an arXiv category (e.g. cs.CL)")
        if len(self.store.list_saved_searches(user_id=user_id)) >= MAX_SAVED_SEARCHES:
            raise ValueError(f"you can save at most {MAX_SAVED_SEARCHES} searches")
        existing = self.store.get_subscriber_by_email(normalize_address(email))
        kind = existing.kind if existing is not None else "none"
        result = self.subscribe(email, kind, user_id=user_id)
        if result.subscriber.user_id is None:
            self.store.link_subscriber_user(result.subscriber.id, user_id)
        last = self.store.feed_days(limit=1)
        last_day: date | None = last[0] if last else None
        saved, _ = self.store.add_saved_search(user_id, result.subscriber.id, query, category, last_day)
        return saved, result
