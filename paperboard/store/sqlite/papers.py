"""Papers on SQLite: idempotent batch upserts, feeds, FTS5 keyword search."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, Literal

from ...models import Paper
from ...search.query import ParsedQuery, Term
from ..base import PaperQuery, QuerySyntaxError, SearchHit, StoreStats, UpsertResult
from ..merge import COLUMNS as _COLUMNS
from ..merge import _is_local, apply_records, paper_to_row
from . import termstats
from .database import Database
from .termstats import TermStats

_FTS_COLUMN = {"ti": "title", "abs": "abstract", "au": "authors"}
BM25_WEIGHTS = (8.0, 1.0, 2.0)
"""title, abstract, authors: a word in the title says more about a paper than one in its abstract."""


def row_to_paper(row: sqlite3.Row | dict[str, Any]) -> Paper:
    """Rows were validated on the way in: build without re-validating (hot path: a feed page
    converts 31 rows, a similar-papers list a hundred). Reads the row by name, not through
    ``dict(row)``, which alone cost 10 µs a row."""
    try:
        tldr = row["tldr"]
    except (IndexError, KeyError):  # a store opened without migrations (bench copies)
        tldr = None
    published, updated = row["published"], row["updated"]
    return Paper.from_store(
        {
            "id": row["id"],
            "version": row["version"],
            "title": row["title"],
            "abstract": row["abstract"],
            "authors": json.loads(row["authors"]),
            "author_count": row["author_count"],
            "categories": json.loads(row["categories"]),
            "primary_category": row["primary_category"],
            "published": datetime.fromisoformat(published) if published else None,
            "updated": datetime.fromisoformat(updated) if updated else None,
            "comment": row["comment"],
            "journal_ref": row["journal_ref"],
            "doi": row["doi"],
            "license": row["license"],
            "code_urls": json.loads(row["code_urls"]),
            "project_urls": json.loads(row["project_urls"]),
            "organization": row["organization"],
            "feed_day": date.fromisoformat(row["feed_day"]),
            "submitted_by": row["submitted_by"],
            "upvotes": row["upvotes"],
            "tldr": tldr,
        }
    )


def _fts_term(term: Term) -> str:
    # Words are \w+ only (see search.query), so quoting them is always safe.
    expr = '"' + " ".join(term.words) + '"'
    if term.field:
        expr = f"{_FTS_COLUMN[term.field]} : {expr}"
    return expr


def fts_expression(query: ParsedQuery, match: Literal["all", "any"] = "all") -> str:
    positive = [_fts_term(t) for t in query.positive]
    if not positive:
        raise QuerySyntaxError("the query has no words to search for (only exclusions or punctuation)")
    expr = (" AND " if match == "all" else " OR ").join(positive)
    negative = [_fts_term(t) for t in query.negative]
    if negative:
        expr = f"({expr}) NOT ({' OR '.join(negative)})"
    return expr


def _filters(q: PaperQuery | None, alias: str = "p") -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if q is None:
        return [f"{alias}.hidden = 0"], []
    if not q.include_hidden:
        where.append(f"{alias}.hidden = 0")
    if q.start and q.start == q.end:
        # One day: equality lets the (feed_day, upvotes) index deliver rows already ordered.
        where.append(f"{alias}.feed_day = ?")
        args.append(q.start.isoformat())
    else:
        if q.start:
            where.append(f"{alias}.feed_day >= ?")
            args.append(q.start.isoformat())
        if q.end:
            where.append(f"{alias}.feed_day <= ?")
            args.append(q.end.isoformat())
    if q.published_from:
        where.append(f"{alias}.published >= ?")
        args.append(q.published_from.isoformat())
    if q.published_until:
        where.append(f"substr({alias}.published, 1, 10) <= ?")
        args.append(q.published_until.isoformat())
    if q.organization:
        where.append(f"{alias}.organization = ? COLLATE NOCASE")
        args.append(q.organization)
    if q.category:
        where.append(
            f"({alias}.primary_category = ? OR EXISTS (SELECT 1 FROM json_each({alias}.categories) WHERE value = ?))"
        )
        args += [q.category, q.category]
    if q.author:
        where.append(
            f"EXISTS (SELECT 1 FROM json_each({alias}.authors) WHERE value = ? COLLATE NOCASE)"
        )
        args.append(q.author.strip())
    if q.submitted_by:
        where.append(f"{alias}.submitted_by = ?")
        args.append(q.submitted_by)
    return where, args


def _order(sort: str, alias: str = "p") -> str:
    if sort == "date":
        return f"{alias}.feed_day DESC, {alias}.published DESC, {alias}.id DESC"
    return f"{alias}.upvotes DESC, {alias}.published DESC, {alias}.id DESC"


class SQLitePapers:
    _db: Database
    _term_stats: TermStats

    # -- writes -----------------------------------------------------------------------
    def upsert_papers(self, papers: Iterable[Paper]) -> UpsertResult:
        result = UpsertResult()
        incoming = [paper_to_row(p) for p in papers]
        if not incoming:
            return result
        now = datetime.now(UTC).isoformat()
        with self._db.writer() as conn:
            self._merge_batch(conn, incoming, result, now)
        return result

    def _merge_batch(
        self, conn: sqlite3.Connection, incoming: list[dict[str, Any]], result: UpsertResult, now: str
    ) -> None:
        ids = list({r["id"] for r in incoming})
        aliases = dict(_select_in(conn, "SELECT alias, paper_id FROM paper_aliases WHERE alias IN ({})", ids))
        wanted = list(set(ids) | set(aliases.values()))
        original: dict[int, dict[str, Any]] = {}
        by_id: dict[str, int | str] = {}
        for row in _select_in(conn, "SELECT * FROM papers WHERE id IN ({})", wanted):
            original[row["rowid"]] = dict(row)
            by_id[row["id"]] = row["rowid"]
        for alias, target in aliases.items():
            if target in by_id:
                by_id[alias] = by_id[target]

        # Seed cards have no arXiv id: match them to arXiv records by normalised title.
        has_local_rows = conn.execute("SELECT EXISTS (SELECT 1 FROM papers WHERE id LIKE 'pb-%')").fetchone()[0]
        batch_has_local = any(_is_local(r["id"]) for r in incoming)
        by_title: dict[str, list[int | str]] = {}
        if has_local_rows or batch_has_local:
            keys = list({r["title_key"] for r in incoming if r["id"] not in by_id})
            for row in _select_in(conn, "SELECT * FROM papers WHERE title_key IN ({})", keys):
                original.setdefault(row["rowid"], dict(row))
                by_title.setdefault(row["title_key"], []).append(row["rowid"])

        working: dict[int | str, dict[str, Any]] = {k: dict(v) for k, v in original.items()}
        new_aliases = apply_records(incoming, working, by_id, by_title, result, now)

        inserts = [w for k, w in working.items() if isinstance(k, str)]
        updates = [w for k, w in working.items() if isinstance(k, int) and w != original[k]]
        if updates:
            # A paper whose text changed must be embedded again: drop its stale vectors.
            stale = [
                (k,) for k, w in working.items()
                if isinstance(k, int) and (w["title"], w["abstract"]) != (original[k]["title"], original[k]["abstract"])
            ]  # fmt: skip
            if stale:
                conn.executemany("DELETE FROM paper_vectors WHERE paper_rowid = ?", stale)
            cols = [c for c in _COLUMNS if c != "ingested_at"]
            conn.executemany(
                f"UPDATE papers SET {', '.join(f'{c} = :{c}' for c in cols)} WHERE rowid = :rowid",
                updates,
            )
        if inserts:
            last_rowid = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM papers").fetchone()[0]
            conn.executemany(
                f"INSERT INTO papers ({', '.join(_COLUMNS)}) VALUES ({', '.join(':' + c for c in _COLUMNS)})",
                inserts,
            )
            conn.execute(
                "INSERT INTO papers_fts (rowid, title, abstract, authors)"
                " SELECT rowid, title, abstract, authors FROM papers WHERE rowid > ?",
                (last_rowid,),
            )
        if new_aliases:
            conn.executemany(
                "INSERT INTO paper_aliases (alias, paper_id) VALUES (?, ?)"
                " ON CONFLICT (alias) DO UPDATE SET paper_id = excluded.paper_id",
                [(alias, working[key]["id"]) for alias, key in new_aliases if alias != working[key]["id"]],
            )

    def set_hidden(self, paper_id: str, hidden: bool) -> bool:
        with self._db.writer() as conn:
            pid = self._resolve_id(conn, paper_id)
            cur = conn.execute("UPDATE papers SET hidden = ? WHERE id = ?", (int(hidden), pid))
            return cur.rowcount > 0

    # -- reads ------------------------------------------------------------------------
    @staticmethod
    def _resolve_id(conn: sqlite3.Connection, paper_id: str) -> str:
        row = conn.execute("SELECT paper_id FROM paper_aliases WHERE alias = ?", (paper_id,)).fetchone()
        return row[0] if row else paper_id

    def get_paper(self, paper_id: str, *, include_hidden: bool = False) -> Paper | None:
        with self._db.reader() as conn:
            pid = self._resolve_id(conn, paper_id)
            row = conn.execute("SELECT * FROM papers WHERE id = ?", (pid,)).fetchone()
        if row is None or (row["hidden"] and not include_hidden):
            return None
        return row_to_paper(row)

    def get_papers(self, paper_ids: list[str]) -> dict[str, Paper]:
        if not paper_ids:
            return {}
        with self._db.reader() as conn:
            aliases = dict(_select_in(conn, "SELECT alias, paper_id FROM paper_aliases WHERE alias IN ({})", paper_ids))
            resolved = {pid: aliases.get(pid, pid) for pid in paper_ids}
            rows = {
                r["id"]: r
                for r in _select_in(conn, "SELECT * FROM papers WHERE hidden = 0 AND id IN ({})", list(set(resolved.values())))
            }
        return {pid: row_to_paper(rows[rid]) for pid, rid in resolved.items() if rid in rows}

    def list_papers(self, query: PaperQuery) -> list[Paper]:
        # The page's keys first, its rows after: ordering whole rows made SQLite decode every
        # matching row (abstracts included) into its sorter, 31 ms for a month's 6.6k papers
        # at 75k, against 1.4 ms when the covering (feed_day, hidden, upvotes, published, id)
        # index orders bare rowids. PostgreSQL's bounded top-N sort has no such cost.
        where, args = _filters(query)
        inner = "SELECT p.rowid FROM papers p"
        if where:
            inner += " WHERE " + " AND ".join(where)
        order = _order(query.sort)
        sql = f"SELECT p.* FROM papers p WHERE p.rowid IN ({inner} ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}"
        with self._db.reader() as conn:
            rows = conn.execute(sql, [*args, max(0, query.limit), max(0, query.offset)]).fetchall()
        return [row_to_paper(r) for r in rows]

    def count_papers(self, query: PaperQuery | None = None) -> int:
        where, args = _filters(query)
        sql = "SELECT COUNT(*) FROM papers p"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db.reader() as conn:
            return conn.execute(sql, args).fetchone()[0]

    def keyword_search(
        self,
        query: ParsedQuery,
        filters: PaperQuery | None = None,
        *,
        limit: int = 20,
        offset: int = 0,
        match: Literal["all", "any"] = "all",
    ) -> list[SearchHit]:
        where, args = _filters(filters)
        for cat in query.categories:
            where.append("(p.primary_category = ? OR EXISTS (SELECT 1 FROM json_each(p.categories) WHERE value = ?))")
            args += [cat, cat]
        w = ",".join(str(x) for x in BM25_WEIGHTS)
        sql = (
            f"SELECT p.*, bm25(papers_fts, {w}) AS _score FROM papers_fts"
            " JOIN papers p ON p.rowid = papers_fts.rowid WHERE papers_fts MATCH ?"
        )
        if where:
            sql += " AND " + " AND ".join(where)
        sql += " ORDER BY _score LIMIT ? OFFSET ?"
        try:
            with self._db.reader() as conn:
                if match == "any" and len(query.positive) > 1:
                    kept = self._term_stats.rarest(conn, query.positive)
                    query = ParsedQuery(query.text, [*kept, *query.negative], query.categories)
                expr = fts_expression(query, match)
                if match == "all":
                    rarest = self._term_stats.rarest_count(conn, query.positive)
                    if rarest is not None and rarest > termstats.ALL_WORDS_BUDGET:
                        expr = f"title : ({expr})" if not query.negative else expr
                rows = conn.execute(sql, [expr, *args, max(0, limit), max(0, offset)]).fetchall()
        except sqlite3.OperationalError as exc:
            raise QuerySyntaxError(f"cannot run this search: {exc}") from exc
        return [SearchHit(row_to_paper(r), -r["_score"], {"bm25": -r["_score"]}) for r in rows]

    def rarest_terms(self, terms: list[Term]) -> list[Term]:
        """The words an any-word search keeps (rarest first, within a postings budget), for
        an external keyword index to widen a query exactly as FTS5 would."""
        with self._db.reader() as conn:
            return self._term_stats.rarest(conn, terms)

    def feed_days(self, *, limit: int | None = None) -> list[date]:
        sql = "SELECT DISTINCT feed_day FROM papers WHERE hidden = 0 ORDER BY feed_day DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._db.reader() as conn:
            return [date.fromisoformat(r[0]) for r in conn.execute(sql)]

    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        d = day.isoformat()
        with self._db.reader() as conn:
            prev = conn.execute("SELECT MAX(feed_day) FROM papers WHERE feed_day < ? AND hidden = 0", (d,)).fetchone()[0]
            nxt = conn.execute("SELECT MIN(feed_day) FROM papers WHERE feed_day > ? AND hidden = 0", (d,)).fetchone()[0]
        return (date.fromisoformat(prev) if prev else None, date.fromisoformat(nxt) if nxt else None)

    def stats(self) -> StoreStats:
        with self._db.reader() as conn:
            n, days, first, last, orgs = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT feed_day), MIN(feed_day), MAX(feed_day),"
                " COUNT(DISTINCT organization) FROM papers"
            ).fetchone()
            hidden = conn.execute("SELECT COUNT(*) FROM papers WHERE hidden = 1").fetchone()[0]
            aliases = conn.execute("SELECT COUNT(*) FROM paper_aliases").fetchone()[0]
        return StoreStats(
            papers=n,
            days=days,
            first_day=date.fromisoformat(first) if first else None,
            last_day=date.fromisoformat(last) if last else None,
            organizations=orgs,
            extra={"hidden": hidden, "aliases": aliases},
        )

    def iter_paper_ids(self, *, batch_size: int = 10_000) -> Iterator[list[str]]:
        last = 0
        while True:
            with self._db.reader() as conn:
                rows = conn.execute(
                    "SELECT rowid, id FROM papers WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, batch_size)
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [r[1] for r in rows]

    def get_checkpoint(self, name: str) -> str | None:
        with self._db.reader() as conn:
            row = conn.execute("SELECT value FROM checkpoints WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_checkpoint(self, name: str, value: str | None) -> None:
        with self._db.writer() as conn:
            if value is None:
                conn.execute("DELETE FROM checkpoints WHERE name = ?", (name,))
            else:
                conn.execute(
                    "INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (name, value, datetime.now(UTC).isoformat()),
                )


def _select_in(conn: sqlite3.Connection, sql: str, values: list[Any], chunk: int = 900) -> Iterator[sqlite3.Row]:
    for i in range(0, len(values), chunk):
        part = values[i : i + chunk]
        yield from conn.execute(sql.format(",".join("?" * len(part))), part)
