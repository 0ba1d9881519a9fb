"""Papers on PostgreSQL: the SQLite backend's merge rules, feeds, tsvector keyword search.

Merging reuses ``store.merge`` on canonical row dicts, so both backends agree row for row.
Concurrency: one ingest batch at a time (a transaction-level advisory lock, the equivalent of
SQLite's single writer, so two batches never both insert the same new paper), and the rows a
batch merges are read ``FOR UPDATE`` so a vote committed meanwhile is never overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, Literal

import psycopg

from ...ids import lookup_key
from ...models import Paper
from ...search.query import ParsedQuery, Term
from ..base import PaperQuery, QuerySyntaxError, SearchHit, StoreStats, UpsertResult
from ..merge import COLUMNS, JSON_LIST, _is_local, _iso, apply_records, paper_to_row
from .database import Conn, Database

MERGE_LOCK = 0x7062_7061_7065_7273  # "pbpapers": serialises paper merges across processes
SELECT_COLUMNS = ", ".join(("rowid", *COLUMNS))
_PAPER_COLUMNS = ", ".join(f"p.{c}" for c in ("rowid", *COLUMNS))

RANK_WEIGHTS = (0.0, 0.1, 0.3, 1.0)
"""ts_rank weights in PostgreSQL's {D, C, B, A} order: authors C 0.1, abstract B 0.3,
title A 1.0 — a word in the title says most about a paper, an author's name least (ti:/au:
exist to search names precisely). Normalisation 1 divides by 1 + log(document length), the
length normalisation BM25 also applies, so long abstracts do not win by sheer size."""
_FIELD_WEIGHT = {None: "", "ti": ":A", "abs": ":B", "au": ":C"}
COPY_THRESHOLD = 50
"""From this many new papers in a batch, COPY beats a pipelined INSERT."""


# -- canonical rows <-> PostgreSQL values ------------------------------------------------
def _canonical(row: dict[str, Any]) -> dict[str, Any]:
    """A database row in the form ``store.merge`` compares (the SQLite row format)."""
    d = dict(row)
    for col in JSON_LIST:
        d[col] = json.dumps(d[col], ensure_ascii=False)
    d["published"] = _iso(d["published"])
    d["updated"] = _iso(d["updated"])
    d["feed_day"] = d["feed_day"].isoformat()
    d["hidden"] = int(d["hidden"])
    return d


def _to_db(row: dict[str, Any]) -> dict[str, Any]:
    d = dict(row)
    for col in JSON_LIST:
        d[col] = json.loads(d[col])
    d["published"] = datetime.fromisoformat(d["published"]) if d["published"] else None
    d["updated"] = datetime.fromisoformat(d["updated"]) if d["updated"] else None
    d["feed_day"] = date.fromisoformat(d["feed_day"])
    d["hidden"] = bool(d["hidden"])
    return d


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def row_to_paper(d: dict[str, Any]) -> Paper:
    """Rows were validated on the way in: build without re-validating (hot path)."""
    return Paper.from_store(
        {
            "id": d["id"],
            "version": d["version"],
            "title": d["title"],
            "abstract": d["abstract"],
            "authors": d["authors"],
            "author_count": d["author_count"],
            "categories": d["categories"],
            "primary_category": d["primary_category"],
            "published": _utc(d["published"]),
            "updated": _utc(d["updated"]),
            "comment": d["comment"],
            "journal_ref": d["journal_ref"],
            "doi": d["doi"],
            "license": d["license"],
            "code_urls": d["code_urls"],
            "project_urls": d["project_urls"],
            "organization": d["organization"],
            "feed_day": d["feed_day"],
            "submitted_by": d["submitted_by"],
            "upvotes": d["upvotes"],
            "tldr": d.get("tldr"),
        }
    )


# -- search expressions --------------------------------------------------------------------
def _lexeme(word: str) -> str:
    # A quoted tsquery literal; words are \w+ (see search.query) but escape anyway.
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _ts_term(term: Term) -> str:
    label = _FIELD_WEIGHT[term.field]
    return "(" + " <-> ".join(_lexeme(w) + label for w in term.words) + ")"


def tsquery_text(query: ParsedQuery, match: Literal["all", "any"] = "all") -> tuple[str, str]:
    """``to_tsquery`` inputs (to match, to rank) for a parsed query, passed as bound parameters.

    Phrases become ``<->`` chains, ``ti:``/``abs:``/``au:`` weight labels (A/B/C), exclusions
    ``!``. Only this function writes operators; user words are always quoted literals. Ranking
    uses the positive part alone: ts_rank scores an excluded word as a missing AND term.
    """
    positive = [_ts_term(t) for t in query.positive]
    if not positive:
        raise QuerySyntaxError("the query has no words to search for (only exclusions or punctuation)")
    rank = "(" + (" & " if match == "all" else " | ").join(positive) + ")"
    negative = [_ts_term(t) for t in query.negative]
    if negative:
        return rank + " & !(" + " | ".join(negative) + ")", rank
    return rank, rank


def _filters(q: PaperQuery | None, alias: str = "p") -> tuple[list[str], list[Any]]:
    if q is None:
        return [f"NOT {alias}.hidden"], []
    where: list[str] = []
    args: list[Any] = []
    if not q.include_hidden:
        where.append(f"NOT {alias}.hidden")
    if q.start:
        where.append(f"{alias}.feed_day >= %s")
        args.append(q.start)
    if q.end:
        where.append(f"{alias}.feed_day <= %s")
        args.append(q.end)
    if q.published_from:
        where.append(f"{alias}.published >= %s::date")
        args.append(q.published_from)
    if q.published_until:
        where.append(f"({alias}.published AT TIME ZONE 'UTC')::date <= %s")
        args.append(q.published_until)
    if q.organization:
        where.append(f"lower({alias}.organization) = lower(%s)")
        args.append(q.organization)
    if q.category:
        where.append(_category_clause(alias))
        args += [q.category, q.category]
    if q.author:
        where.append(f"EXISTS (SELECT 1 FROM unnest({alias}.authors) a WHERE lower(a) = lower(%s))")
        args.append(q.author.strip())
    if q.submitted_by:
        where.append(f"{alias}.submitted_by = %s")
        args.append(q.submitted_by)
    return where, args


def _category_clause(alias: str = "p") -> str:
    return f"({alias}.primary_category = %s OR {alias}.categories @> ARRAY[%s]::text[])"


def _order(sort: str, alias: str = "p") -> str:
    # NULLS LAST and the C collation reproduce SQLite's order exactly.
    if sort == "date":
        return f'{alias}.feed_day DESC, {alias}.published DESC NULLS LAST, {alias}.id COLLATE "C" DESC'
    return f'{alias}.upvotes DESC, {alias}.published DESC NULLS LAST, {alias}.id COLLATE "C" DESC'


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


class PostgresPapers:
    _db: Database

    # -- writes -----------------------------------------------------------------------
    def upsert_papers(self, papers: Iterable[Paper]) -> UpsertResult:
        incoming = [paper_to_row(p) for p in papers]
        if not incoming:
            return UpsertResult()
        now = datetime.now(UTC).isoformat()

        def work(conn: Conn) -> UpsertResult:
            result = UpsertResult()
            self._merge_batch(conn, incoming, result, now)
            return result

        return self._db.run(work)

    def _merge_batch(
        self, conn: Conn, incoming: list[dict[str, Any]], result: UpsertResult, now: str
    ) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MERGE_LOCK,))
        ids = list({r["id"] for r in incoming})
        aliases = {
            r["alias"]: r["paper_id"]
            for r in conn.execute("SELECT alias, paper_id FROM paper_aliases WHERE alias = ANY(%s)", (ids,))
        }
        wanted = list(set(ids) | set(aliases.values()))
        original: dict[int, dict[str, Any]] = {}
        by_id: dict[str, int | str] = {}
        rows = conn.execute(
            f"SELECT {SELECT_COLUMNS} FROM papers WHERE id = ANY(%s) ORDER BY rowid FOR UPDATE", (wanted,)
        )
        for row in rows:
            original[row["rowid"]] = _canonical(row)
            by_id[row["id"]] = row["rowid"]
        for alias, target in aliases.items():
            if target in by_id:
                by_id[alias] = by_id[target]

        # Seed cards have no arXiv id: match them to arXiv records by normalised title.
        batch_has_local = any(_is_local(r["id"]) for r in incoming)
        has_local_rows = batch_has_local or conn.execute(
            "SELECT EXISTS (SELECT 1 FROM papers WHERE id LIKE 'pb-%') AS e"
        ).fetchone()["e"]
        by_title: dict[str, list[int | str]] = {}
        if has_local_rows:
            keys = list({r["title_key"] for r in incoming if r["id"] not in by_id})
            rows = conn.execute(
                f"SELECT {SELECT_COLUMNS} FROM papers WHERE title_key = ANY(%s) ORDER BY rowid FOR UPDATE",
                (keys,),
            )
            for row in rows:
                original.setdefault(row["rowid"], _canonical(row))
                by_title.setdefault(row["title_key"], []).append(row["rowid"])

        working: dict[int | str, dict[str, Any]] = {k: dict(v) for k, v in original.items()}
        new_aliases = apply_records(incoming, working, by_id, by_title, result, now)

        inserts = [_to_db(w) for k, w in working.items() if isinstance(k, str)]
        updates = [_to_db(w) for k, w in working.items() if isinstance(k, int) and w != original[k]]
        with conn.cursor() as cur:
            # A paper whose text changed must be embedded again: drop its stale vectors.
            stale = [
                k for k, w in working.items()
                if isinstance(k, int) and (w["title"], w["abstract"]) != (original[k]["title"], original[k]["abstract"])
            ]  # fmt: skip
            if stale:
                cur.execute("DELETE FROM paper_vectors WHERE paper_rowid = ANY(%s)", (stale,))
            if updates:
                cols = [c for c in COLUMNS if c != "ingested_at"]
                cur.executemany(
                    f"UPDATE papers SET {', '.join(f'{c} = %({c})s' for c in cols)} WHERE rowid = %(rowid)s",
                    updates,
                )
            if inserts:
                self._insert_rows(cur, inserts)
            links = [(alias, working[key]["id"]) for alias, key in new_aliases if alias != working[key]["id"]]
            if links:
                cur.executemany(
                    "INSERT INTO paper_aliases (alias, paper_id) VALUES (%s, %s)"
                    " ON CONFLICT (alias) DO UPDATE SET paper_id = excluded.paper_id",
                    links,
                )

    @staticmethod
    def _insert_rows(cur: psycopg.Cursor[Any], rows: list[dict[str, Any]]) -> None:
        """New papers only (the merge lock guarantees their ids are free): COPY in bulk."""
        if len(rows) < COPY_THRESHOLD:
            cur.executemany(
                f"INSERT INTO papers ({', '.join(COLUMNS)}) VALUES ({', '.join(f'%({c})s' for c in COLUMNS)})",
                rows,
            )
            return
        with cur.copy(f"COPY papers ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in COLUMNS])

    def set_hidden(self, paper_id: str, hidden: bool) -> bool:
        with self._db.writer() as conn:
            pid = self._resolve_id(conn, paper_id)
            cur = conn.execute("UPDATE papers SET hidden = %s WHERE id = %s", (hidden, pid))
            return cur.rowcount > 0

    # -- reads ------------------------------------------------------------------------
    @staticmethod
    def _resolve_id(conn: Conn, paper_id: str) -> str:
        row = conn.execute("SELECT paper_id FROM paper_aliases WHERE alias = %s", (paper_id,)).fetchone()
        return row["paper_id"] if row else paper_id

    def get_paper(self, paper_id: str, *, include_hidden: bool = False) -> Paper | None:
        paper_id = lookup_key(paper_id)
        with self._db.reader() as conn:
            row = conn.execute(
                f"SELECT {SELECT_COLUMNS} FROM papers WHERE id = COALESCE("
                " (SELECT paper_id FROM paper_aliases WHERE alias = %s), %s)",
                (paper_id, paper_id),
            ).fetchone()
        if row is None or (row["hidden"] and not include_hidden):
            return None
        return row_to_paper(row)

    def get_papers(self, paper_ids: list[str]) -> dict[str, Paper]:
        if not paper_ids:
            return {}
        with self._db.reader() as conn:
            aliases = {
                r["alias"]: r["paper_id"]
                for r in conn.execute(
                    "SELECT alias, paper_id FROM paper_aliases WHERE alias = ANY(%s)", (list(paper_ids),)
                )
            }
            resolved = {pid: aliases.get(pid, pid) for pid in paper_ids}
            rows = {
                r["id"]: r
                for r in conn.execute(
                    f"SELECT {SELECT_COLUMNS} FROM papers WHERE NOT hidden AND id = ANY(%s)",
                    (list(set(resolved.values())),),
                )
            }
        return {pid: row_to_paper(rows[rid]) for pid, rid in resolved.items() if rid in rows}

    def list_papers(self, query: PaperQuery) -> list[Paper]:
        where, args = _filters(query)
        sql = (
            f"SELECT {_PAPER_COLUMNS} FROM papers p{_where(where)}"
            f" ORDER BY {_order(query.sort)} LIMIT %s OFFSET %s"
        )
        with self._db.reader() as conn:
            rows = conn.execute(sql, [*args, max(0, query.limit), max(0, query.offset)]).fetchall()
        return [row_to_paper(r) for r in rows]

    def count_papers(self, query: PaperQuery | None = None) -> int:
        where, args = _filters(query)
        with self._db.reader() as conn:
            return conn.execute(f"SELECT COUNT(*) AS n FROM papers p{_where(where)}", args).fetchone()["n"]

    def keyword_search(
        self,
        query: ParsedQuery,
        filters: PaperQuery | None = None,
        *,
        limit: int = 20,
        offset: int = 0,
        match: Literal["all", "any"] = "all",
    ) -> list[SearchHit]:
        matching, ranking = tsquery_text(query, match)
        where, args = _filters(filters)
        for cat in query.categories:
            where.append(_category_clause())
            args += [cat, cat]
        weights = "{" + ",".join(str(w) for w in RANK_WEIGHTS) + "}"
        # Visibility is also kept on paper_search, so without paper-level filters the top
        # hits are ranked and cut from the narrow table alone and only they join papers.
        where = [w for w in where if w != "NOT p.hidden"]
        found = ["s.search_vector @@ m.q"]
        if not (filters is not None and filters.include_hidden):
            found.append("NOT s.hidden")
        rank = "ts_rank(%s::float4[], s.search_vector, r.q, 1)"
        terms = "to_tsquery('english', %s) AS m(q), to_tsquery('english', %s) AS r(q)"
        if where:
            sql = (
                f"SELECT {_PAPER_COLUMNS}, {rank} AS _score FROM paper_search s, {terms}, papers p"
                f" WHERE p.rowid = s.paper_rowid AND {' AND '.join(found + where)}"
                " ORDER BY _score DESC, s.paper_rowid LIMIT %s OFFSET %s"
            )
        else:
            sql = (
                f"SELECT {_PAPER_COLUMNS}, top._score FROM (SELECT s.paper_rowid, {rank} AS _score"
                f" FROM paper_search s, {terms} WHERE {' AND '.join(found)}"
                " ORDER BY _score DESC, s.paper_rowid LIMIT %s OFFSET %s) AS top"
                " JOIN papers p ON p.rowid = top.paper_rowid ORDER BY top._score DESC, top.paper_rowid"
            )
        try:
            with self._db.reader() as conn:
                rows = conn.execute(sql, [weights, matching, ranking, *args, max(0, limit), max(0, offset)]).fetchall()
        except (psycopg.errors.SyntaxError, psycopg.errors.ProgramLimitExceeded) as exc:
            raise QuerySyntaxError(f"cannot run this search: {exc.diag.message_primary or exc}") from exc
        return [SearchHit(row_to_paper(r), float(r["_score"]), {"ts_rank": float(r["_score"])}) for r in rows]

    def feed_days(self, *, limit: int | None = None) -> list[date]:
        sql = "SELECT DISTINCT feed_day FROM papers WHERE NOT hidden ORDER BY feed_day DESC"
        args: list[Any] = []
        if limit:
            sql += " LIMIT %s"
            args.append(int(limit))
        with self._db.reader() as conn:
            return [r["feed_day"] for r in conn.execute(sql, args)]

    def adjacent_days(self, day: date) -> tuple[date | None, date | None]:
        with self._db.reader() as conn:
            row = conn.execute(
                "SELECT (SELECT MAX(feed_day) FROM papers WHERE feed_day < %s AND NOT hidden) AS prev,"
                " (SELECT MIN(feed_day) FROM papers WHERE feed_day > %s AND NOT hidden) AS next",
                (day, day),
            ).fetchone()
        return row["prev"], row["next"]

    def stats(self) -> StoreStats:
        with self._db.reader() as conn:
            row = conn.execute(
                "SELECT COUNT(*) AS n, COUNT(DISTINCT feed_day) AS days, MIN(feed_day) AS first,"
                " MAX(feed_day) AS last, COUNT(DISTINCT organization) AS orgs,"
                " COUNT(*) FILTER (WHERE hidden) AS hidden,"
                " (SELECT COUNT(*) FROM paper_aliases) AS aliases FROM papers"
            ).fetchone()
        return StoreStats(
            papers=row["n"],
            days=row["days"],
            first_day=row["first"],
            last_day=row["last"],
            organizations=row["orgs"],
            extra={"hidden": row["hidden"], "aliases": row["aliases"]},
        )

    def iter_paper_ids(self, *, batch_size: int = 10_000) -> Iterator[list[str]]:
        last = 0
        while True:
            with self._db.reader() as conn:
                rows = conn.execute(
                    "SELECT rowid, id FROM papers WHERE rowid > %s ORDER BY rowid LIMIT %s", (last, batch_size)
                ).fetchall()
            if not rows:
                return
            last = rows[-1]["rowid"]
            yield [r["id"] for r in rows]

    def get_checkpoint(self, name: str) -> str | None:
        with self._db.reader() as conn:
            row = conn.execute("SELECT value FROM checkpoints WHERE name = %s", (name,)).fetchone()
        return row["value"] if row else None

    def set_checkpoint(self, name: str, value: str | None) -> None:
        with self._db.writer() as conn:
            if value is None:
                conn.execute("DELETE FROM checkpoints WHERE name = %s", (name,))
            else:
                conn.execute(
                    "INSERT INTO checkpoints (name, value, updated_at) VALUES (%s, %s, now())"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    (name, value),
                )
