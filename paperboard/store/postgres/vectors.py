"""Paper vectors on PostgreSQL: a pgvector column keyed by (model, paper rowid).

Writers of one model are serialised by an advisory lock, so sequence numbers commit in
order and an index catching up with ``after_seq`` never skips a row committed late. Each
model gets its own HNSW index (cosine) on ``vector::vector(dim)`` restricted to the model,
created with its first vectors, so k-NN queries can run inside PostgreSQL.
"""

from __future__ import annotations

import hashlib
import uuid
import weakref
from collections.abc import Iterator

import numpy as np
from pgvector.psycopg.vector import register_vector_info
from psycopg import sql
from psycopg.types import TypeInfo

from ...models import Paper
from ..vectors import EmbedTask, VectorBatch
from .database import IDENTITY_SQL, Conn, Database
from .papers import SELECT_COLUMNS, row_to_paper

_registered: weakref.WeakSet[Conn] = weakref.WeakSet()
MAX_EF_SEARCH = 1000
"""pgvector's upper bound for ``hnsw.ef_search``; a larger k gets at most this many rows."""


def _vector_conn(conn: Conn) -> Conn:
    """Teach this connection the ``vector`` type (binary numpy I/O) once."""
    if conn not in _registered:
        info = TypeInfo.fetch(conn, "vector")
        if info is None:
            raise RuntimeError("the pgvector extension is missing: run the 0003_vectors migration")
        register_vector_info(conn, info)
        _registered.add(conn)
    return conn


def _array(value: object) -> np.ndarray:
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def _model_lock(model: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"pbvec:{model}".encode(), digest_size=8).digest(), "big", signed=True)


def hnsw_index_name(model: str) -> str:
    return "paper_vectors_hnsw_" + hashlib.blake2b(model.encode(), digest_size=6).hexdigest()


def _ensure_hnsw(conn: Conn, model: str, dim: int) -> None:
    name = hnsw_index_name(model)
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS e", (name,)).fetchone()["e"]
    if exists:
        return
    conn.execute(
        sql.SQL(
            "CREATE INDEX {} ON paper_vectors USING hnsw ((vector::vector({})) vector_cosine_ops)"
            " WHERE model = {}"
        ).format(sql.Identifier(name), sql.Literal(int(dim)), sql.Literal(model))
    )


class PostgresVectors:
    _db: Database

    def papers_without_vectors(self, model: str, *, limit: int = 1000, after_key: int = 0) -> list[EmbedTask]:
        with self._db.reader() as conn:
            rows = conn.execute(
                "SELECT p.rowid, p.id, p.title, p.abstract FROM papers p"
                " WHERE p.rowid > %s AND NOT EXISTS"
                " (SELECT 1 FROM paper_vectors v WHERE v.model = %s AND v.paper_rowid = p.rowid)"
                " ORDER BY p.rowid LIMIT %s",
                (after_key, model, limit),
            ).fetchall()
        return [EmbedTask(r["rowid"], r["id"], r["title"], r["abstract"]) for r in rows]

    def count_without_vectors(self, model: str) -> int:
        with self._db.reader() as conn:
            return conn.execute(
                "SELECT (SELECT COUNT(*) FROM papers) - (SELECT COUNT(*) FROM paper_vectors WHERE model = %s) AS n",
                (model,),
            ).fetchone()["n"]

    def put_vectors(self, model: str, keys: list[int], vectors: np.ndarray) -> int:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(keys) != len(vectors):
            raise ValueError("one vector per key")
        if not len(keys):
            return self.vector_stats(model)[1]

        def work(conn: Conn) -> int:
            _vector_conn(conn)
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_model_lock(model),))
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) AS s FROM paper_vectors WHERE model = %s", (model,)
            ).fetchone()["s"]
            _ensure_hnsw(conn, model, vectors.shape[1])
            rows = [(model, int(k), seq + i + 1, vectors[i]) for i, k in enumerate(keys)]
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO paper_vectors (model, paper_rowid, seq, vector) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (model, paper_rowid) DO UPDATE SET seq = excluded.seq, vector = excluded.vector",
                    rows,
                )
            return seq + len(rows)

        return self._db.run(work)

    def iter_vectors(self, model: str, *, after_seq: int = 0, batch_size: int = 20_000) -> Iterator[VectorBatch]:
        last = after_seq
        while True:
            with self._db.reader() as conn:
                rows = _vector_conn(conn).execute(
                    "SELECT paper_rowid, seq, vector FROM paper_vectors WHERE model = %s AND seq > %s"
                    " ORDER BY seq LIMIT %s",
                    (model, last, batch_size),
                    binary=True,
                ).fetchall()
            if not rows:
                return
            last = rows[-1]["seq"]
            keys = np.fromiter((r["paper_rowid"] for r in rows), dtype=np.int64, count=len(rows))
            seqs = np.fromiter((r["seq"] for r in rows), dtype=np.int64, count=len(rows))
            matrix = np.stack([_array(r["vector"]) for r in rows])
            yield VectorBatch(keys, seqs, matrix)

    def get_vectors(self, model: str, keys: list[int]) -> dict[int, np.ndarray]:
        if not keys:
            return {}
        with self._db.reader() as conn:
            rows = _vector_conn(conn).execute(
                "SELECT paper_rowid, vector FROM paper_vectors WHERE model = %s AND paper_rowid = ANY(%s)",
                (model, [int(k) for k in keys]),
                binary=True,
            ).fetchall()
        return {r["paper_rowid"]: _array(r["vector"]) for r in rows}

    def nearest_vectors(
        self, model: str, vector: np.ndarray, k: int = 50, *, ef_search: int = 100, include_hidden: bool = False
    ) -> list[tuple[int, float]]:
        """(key, cosine distance) of the ``k`` nearest papers, via the model's HNSW index.

        PostgreSQL-only (hybrid search can run in the database): the model and dimension are
        spelled as literals, because a partial index on ``model = '…'`` is only usable by a
        plan that sees the value, and psycopg prepares repeated statements generically.
        """
        query = np.ascontiguousarray(vector, dtype=np.float32).ravel()
        dim = sql.Literal(int(query.shape[0]))
        stmt = sql.SQL(
            "SELECT v.paper_rowid, (v.vector::vector({dim})) <=> %s::vector({dim}) AS distance"
            " FROM paper_vectors v WHERE v.model = {model}"
            " ORDER BY (v.vector::vector({dim})) <=> %s::vector({dim}) LIMIT %s"
        ).format(dim=dim, model=sql.Literal(model))
        with self._db.reader() as conn:  # a read replica's, when there are some
            _vector_conn(conn)
            # pgvector refuses ef_search above 1000 (a search for 120 with filters asked 1200).
            # For the session, as reads run in autocommit: every search sets its own.
            ef = min(MAX_EF_SEARCH, max(k, int(ef_search)))
            conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(ef),))
            rows = conn.execute(stmt, (query, query, max(1, k) * (1 if include_hidden else 2))).fetchall()
            if not include_hidden and rows:
                visible = {
                    r["rowid"]
                    for r in conn.execute(
                        "SELECT rowid FROM papers WHERE NOT hidden AND rowid = ANY(%s)", ([r["paper_rowid"] for r in rows],)
                    )
                }
                rows = [r for r in rows if r["paper_rowid"] in visible]
        return [(r["paper_rowid"], float(r["distance"])) for r in rows[:k]]

    def vector_stats(self, model: str) -> tuple[int, int, str]:
        return self._vector_stats(model, "COUNT(*)")

    def vector_head(self, model: str) -> tuple[int, str]:
        return self._vector_stats(model, "0")[1:]

    def _vector_stats(self, model: str, count: str) -> tuple[int, int, str]:
        with self._db.reader() as conn:
            row = conn.execute(
                f"SELECT {count} AS n, COALESCE(MAX(seq), 0) AS s,"
                f" {IDENTITY_SQL} || ':'"
                " || COALESCE((SELECT value FROM checkpoints WHERE name = %s), '') AS epoch"
                " FROM paper_vectors WHERE model = %s",
                (f"vectors-epoch:{model}", model),
            ).fetchone()
        return row["n"], row["s"], row["epoch"] or ""

    def delete_vectors(self, model: str) -> int:
        with self._db.writer() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_model_lock(model),))
            n = conn.execute("DELETE FROM paper_vectors WHERE model = %s", (model,)).rowcount
            conn.execute(
                "INSERT INTO checkpoints (name, value, updated_at) VALUES (%s, %s, now())"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (f"vectors-epoch:{model}", uuid.uuid4().hex),
            )
            # The next vectors may have another dimension: their index is rebuilt with them.
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(hnsw_index_name(model))))
            return n

    def paper_keys(self, paper_ids: list[str]) -> dict[str, int]:
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
            keys = {
                r["id"]: r["rowid"]
                for r in conn.execute(
                    "SELECT rowid, id FROM papers WHERE id = ANY(%s)", (list(set(resolved.values())),)
                )
            }
        return {pid: keys[rid] for pid, rid in resolved.items() if rid in keys}

    def papers_by_keys(self, keys: list[int]) -> dict[int, Paper]:
        if not keys:
            return {}
        with self._db.reader() as conn:
            rows = conn.execute(
                f"SELECT {SELECT_COLUMNS} FROM papers WHERE NOT hidden AND rowid = ANY(%s)", ([int(k) for k in keys],)
            ).fetchall()
        return {r["rowid"]: row_to_paper(r) for r in rows}
