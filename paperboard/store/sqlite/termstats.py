"""Document frequencies of the FTS5 index, so an any-word search stays cheap.

An OR query costs as much as the posting lists it walks: "learning" alone is in half of the
corpus, and OR-ing it in makes a typed question cost tens of milliseconds at 75k papers and
more at a million. Before widening a search to any word, the store keeps the rarest words
within a budget of postings (the common ones add little to BM25 anyway). Frequencies come
from a full read of the index's vocabulary, cached per process and refreshed as it grows.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from array import array

import numpy as np

from ...search.query import Term, rarest_within_budget

ALL_WORDS_BUDGET = 20_000
"""An all-words query whose rarest word is in more papers than this is run on titles only:
FTS5 ranks every match, and "deep learning" matches most of a corpus."""
REFRESH_GROWTH = 0.1
REFRESH_SECONDS = 3600.0
CHECK_SECONDS = 60.0

_TOKENIZER = "porter unicode61 remove_diacritics 2"  # as papers_fts (migration 0001)


class _Frequencies:
    """Document frequency by token, as two sorted arrays keyed by the token's hash: 12 bytes a
    token (2.3 MB at 75k papers' 190k tokens) against 18 MB for a dict of str, which a server
    process also rebuilt on every refresh (tracemalloc in the 75k soak: the largest block
    allocated after warm-up). A hash collision (64 bits, randomised per process) would only
    misjudge one word's postings budget."""

    def __init__(self, rows=()) -> None:
        keys, docs = array("q"), array("q")
        for term, doc in rows:
            keys.append(hash(term))
            docs.append(doc)
        order = np.argsort(np.frombuffer(keys, dtype=np.int64), kind="stable")
        self._keys = np.frombuffer(keys, dtype=np.int64)[order]
        self._docs = np.frombuffer(docs, dtype=np.int64)[order]

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, term: str, default: int = 0) -> int:
        key = hash(term)
        i = int(np.searchsorted(self._keys, key))
        return int(self._docs[i]) if i < len(self._keys) and self._keys[i] == key else default


class TermStats:
    def __init__(self) -> None:
        self._df = _Frequencies()
        self._docs = 0
        self._built_at = 0.0
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def _refresh(self, conn: sqlite3.Connection) -> None:
        if self._df and time.monotonic() - self._checked_at < CHECK_SECONDS:
            return
        self._checked_at = time.monotonic()
        docs = conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
        stale = time.monotonic() - self._built_at > REFRESH_SECONDS
        if self._df and not stale and docs <= self._docs * (1 + REFRESH_GROWTH):
            return
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.pb_vocab USING fts5vocab(main, 'papers_fts', 'row')")
        self._df = _Frequencies(conn.execute("SELECT term, doc FROM temp.pb_vocab"))
        self._docs, self._built_at = docs, time.monotonic()

    @staticmethod
    def stems(conn: sqlite3.Connection, words: list[str]) -> list[list[str]]:
        """The index's own tokens for each word (FTS5 tokenizes; we never re-implement Porter)."""
        conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.pb_stem USING fts5(w, tokenize='{_TOKENIZER}')")
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.pb_stem_vocab USING fts5vocab(temp, 'pb_stem', 'instance')")
        conn.executemany("INSERT INTO temp.pb_stem (rowid, w) VALUES (?, ?)", list(enumerate(words)))
        out: list[list[str]] = [[] for _ in words]
        for doc, term in conn.execute("SELECT doc, term FROM temp.pb_stem_vocab ORDER BY doc, offset"):
            out[doc].append(term)
        conn.execute("DELETE FROM temp.pb_stem")
        return out

    def rarest(self, conn: sqlite3.Connection, terms: list[Term]) -> list[Term]:
        """The terms to OR together: rarest first, within the postings budget (at least one).

        Phrases and field-restricted terms are kept: they are selective by construction."""
        with self._lock:
            self._refresh(conn)

        def costs(singles: list[Term]) -> dict[Term, int]:
            tokens = self.stems(conn, [t.words[0] for t in singles])
            return {t: sum(self._df.get(tok, 0) for tok in toks) for t, toks in zip(singles, tokens, strict=True)}

        return rarest_within_budget(terms, costs)

    def rarest_count(self, conn: sqlite3.Connection, terms: list[Term]) -> int | None:
        """Postings of the rarest plain word (bounds an all-words query's matches); None when
        a phrase or field term already makes the query selective."""
        if not terms or any(t.is_phrase or t.field for t in terms):
            return None
        with self._lock:
            self._refresh(conn)
        tokens = self.stems(conn, [t.words[0] for t in terms])
        return min(sum(self._df.get(tok, 0) for tok in toks) for toks in tokens)
