"""Signed, single-use links that let an account be recovered (password reset) or moved to a
new address (address change), mailed by ``account_mail``.

A link's token is signed (itsdangerous, one salt per purpose, so a reset token is never an
address-change token) and carries the account's id and a random nonce. The signature
turns away a cut or altered link before the database is asked; the store keeps only a
SHA-256 of the nonce, with the account, purpose, address and expiry, and marks it used in
the transaction that uses it. So a link works once, for its own account, within its time.
"""

from __future__ import annotations

import secrets
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .tokens import token_hash

Purpose = Literal["reset", "email"]
MAX_AGE_SECONDS: dict[Purpose, int] = {"reset": 3600, "email": 24 * 3600}
"""A reset link is a key to the account: an hour. Confirming a new address: a day."""
_SALTS: dict[Purpose, str] = {
    "reset": "paperboard.account.reset",
    "email": "paperboard.account.email",
}
MAX_TOKEN = 500


class LinkError(ValueError):
    """Why a link does not work, in words for the page that says so."""


class AccountLinks:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a secret key is required to sign account links")
        self._signers = {p: URLSafeTimedSerializer(secret, salt=s) for p, s in _SALTS.items()}

    def make(self, purpose: Purpose, user_id: int) -> tuple[str, str]:
        """A new token and the hash the store keeps of it."""
        nonce = secrets.token_urlsafe(24)
        return self._signers[purpose].dumps({"u": user_id, "n": nonce}), token_hash(nonce)

    def read(self, purpose: Purpose, token: str | None) -> tuple[int, str]:
        """The account id and the stored hash a token names, or ``LinkError``."""
        if not token:
            raise LinkError("this link is incomplete: copy the whole link from the email")
        if len(token) > MAX_TOKEN:
            raise LinkError("this link is not valid: it may have been changed")
        try:
            payload = self._signers[purpose].loads(token, max_age=MAX_AGE_SECONDS[purpose])
        except SignatureExpired:
            raise LinkError("this link has expired") from None
        except BadSignature:
            raise LinkError("this link is not valid: it may have been cut or changed") from None
        if (
            not isinstance(payload, dict)
            or type(payload.get("u")) is not int
            or not isinstance(payload.get("n"), str)
        ):
            raise LinkError("this link is not valid")
        return payload["u"], token_hash(payload["n"])
