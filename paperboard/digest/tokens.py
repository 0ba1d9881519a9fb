"""Signed, expiring links for confirming and leaving a subscription, usable without a login.

Each purpose has its own salt, so a confirmation token can never be replayed as an
unsubscribe token (or the reverse). The address is inside the signed payload: a token keeps
naming the address it was sent to even if row ids are later reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

Purpose = Literal["confirm", "unsubscribe"]
_SALTS = {"confirm": "paperboard.digest.confirm", "unsubscribe": "paperboard.digest.unsubscribe"}
MAX_TOKEN = 1_000


class TokenError(ValueError):
    """Why a link did not work, in words for the page that shows it."""


class TokenExpired(TokenError):
    pass


@dataclass(frozen=True, slots=True)
class TokenData:
    subscriber_id: int
    email: str
    kind: str | None
    issued_at: datetime


class Tokens:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a secret key is required to sign email links")
        self._signers = {p: URLSafeTimedSerializer(secret, salt=s) for p, s in _SALTS.items()}

    def make(self, purpose: Purpose, subscriber_id: int, email: str, kind: str | None = None) -> str:
        # A precise issue time (the signer's own is whole seconds): an unsubscribe and a new
        # subscription can fall in the same second, and only links after the unsubscribe count.
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        payload: dict[str, object] = {"s": subscriber_id, "e": email.lower(), "t": now}
        if kind:
            payload["k"] = kind
        return self._signers[purpose].dumps(payload)

    def read(self, purpose: Purpose, token: str | None, *, max_age_seconds: int) -> TokenData:
        if not token:
            raise TokenError("this link is incomplete: copy the whole link from the email")
        if len(token) > MAX_TOKEN:
            raise TokenError("this link is not valid: it may have been changed")
        try:
            payload, issued = self._signers[purpose].loads(
                token, max_age=max_age_seconds, return_timestamp=True
            )
        except SignatureExpired:
            raise TokenExpired("this link has expired") from None
        except BadSignature:
            raise TokenError("this link is not valid: it may have been cut or changed") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
            raise TokenError("this link is not valid")
        email = payload.get("e")
        kind = payload.get("k")
        if not isinstance(email, str) or (kind is not None and not isinstance(kind, str)):
            raise TokenError("this link is not valid")
        try:
            issued = datetime.fromisoformat(str(payload.get("t")))
        except ValueError:
            issued = issued if issued.tzinfo else issued.replace(tzinfo=UTC)
        return TokenData(payload["s"], email, kind, issued)
