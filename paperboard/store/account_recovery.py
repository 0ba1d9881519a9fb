"""Accounts people can recover and leave: reset and address-change tokens, the user's own data
as one document, and deleting an account.

A token is used in the same transaction as the change it allows (a conditional ``UPDATE ...
WHERE used_at IS NULL``), so two clicks racing on one link change the account once; the
loser is told the link was used. Everything else a use implies happens in that transaction
too: a reset ends every session and voids the account's other reset links, an address
change voids every link sent to the old address.

Deleting an account removes its votes and recounts each paper it had voted on
(``upvotes = base_upvotes + votes``, the invariant the votes domain keeps), with the papers'
rows locked first on PostgreSQL so a vote racing the deletion is counted exactly. The SQL is
written once for both backends (``store.sql``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from .accounts import User, chunks
from .sql import Dialect, now

TokenPurpose = Literal["reset", "email"]
SWEEP_AFTER = timedelta(days=1)
"""Expired tokens are kept a day, so a late click is told "expired", not "not valid"."""


class TokenRefused(ValueError):
    """A link that cannot be used, with words for the page that says so. Nothing changed."""


@dataclass(frozen=True, slots=True)
class AccountToken:
    token_hash: str
    user_id: int
    purpose: TokenPurpose
    email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Deletion:
    """What deleting an account removed (or, for comments kept, anonymised)."""

    votes: int
    comments_deleted: int
    comments_kept: int
    subscriptions: int


class AccountRecoveryStore:
    """Mixed into both stores; ``_db``/``_dialect`` come from the concrete store."""

    _db: Any
    _dialect: Dialect
    _user_of: Callable[[Any], User]
    _write: Callable[..., Any]

    def _q(self, text: str) -> str:
        return self._dialect.sql(text)

    def _iso(self, value: Any) -> str | None:
        ts = self._dialect.read_ts(value)
        return ts.isoformat() if ts is not None else None

    def _user_row(self, conn: Any, user_id: int) -> Any:
        return conn.execute(
            self._q(
                "SELECT id, username, email, is_admin, created_at, display_name FROM users WHERE id = ?"
            ),
            (user_id,),
        ).fetchone()

    # -- finding accounts -------------------------------------------------------------------
    def users_by_email(self, email: str) -> list[User]:
        """Every account with this address (case-insensitively; addresses need not be unique)."""
        with self._db.reader() as conn:
            rows = conn.execute(
                self._q("SELECT id, username, email, is_admin, created_at FROM users"
                        " WHERE lower(email) = lower(?) ORDER BY id"),
                (email,),
            ).fetchall()  # fmt: skip
        return [self._user_of(r) for r in rows]

    # -- tokens -----------------------------------------------------------------------------
    def create_account_token(
        self, user_id: int, purpose: TokenPurpose, token_hash: str, email: str, expires_at: datetime
    ) -> None:
        """Record a link just mailed; tokens expired for a day are swept on the way."""
        d, t = self._dialect, now()
        with self._db.writer() as conn:
            conn.execute(
                self._q("DELETE FROM account_tokens WHERE expires_at < ?"), (d.ts(t - SWEEP_AFTER),)
            )
            conn.execute(
                self._q("INSERT INTO account_tokens (token_hash, user_id, purpose, email, created_at, expires_at)"
                        " VALUES (?, ?, ?, ?, ?, ?)"),
                (token_hash, user_id, purpose, email, d.ts(t), d.ts(expires_at)),
            )  # fmt: skip

    def account_token(self, token_hash: str) -> AccountToken | None:
        with self._db.reader() as conn:
            row = conn.execute(
                self._q("SELECT * FROM account_tokens WHERE token_hash = ?"), (token_hash,)
            ).fetchone()
        return self._token(row) if row else None

    def _token(self, row: Any) -> AccountToken:
        d = self._dialect
        return AccountToken(
            row["token_hash"], row["user_id"], row["purpose"], row["email"], d.read_ts(row["created_at"]),  # type: ignore[arg-type]
            d.read_ts(row["expires_at"]), d.read_ts(row["used_at"]),  # type: ignore[arg-type]
        )  # fmt: skip

    def _usable(
        self, conn: Any, token_hash: str, user_id: int, purpose: TokenPurpose, at: datetime
    ) -> tuple[AccountToken, Any]:
        """The token row and its account's row, or ``TokenRefused`` saying why not."""
        row = conn.execute(
            self._q("SELECT * FROM account_tokens WHERE token_hash = ?"), (token_hash,)
        ).fetchone()
        token = self._token(row) if row else None
        if token is None or token.purpose != purpose or token.user_id != user_id:
            raise TokenRefused(
                "this link is not valid: it may have been cut or changed, or its account is gone"
            )
        if token.used_at is not None:
            raise TokenRefused(
                "this link was already used, or a newer change to the account replaced it"
            )
        if token.expires_at <= at:
            raise TokenRefused("this link has expired")
        user = self._user_row(conn, user_id)
        if user is None:
            raise TokenRefused("this account no longer exists")
        if purpose == "reset" and (user["email"] or "").lower() != token.email.lower():
            raise TokenRefused("this link was sent to an address the account no longer has")
        return token, user

    def check_account_token(self, token_hash: str, user_id: int, purpose: TokenPurpose) -> User:
        """The account a link would change, or ``TokenRefused``; changes nothing."""
        with self._db.reader() as conn:
            return self._user_of(self._usable(conn, token_hash, user_id, purpose, now())[1])

    def _use(self, conn: Any, token_hash: str, at: datetime) -> None:
        cur = conn.execute(
            self._q(
                "UPDATE account_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
            ),
            (self._dialect.ts(at), token_hash),
        )
        if cur.rowcount != 1:  # another request used it between our read and this write
            raise TokenRefused("this link was already used: each link works once")

    def _void(
        self, conn: Any, user_id: int, purposes: tuple[TokenPurpose, ...], at: datetime
    ) -> None:
        for purpose in purposes:
            conn.execute(
                self._q(
                    "UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL"
                ),
                (self._dialect.ts(at), user_id, purpose),
            )

    def reset_password_with_token(self, token_hash: str, user_id: int, password_hash: str) -> User:
        """Set the password a reset link allows, end every session of the account and void
        its other reset links, all at once; ``TokenRefused`` changes nothing."""

        def work(conn: Any) -> User:
            at = now()
            _, user = self._usable(conn, token_hash, user_id, "reset", at)
            self._use(conn, token_hash, at)
            conn.execute(
                self._q("UPDATE users SET password_hash = ? WHERE id = ?"), (password_hash, user_id)
            )
            conn.execute(self._q("DELETE FROM sessions WHERE user_id = ?"), (user_id,))
            self._void(conn, user_id, ("reset",), at)
            return self._user_of(user)

        return self._write(work)

    def change_email_with_token(self, token_hash: str, user_id: int) -> User:
        """Set the address a confirmation link was mailed to; links sent to the old address
        (resets, other changes) stop working."""

        def work(conn: Any) -> User:
            at = now()
            token, _ = self._usable(conn, token_hash, user_id, "email", at)
            self._use(conn, token_hash, at)
            conn.execute(self._q("UPDATE users SET email = ? WHERE id = ?"), (token.email, user_id))
            self._void(conn, user_id, ("reset", "email"), at)
            return self._user_of(self._user_row(conn, user_id))

        return self._write(work)

    # -- the user's own data ----------------------------------------------------------------
    def export_account(self, user_id: int) -> dict[str, Any] | None:
        """Everything this account did or saved, as plain JSON values (None: no account)."""
        q, iso = self._q, self._iso
        with self._db.reader() as conn:
            u = self._user_row(conn, user_id)
            if u is None:
                return None

            def rows(sql: str) -> list[Any]:
                return conn.execute(q(sql), (user_id,)).fetchall()

            collections = []
            for c in rows("SELECT id, name, is_public, share_token, created_at FROM collections"
                          " WHERE user_id = ? ORDER BY id"):  # fmt: skip
                papers = conn.execute(
                    q(
                        "SELECT paper_id FROM collection_items WHERE collection_id = ? ORDER BY added_at, paper_id"
                    ),
                    (c["id"],),
                ).fetchall()
                collections.append({
                    "name": c["name"], "public": bool(c["is_public"]), "created_at": iso(c["created_at"]),
                    "share_path": f"/c/{c['share_token']}" if c["is_public"] else None,
                    "papers": [p["paper_id"] for p in papers],
                })  # fmt: skip
            return {
                "profile": {
                    "id": u["id"], "username": u["username"], "email": u["email"],
                    "display_name": u["display_name"], "is_admin": bool(u["is_admin"]),
                    "created_at": iso(u["created_at"]),
                },
                "votes": [{"paper_id": r["paper_id"], "created_at": iso(r["created_at"])}
                          for r in rows("SELECT paper_id, created_at FROM votes WHERE user_id = ?"
                                        " ORDER BY created_at, paper_id")],
                "comments": [{"id": r["id"], "paper_id": r["paper_id"], "body": r["body"],
                              "created_at": iso(r["created_at"]), "hidden": bool(r["hidden"])}
                             for r in rows("SELECT id, paper_id, body, created_at, hidden FROM comments"
                                           " WHERE user_id = ? ORDER BY created_at, id")],
                "library": [{"paper_id": r["paper_id"], "note": r["note"], "saved_at": iso(r["saved_at"])}
                            for r in rows("SELECT paper_id, note, saved_at FROM library_items WHERE user_id = ?"
                                          " ORDER BY saved_at, paper_id")],
                "collections": collections,
                "dismissals": [{"paper_id": r["paper_id"], "dismissed_at": iso(r["dismissed_at"])}
                               for r in rows("SELECT paper_id, dismissed_at FROM dismissals WHERE user_id = ?"
                                             " ORDER BY dismissed_at, paper_id")],
                "pending_imports": [{"arxiv_id": r["arxiv_id"], "created_at": iso(r["created_at"])}
                                    for r in rows("SELECT arxiv_id, created_at FROM library_pending"
                                                  " WHERE user_id = ? ORDER BY created_at, arxiv_id")],
                "authorship_claims": [{"paper_id": r["paper_id"], "author_name": r["author_name"],
                                       "status": r["status"], "created_at": iso(r["created_at"]),
                                       "decided_at": iso(r["decided_at"])}
                                      for r in rows("SELECT paper_id, author_name, status, created_at, decided_at"
                                                    " FROM authorship_claims WHERE user_id = ? ORDER BY id")],
                "subscriptions": [{"email": r["email"], "kind": r["kind"], "foryou": r["foryou"],
                                   "status": r["status"], "created_at": iso(r["created_at"]),
                                   "confirmed_at": iso(r["confirmed_at"])}
                                  for r in rows("SELECT email, kind, foryou, status, created_at, confirmed_at"
                                                " FROM subscribers WHERE user_id = ? ORDER BY id")],
                "saved_searches": [{"query": r["query"], "category": r["category"] or None,
                                    "created_at": iso(r["created_at"])}
                                   for r in rows("SELECT query, category, created_at FROM saved_searches"
                                                 " WHERE user_id = ? ORDER BY id")],
            }  # fmt: skip

    # -- leaving ----------------------------------------------------------------------------
    def delete_account(self, user_id: int, *, keep_comments: bool) -> Deletion | None:
        """Delete the account and everything of its own, in one transaction (None: no account).

        Its votes go and each paper it voted on is recounted; its comments stay without an
        author (shown as "deleted user") or go, as ``keep_comments`` says; the addresses it
        linked to the mailing list leave the list with it (an address it subscribed is its
        own data); the papers it submitted stay, no longer naming it. The rest (sessions,
        tokens, library, collections, dismissals, claims, saved searches) goes with the row.
        """
        q, is_pg = self._q, self._dialect.name == "postgresql"

        def work(conn: Any) -> Deletion | None:
            user = self._user_row(conn, user_id)
            if user is None:
                return None
            voted = [r["paper_id"] for r in conn.execute(
                q("SELECT paper_id FROM votes WHERE user_id = ? ORDER BY paper_id"), (user_id,))]  # fmt: skip
            if is_pg:  # a concurrent vote waits for us, then recounts with our deletion seen
                for part in chunks(voted):
                    conn.execute(q(f"SELECT id FROM papers WHERE id IN ({', '.join('?' * len(part))})"
                                   " ORDER BY id FOR NO KEY UPDATE"), part).fetchall()  # fmt: skip
            conn.execute(q("DELETE FROM votes WHERE user_id = ?"), (user_id,))
            for part in chunks(voted):
                conn.execute(
                    q("UPDATE papers SET upvotes = base_upvotes + (SELECT COUNT(*) FROM votes v"
                      f" WHERE v.paper_id = papers.id) WHERE id IN ({', '.join('?' * len(part))})"),
                    part,
                )  # fmt: skip
            n_comments = conn.execute(q("SELECT COUNT(*) AS n FROM comments WHERE user_id = ?"),
                                      (user_id,)).fetchone()["n"]  # fmt: skip
            if keep_comments:
                conn.execute(q("UPDATE comments SET user_id = NULL WHERE user_id = ?"), (user_id,))
            else:
                conn.execute(q("DELETE FROM comments WHERE user_id = ?"), (user_id,))
            subs = conn.execute(q("DELETE FROM subscribers WHERE user_id = ?"), (user_id,)).rowcount
            conn.execute(
                q("UPDATE papers SET submitted_by = NULL WHERE submitted_by = ?"),
                (user["username"],),
            )
            conn.execute(
                q("DELETE FROM login_failures WHERE key = ?"), ("user:" + user["username"].lower(),)
            )
            conn.execute(q("DELETE FROM users WHERE id = ?"), (user_id,))
            return Deletion(
                len(voted),
                0 if keep_comments else n_comments,
                n_comments if keep_comments else 0,
                subs,
            )

        return self._write(work)
