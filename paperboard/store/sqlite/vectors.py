"""Paper vectors on SQLite: float32 BLOBs keyed by (model, paper rowid)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...models import Paper
from ..base import Store
from ..vectors import EmbedTask, VectorBatch
from .database import Database
from .papers import _select_in, row_to_paper


class SQLiteVectors:
    _db: Database

    def papers_without_vectors(self, model: str, *, limit: int = 1000, after_key: int = 0) -> list[EmbedTask]:
        with self._db.reader() as conn:
            rows = conn.execute(
                "SELECT p.rowid, p.id, p.title, p.abstract FROM papers p"
                " WHERE p.rowid > ? AND NOT EXISTS"
                " (SELECT 1 FROM paper_vectors v WHERE v.model = ? AND v.paper_rowid = p.rowid)"
                " ORDER BY p.rowid LIMIT ?",
                (after_key, model, limit),
            ).fetchall()
        return [EmbedTask(r[0], r[1], r[2], r[3]) for r in rows]

    def count_without_vectors(self, model: str) -> int:
        with self._db.reader() as conn:
            return conn.execute(
                "SELECT (SELECT COUNT(*) FROM papers) - (SELECT COUNT(*) FROM paper_vectors WHERE model = ?)",
                (model,),
            ).fetchone()[0]

    def put_vectors(self, model: str, keys: list[int], vectors: np.ndarray) -> int:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(keys) != len(vectors):
            raise ValueError("one vector per key")
        with self._db.writer() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM paper_vectors WHERE model = ?", (model,)).fetchone()[0]
            rows = [(model, int(k), seq + i + 1, vectors[i].tobytes()) for i, k in enumerate(keys)]
            conn.executemany(
                "INSERT INTO paper_vectors (model, paper_rowid, seq, vector) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (model, paper_rowid) DO UPDATE SET seq = excluded.seq, vector = excluded.vector",
                rows,
            )
            return seq + len(rows)

    def iter_vectors(self, model: str, *, after_seq: int = 0, batch_size: int = 20_000) -> Iterator[VectorBatch]:
        last = after_seq
        while True:
            with self._db.reader() as conn:
                rows = conn.execute(
                    "SELECT paper_rowid, seq, vector FROM paper_vectors WHERE model = ? AND seq > ?"
                    " ORDER BY seq LIMIT ?",
                    (model, last, batch_size),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][1]
            keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            seqs = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
            matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
            yield VectorBatch(keys, seqs, matrix)

    def get_vectors(self, model: str, keys: list[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        keys = [int(k) for k in keys]
        with self._db.reader() as conn:
            for i in range(0, len(keys), 900):
                part = keys[i : i + 900]
                sql = "SELECT paper_rowid, vector FROM paper_vectors WHERE model = ? AND paper_rowid IN ({})"
                for key, blob in conn.execute(sql.format(",".join("?" * len(part))), [model, *part]):
                    out[key] = np.frombuffer(blob, dtype=np.float32)
        return out

    def vector_stats(self, model: str) -> tuple[int, int, str]:
        with self._db.reader() as conn:
            n = conn.execute("SELECT COUNT(*) FROM paper_vectors WHERE model = ?", (model,)).fetchone()[0]
            return (n, *self._vector_head(conn, model))

    def vector_head(self, model: str) -> tuple[int, str]:
        with self._db.reader() as conn:
            return self._vector_head(conn, model)

    def _vector_head(self, conn, model: str) -> tuple[int, str]:
        mx = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM paper_vectors WHERE model = ?", (model,)).fetchone()[0]
        epoch = conn.execute(
            f"SELECT {Store.IDENTITY_SQL} || ':' || COALESCE((SELECT value FROM checkpoints WHERE name = ?), '')",
            (f"vectors-epoch:{model}",),
        ).fetchone()[0]
        # The database's identity is part of the epoch: an index file built for another
        # database sharing the data dir is rebuilt, never searched (search/index.py).
        return mx, epoch or ""

    def delete_vectors(self, model: str) -> int:
        import uuid

        with self._db.writer() as conn:
            n = conn.execute("DELETE FROM paper_vectors WHERE model = ?", (model,)).rowcount
            conn.execute(
                "INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, datetime('now'))"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (f"vectors-epoch:{model}", uuid.uuid4().hex),
            )
            return n

    def paper_keys(self, paper_ids: list[str]) -> dict[str, int]:
        with self._db.reader() as conn:
            aliases = dict(_select_in(conn, "SELECT alias, paper_id FROM paper_aliases WHERE alias IN ({})", paper_ids))
            resolved = {pid: aliases.get(pid, pid) for pid in paper_ids}
            keys = dict(
                (r[1], r[0]) for r in _select_in(conn, "SELECT rowid, id FROM papers WHERE id IN ({})", list(set(resolved.values())))
            )
        return {pid: keys[rid] for pid, rid in resolved.items() if rid in keys}

    def papers_by_keys(self, keys: list[int]) -> dict[int, Paper]:
        with self._db.reader() as conn:
            rows = list(_select_in(conn, "SELECT * FROM papers WHERE hidden = 0 AND rowid IN ({})", [int(k) for k in keys]))
        return {r["rowid"]: row_to_paper(r) for r in rows}

