"""Random secrets (session cookies, API tokens) and the hashes the store keeps of them.

Only a SHA-256 of each secret reaches the database: the secrets are 256-bit random, so a
fast hash is enough and lets every request look a token up by its hash in one index probe.
"""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "pb_"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
