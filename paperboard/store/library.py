"""The "For you" domain: a user's library, collections, dismissals and authorship claims.

Everything here is one user's own data, so every read takes the user id and a row of another
user is indistinguishable from a missing one (the web answers 404 for both, so ids leak
nothing). The SQL is written once for both backends (``store.sql``): the statements are
plain joins and ``ON CONFLICT`` upserts, on which SQLite and PostgreSQL agree.

A collection holds library items, not papers: unsaving a paper takes it out of every
collection in the same statement (a foreign key), so the two can never disagree.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..ids import lookup_key
from ..models import Paper
from .sql import Dialect, now

ClaimStatus = Literal["pending", "approved", "refused"]

MAX_COLLECTION_NAME = 80
MAX_NOTE = 2000
MAX_COLLECTIONS = 200
MAX_ID = 2**63
"""Ids are 64-bit on both backends: a larger one from a URL is simply not there."""


class LibraryError(ValueError):
    """A request the library refuses, with a message for the user (unknown or hidden paper,
    a bad collection name); never half-applied."""


class NotFound(LibraryError):
    """Missing, or another user's: the same answer for both."""


@dataclass(frozen=True, slots=True)
class Collection:
    id: int
    user_id: int
    name: str
    is_public: bool
    share_token: str
    created_at: datetime
    size: int = 0


@dataclass(frozen=True, slots=True)
class LibraryItem:
    paper: Paper
    note: str | None
    saved_at: datetime
    collections: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    user_id: int
    username: str
    paper_id: str
    paper_title: str
    author_name: str
    status: ClaimStatus
    created_at: datetime
    decided_at: datetime | None


@dataclass(slots=True)
class Signals:
    """What a user has told us, as paper keys (the recommender's input)."""

    saved: dict[int, str] = field(default_factory=dict)  # key -> paper id
    upvoted: dict[int, str] = field(default_factory=dict)
    claimed: dict[int, str] = field(default_factory=dict)
    dismissed: dict[int, str] = field(default_factory=dict)

    @property
    def positive_ids(self) -> dict[int, str]:
        return {**self.upvoted, **self.saved, **self.claimed}


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise LibraryError("a collection needs a name")
    if len(name) > MAX_COLLECTION_NAME:
        raise LibraryError(f"a collection name is at most {MAX_COLLECTION_NAME} characters")
    return name


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise LibraryError(f"a note is at most {MAX_NOTE} characters")
    return note or None


class LibraryStore:
    """Mixed into both stores; ``_dialect`` says which SQL flavour their connections speak."""

    _db: Any
    _dialect: Dialect

    def _q(self, text: str) -> str:
        return self._dialect.sql(text)

    def _visible_id(self, conn, paper_id: str) -> str:
        """The current id of a visible paper (aliases followed); LibraryError otherwise."""
        q = self._q
        pid = self._current_id(conn, paper_id)
        row = conn.execute(q("SELECT id, hidden FROM papers WHERE id = ?"), (pid,)).fetchone()
        if row is None or row["hidden"]:
            raise NotFound(f"no paper {paper_id!r} here")
        return row["id"]

    def _current_id(self, conn, paper_id: str) -> str:
        """A merged seed card's local id becomes its paper's id; any other id stays as it is."""
        paper_id = lookup_key(paper_id)
        row = conn.execute(self._q("SELECT paper_id FROM paper_aliases WHERE alias = ?"), (paper_id,)).fetchone()
        return row["paper_id"] if row else paper_id

    def _own_collection(self, conn, user_id: int, collection_id: int) -> None:
        if not 0 < int(collection_id) < MAX_ID:
            raise NotFound("no such collection")
        row = conn.execute(
            self._q("SELECT 1 AS one FROM collections WHERE id = ? AND user_id = ?"), (int(collection_id), user_id)
        ).fetchone()
        if row is None:
            raise NotFound("no such collection")

    # -- the library ----------------------------------------------------------------------
    def save_paper(
        self, user_id: int, paper_id: str, *, note: str | None = None, collection_id: int | None = None
    ) -> bool:
        """Save (idempotent: a second save keeps the first date); True if newly saved. A note
        given replaces the note; a collection given also files it there."""
        note = _clean_note(note)
        with self._db.writer() as conn:
            pid = self._visible_id(conn, paper_id)
            if collection_id is not None:
                self._own_collection(conn, user_id, collection_id)
            cur = conn.execute(
                self._q("INSERT INTO library_items (user_id, paper_id, note, saved_at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (user_id, paper_id) DO NOTHING"),
                (user_id, pid, note, self._dialect.ts(now())),
            )  # fmt: skip
            created = cur.rowcount > 0
            if note is not None and not created:
                conn.execute(
                    self._q("UPDATE library_items SET note = ? WHERE user_id = ? AND paper_id = ?"), (note, user_id, pid)
                )
            if collection_id is not None:
                self._file(conn, user_id, int(collection_id), pid)
            conn.execute(self._q("DELETE FROM dismissals WHERE user_id = ? AND paper_id = ?"), (user_id, pid))
            conn.execute(self._q("DELETE FROM library_pending WHERE user_id = ? AND arxiv_id = ?"), (user_id, pid))
            return created

    def unsave_paper(self, user_id: int, paper_id: str) -> bool:
        with self._db.writer() as conn:
            q = self._q
            pid = self._current_id(conn, paper_id)
            cur = conn.execute(q("DELETE FROM library_items WHERE user_id = ? AND paper_id = ?"), (user_id, pid))
            return cur.rowcount > 0

    def set_note(self, user_id: int, paper_id: str, note: str | None) -> None:
        note = _clean_note(note)
        with self._db.writer() as conn:
            pid = self._visible_id(conn, paper_id)
            cur = conn.execute(
                self._q("UPDATE library_items SET note = ? WHERE user_id = ? AND paper_id = ?"), (note, user_id, pid)
            )
            if cur.rowcount == 0:
                raise NotFound("save the paper first")

    def library(
        self, user_id: int, *, collection_id: int | None = None, limit: int = 50, offset: int = 0
    ) -> list[LibraryItem]:
        """Saved papers, newest first (visible ones only), optionally one collection's."""
        with self._db.reader() as conn:
            if collection_id is not None:
                self._own_collection(conn, user_id, collection_id)
                rows = conn.execute(
                    self._q("SELECT l.paper_id, l.note, l.saved_at FROM collection_items c"
                            " JOIN library_items l ON l.user_id = c.user_id AND l.paper_id = c.paper_id"
                            " JOIN papers p ON p.id = l.paper_id"
                            " WHERE c.collection_id = ? AND c.user_id = ? AND p.hidden = ?"
                            " ORDER BY l.saved_at DESC, l.paper_id DESC LIMIT ? OFFSET ?"),
                    (int(collection_id), user_id, self._dialect.flag(False), limit, offset),
                ).fetchall()  # fmt: skip
            else:
                rows = conn.execute(
                    self._q("SELECT l.paper_id, l.note, l.saved_at FROM library_items l"
                            " JOIN papers p ON p.id = l.paper_id WHERE l.user_id = ? AND p.hidden = ?"
                            " ORDER BY l.saved_at DESC, l.paper_id DESC LIMIT ? OFFSET ?"),
                    (user_id, self._dialect.flag(False), limit, offset),
                ).fetchall()  # fmt: skip
            ids = [r["paper_id"] for r in rows]
            filed: dict[str, list[str]] = {}
            for i in range(0, len(ids), 500):  # an export reads every saved paper: stay under bind limits
                part = ids[i : i + 500]
                marks = ", ".join("?" * len(part))
                for r in conn.execute(
                    self._q("SELECT ci.paper_id, c.name FROM collection_items ci JOIN collections c ON c.id = ci.collection_id"
                            f" WHERE ci.user_id = ? AND ci.paper_id IN ({marks}) ORDER BY c.name"),
                    (user_id, *part),
                ):  # fmt: skip
                    filed.setdefault(r["paper_id"], []).append(r["name"])
        papers = self.get_papers(ids)  # type: ignore[attr-defined]
        read_ts = self._dialect.read_ts
        return [
            LibraryItem(papers[r["paper_id"]], r["note"], read_ts(r["saved_at"]), tuple(filed.get(r["paper_id"], ())))
            for r in rows
            if r["paper_id"] in papers
        ]

    def library_size(self, user_id: int) -> int:
        with self._db.reader() as conn:
            return conn.execute(
                self._q("SELECT COUNT(*) AS n FROM library_items WHERE user_id = ?"), (user_id,)
            ).fetchone()["n"]

    def _marked(self, table: str, user_id: int, paper_ids: list[str]) -> set[str]:
        if not paper_ids:
            return set()
        out: set[str] = set()
        with self._db.reader() as conn:
            for i in range(0, len(paper_ids), 500):
                part = list(paper_ids[i : i + 500])
                marks = ", ".join("?" * len(part))
                out.update(
                    r["paper_id"]
                    for r in conn.execute(
                        self._q(f"SELECT paper_id FROM {table} WHERE user_id = ? AND paper_id IN ({marks})"),
                        (user_id, *part),
                    )
                )
        return out

    def saved_ids(self, user_id: int, paper_ids: list[str]) -> set[str]:
        """Which of these papers the user saved (a card's saved state)."""
        return self._marked("library_items", user_id, paper_ids)

    def dismissed_ids(self, user_id: int, paper_ids: list[str]) -> set[str]:
        return self._marked("dismissals", user_id, paper_ids)

    # -- collections ----------------------------------------------------------------------
    def create_collection(self, user_id: int, name: str, *, public: bool = False) -> Collection:
        name = _clean_name(name)
        with self._db.writer() as conn:
            q = self._q
            count = conn.execute(q("SELECT COUNT(*) AS n FROM collections WHERE user_id = ?"), (user_id,)).fetchone()["n"]
            if count >= MAX_COLLECTIONS:
                raise LibraryError(f"at most {MAX_COLLECTIONS} collections")
            taken = conn.execute(q("SELECT 1 AS one FROM collections WHERE user_id = ? AND name = ?"), (user_id, name))
            if taken.fetchone() is not None:
                raise LibraryError(f"you already have a collection named {name!r}")
            row = conn.execute(
                q("INSERT INTO collections (user_id, name, is_public, share_token, created_at) VALUES (?, ?, ?, ?, ?)"
                  " RETURNING id, user_id, name, is_public, share_token, created_at"),
                (user_id, name, self._dialect.flag(public), secrets.token_urlsafe(12), self._dialect.ts(now())),
            ).fetchone()  # fmt: skip
            return self._collection(row)

    def _collection(self, row, size: int = 0) -> Collection:
        return Collection(
            row["id"], row["user_id"], row["name"], bool(row["is_public"]), row["share_token"],
            self._dialect.read_ts(row["created_at"]), size,
        )  # fmt: skip

    _COLLECTION_SQL = (
        "SELECT c.id, c.user_id, c.name, c.is_public, c.share_token, c.created_at,"
        " (SELECT COUNT(*) FROM collection_items ci JOIN papers p ON p.id = ci.paper_id"
        "  WHERE ci.collection_id = c.id AND p.hidden = ?) AS size FROM collections c"
    )

    def collections(self, user_id: int) -> list[Collection]:
        with self._db.reader() as conn:
            rows = conn.execute(
                self._q(self._COLLECTION_SQL + " WHERE c.user_id = ? ORDER BY c.name"), (self._dialect.flag(False), user_id)
            ).fetchall()
        return [self._collection(r, r["size"]) for r in rows]

    def get_collection(self, collection_id: int, *, viewer_id: int | None) -> Collection:
        """The owner's collection, or a public one for anyone; NotFound otherwise."""
        if not 0 < int(collection_id) < MAX_ID:
            raise NotFound("no such collection")
        with self._db.reader() as conn:
            row = conn.execute(
                self._q(self._COLLECTION_SQL + " WHERE c.id = ?"), (self._dialect.flag(False), int(collection_id))
            ).fetchone()
        if row is None or not (row["is_public"] or row["user_id"] == viewer_id):
            raise NotFound("no such collection")
        return self._collection(row, row["size"])

    def collection_by_token(self, token: str) -> Collection:
        """A collection by its share link (public ones only: a private one's link is dead)."""
        with self._db.reader() as conn:
            row = conn.execute(
                self._q(self._COLLECTION_SQL + " WHERE c.share_token = ?"), (self._dialect.flag(False), token)
            ).fetchone()
        if row is None or not row["is_public"]:
            raise NotFound("no such collection")
        return self._collection(row, row["size"])

    def collection_papers(self, collection_id: int, *, viewer_id: int | None, limit: int = 200) -> list[Paper]:
        """A collection's papers, newest filed first; the viewer must be allowed to see it."""
        coll = self.get_collection(collection_id, viewer_id=viewer_id)
        with self._db.reader() as conn:
            ids = [
                r["paper_id"]
                for r in conn.execute(
                    self._q("SELECT paper_id FROM collection_items WHERE collection_id = ?"
                            " ORDER BY added_at DESC, paper_id DESC LIMIT ?"),
                    (coll.id, limit),
                )
            ]  # fmt: skip
        papers = self.get_papers(ids)  # type: ignore[attr-defined]
        return [papers[i] for i in ids if i in papers]

    def update_collection(
        self, user_id: int, collection_id: int, *, name: str | None = None, public: bool | None = None
    ) -> Collection:
        with self._db.writer() as conn:
            self._own_collection(conn, user_id, collection_id)
            if name is not None:
                name = _clean_name(name)
                clash = conn.execute(
                    self._q("SELECT 1 AS one FROM collections WHERE user_id = ? AND name = ? AND id <> ?"),
                    (user_id, name, int(collection_id)),
                ).fetchone()
                if clash is not None:
                    raise LibraryError(f"you already have a collection named {name!r}")
                conn.execute(self._q("UPDATE collections SET name = ? WHERE id = ?"), (name, int(collection_id)))
            if public is not None:
                conn.execute(
                    self._q("UPDATE collections SET is_public = ? WHERE id = ?"),
                    (self._dialect.flag(public), int(collection_id)),
                )
        return self.get_collection(collection_id, viewer_id=user_id)

    def delete_collection(self, user_id: int, collection_id: int) -> None:
        """The collection goes; its papers stay in the library."""
        with self._db.writer() as conn:
            self._own_collection(conn, user_id, collection_id)
            conn.execute(self._q("DELETE FROM collections WHERE id = ?"), (int(collection_id),))

    def _file(self, conn, user_id: int, collection_id: int, pid: str) -> None:
        conn.execute(
            self._q("INSERT INTO collection_items (collection_id, user_id, paper_id, added_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (collection_id, paper_id) DO NOTHING"),
            (collection_id, user_id, pid, self._dialect.ts(now())),
        )  # fmt: skip

    def add_to_collection(self, user_id: int, collection_id: int, paper_id: str) -> None:
        """File a paper (saving it first if needed)."""
        self.save_paper(user_id, paper_id, collection_id=collection_id)

    def remove_from_collection(self, user_id: int, collection_id: int, paper_id: str) -> bool:
        with self._db.writer() as conn:
            self._own_collection(conn, user_id, collection_id)
            pid = self._current_id(conn, paper_id)
            cur = conn.execute(
                self._q("DELETE FROM collection_items WHERE collection_id = ? AND paper_id = ?"), (int(collection_id), pid)
            )
            return cur.rowcount > 0

    # -- dismissals -----------------------------------------------------------------------
    def dismiss_paper(self, user_id: int, paper_id: str) -> bool:
        """"Not interested": True if new. A dismissed paper is not a saved one."""
        with self._db.writer() as conn:
            pid = self._visible_id(conn, paper_id)
            conn.execute(self._q("DELETE FROM library_items WHERE user_id = ? AND paper_id = ?"), (user_id, pid))
            cur = conn.execute(
                self._q("INSERT INTO dismissals (user_id, paper_id, dismissed_at) VALUES (?, ?, ?)"
                        " ON CONFLICT (user_id, paper_id) DO NOTHING"),
                (user_id, pid, self._dialect.ts(now())),
            )  # fmt: skip
            return cur.rowcount > 0

    def undismiss_paper(self, user_id: int, paper_id: str) -> bool:
        with self._db.writer() as conn:
            pid = self._current_id(conn, paper_id)
            cur = conn.execute(self._q("DELETE FROM dismissals WHERE user_id = ? AND paper_id = ?"), (user_id, pid))
            return cur.rowcount > 0

    def dismissed(self, user_id: int, *, limit: int = 200) -> list[Paper]:
        with self._db.reader() as conn:
            ids = [
                r["paper_id"]
                for r in conn.execute(
                    self._q("SELECT paper_id FROM dismissals WHERE user_id = ? ORDER BY dismissed_at DESC LIMIT ?"),
                    (user_id, limit),
                )
            ]
        papers = self.get_papers(ids)  # type: ignore[attr-defined]
        return [papers[i] for i in ids if i in papers]

    # -- authorship claims ----------------------------------------------------------------
    def set_display_name(self, user_id: int, name: str | None) -> None:
        name = " ".join((name or "").split()) or None
        if name is not None and len(name) > 120:
            raise LibraryError("a display name is at most 120 characters")
        with self._db.writer() as conn:
            conn.execute(self._q("UPDATE users SET display_name = ? WHERE id = ?"), (name, user_id))

    def display_name(self, user_id: int) -> str | None:
        with self._db.reader() as conn:
            row = conn.execute(self._q("SELECT display_name FROM users WHERE id = ?"), (user_id,)).fetchone()
        return row["display_name"] if row else None

    def add_claim(self, user_id: int, paper_id: str, author_name: str) -> tuple[Claim, bool]:
        """Record a claim (the caller checked the name); (claim, created). A refused claim
        may be made again: it goes back to the queue."""
        with self._db.writer() as conn:
            pid = self._visible_id(conn, paper_id)
            cur = conn.execute(
                self._q("INSERT INTO authorship_claims (user_id, paper_id, author_name, status, created_at)"
                        " VALUES (?, ?, ?, 'pending', ?)"
                        " ON CONFLICT (user_id, paper_id) DO UPDATE SET status = 'pending', author_name = excluded.author_name,"
                        " created_at = excluded.created_at, decided_at = NULL, decided_by = NULL"
                        " WHERE authorship_claims.status = 'refused'"),
                (user_id, pid, author_name, self._dialect.ts(now())),
            )  # fmt: skip
            created = cur.rowcount > 0
            claim = self._claims(conn, "WHERE a.user_id = ? AND a.paper_id = ?", (user_id, pid))[0]
            return claim, created

    _CLAIM_SQL = (
        "SELECT a.id, a.user_id, u.username, a.paper_id, p.title, a.author_name, a.status, a.created_at,"
        " a.decided_at FROM authorship_claims a JOIN users u ON u.id = a.user_id JOIN papers p ON p.id = a.paper_id "
    )

    def _claims(self, conn, where: str, params: tuple) -> list[Claim]:
        read_ts = self._dialect.read_ts
        rows = conn.execute(self._q(self._CLAIM_SQL + where), params).fetchall()
        return [
            Claim(r["id"], r["user_id"], r["username"], r["paper_id"], r["title"], r["author_name"], r["status"],
                  read_ts(r["created_at"]), read_ts(r["decided_at"]))
            for r in rows
        ]  # fmt: skip

    def claims(self, *, status: ClaimStatus | None = None, user_id: int | None = None, paper_id: str | None = None) -> list[Claim]:
        where, params = [], []
        for column, value in (("a.status", status), ("a.user_id", user_id), ("a.paper_id", paper_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        with self._db.reader() as conn:
            return self._claims(conn, clause + " ORDER BY a.created_at, a.id", tuple(params))

    def decide_claim(self, claim_id: int, *, admin_id: int, approve: bool) -> Claim:
        """Approve or refuse a pending claim; the decision and who made it are recorded."""
        if not 0 < int(claim_id) < MAX_ID:
            raise NotFound("no such claim")
        with self._db.writer() as conn:
            cur = conn.execute(
                self._q("UPDATE authorship_claims SET status = ?, decided_at = ?, decided_by = ?"
                        " WHERE id = ? AND status = 'pending'"),
                ("approved" if approve else "refused", self._dialect.ts(now()), admin_id, int(claim_id)),
            )  # fmt: skip
            found = self._claims(conn, "WHERE a.id = ?", (int(claim_id),))
            if not found:
                raise NotFound("no such claim")
            if cur.rowcount == 0:
                raise LibraryError(f"this claim was already {found[0].status}")
            return found[0]

    # -- imports the store could not match yet --------------------------------------------
    def paper_id_by_doi(self, doi: str) -> str | None:
        """A visible paper with this DOI (case-insensitive, as DOIs are). A scan: imports are
        rare and small, an index on a mostly-empty column would cost every ingest."""
        with self._db.reader() as conn:
            row = conn.execute(
                self._q("SELECT id FROM papers WHERE lower(doi) = ? AND hidden = ? ORDER BY id LIMIT 1"),
                (doi.strip().lower(), self._dialect.flag(False)),
            ).fetchone()
        return row["id"] if row else None

    def add_pending(self, user_id: int, arxiv_ids: Iterable[str], *, collection_id: int | None = None) -> int:
        with self._db.writer() as conn:
            if collection_id is not None:
                self._own_collection(conn, user_id, collection_id)
            n = 0
            for aid in arxiv_ids:
                n += conn.execute(
                    self._q("INSERT INTO library_pending (user_id, arxiv_id, collection_id, created_at) VALUES (?, ?, ?, ?)"
                            " ON CONFLICT (user_id, arxiv_id) DO NOTHING"),
                    (user_id, aid, collection_id, self._dialect.ts(now())),
                ).rowcount  # fmt: skip
            return n

    def pending_imports(self, user_id: int) -> list[str]:
        with self._db.reader() as conn:
            return [
                r["arxiv_id"]
                for r in conn.execute(
                    self._q("SELECT arxiv_id FROM library_pending WHERE user_id = ? ORDER BY created_at, arxiv_id"),
                    (user_id,),
                )
            ]

    def settle_pending(self) -> int:
        """Save every pending import whose paper has arrived (the worker calls this after a
        harvest, the import after fetching); returns how many were saved."""
        with self._db.writer() as conn:
            rows = conn.execute(
                self._q("SELECT lp.user_id, lp.arxiv_id, lp.collection_id, p.id AS pid FROM library_pending lp"
                        " JOIN papers p ON p.id = COALESCE((SELECT paper_id FROM paper_aliases WHERE alias = lp.arxiv_id), lp.arxiv_id)"
                        " WHERE p.hidden = ?"),
                (self._dialect.flag(False),),
            ).fetchall()  # fmt: skip
            for r in rows:
                conn.execute(
                    self._q("INSERT INTO library_items (user_id, paper_id, note, saved_at) VALUES (?, ?, NULL, ?)"
                            " ON CONFLICT (user_id, paper_id) DO NOTHING"),
                    (r["user_id"], r["pid"], self._dialect.ts(now())),
                )  # fmt: skip
                if r["collection_id"] is not None:
                    self._file(conn, r["user_id"], r["collection_id"], r["pid"])
                conn.execute(
                    self._q("DELETE FROM library_pending WHERE user_id = ? AND arxiv_id = ?"), (r["user_id"], r["arxiv_id"])
                )
            return len(rows)

    # -- what the recommender learns from -------------------------------------------------
    def paper_key_sample(self, size: int) -> list[int]:
        """About ``size`` visible papers' keys, evenly spread over the corpus (every k-th
        key): the recommender's background. Deterministic, so its statistics stay cached."""
        total = self.count_papers()  # type: ignore[attr-defined]
        step = max(1, total // max(1, size))
        with self._db.reader() as conn:
            rows = conn.execute(
                self._q("SELECT rowid AS k FROM papers WHERE hidden = ? AND rowid % ? = 0 ORDER BY rowid LIMIT ?"),
                (self._dialect.flag(False), step, size),
            ).fetchall()
        return [int(r["k"]) for r in rows]

    def user_signals(self, user_id: int) -> Signals:
        """Saves, upvotes, approved claims and dismissals as paper keys (``papers.rowid``)."""
        out = Signals()
        queries = (
            ("saved", "SELECT p.rowid AS k, p.id FROM library_items t JOIN papers p ON p.id = t.paper_id WHERE t.user_id = ?"),
            ("upvoted", "SELECT p.rowid AS k, p.id FROM votes t JOIN papers p ON p.id = t.paper_id WHERE t.user_id = ?"),
            ("claimed", "SELECT p.rowid AS k, p.id FROM authorship_claims t JOIN papers p ON p.id = t.paper_id"
                        " WHERE t.user_id = ? AND t.status = 'approved'"),
            ("dismissed", "SELECT p.rowid AS k, p.id FROM dismissals t JOIN papers p ON p.id = t.paper_id WHERE t.user_id = ?"),
        )  # fmt: skip
        with self._db.reader() as conn:
            for name, sql in queries:
                getattr(out, name).update({int(r["k"]): r["id"] for r in conn.execute(self._q(sql), (user_id,))})
        return out
