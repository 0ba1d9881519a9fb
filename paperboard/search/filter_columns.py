"""Each paper's feed day, publication day and categories in memory, indexed by paper key, so
the papers a date or category filter lets through are known in a millisecond however many
there are.

Why: the dense stage of a filtered search needs the passing papers as a whole, to score every
one of them exactly or to check the graph's candidates. The keyword index answers a filter as
a query, and listing its matches costs a Python object per paper: at 1M papers a week of feed
days is ~22k papers, a large category ~500k, tens to hundreds of milliseconds. Here a filter
is a few numpy comparisons over arrays of 1M entries (~1 ms).

What is held, per key (rowid; keys are small dense integers): the feed day and the publication
day as ordinals (int32, -1 for none or for a paper not in the index: hidden or deleted), and per
category a packed bitset of keys. About 8 bytes per paper plus 1 bit per paper per category
(1M papers, 172 categories: 8 MB + 21 MB). Organization, author and submitter are left to the
keyword index: they are selective, and a term's postings list their few papers quickly.

The columns are read from the keyword index's own fields when first needed (the days' fast
fields and the category terms: ~2 s at 1M papers) and then follow the store's change feed
(``text_changes``) as the keyword index does, each process its own copy: a change carries
the paper as it is now, so applying one twice, or ahead of the index, is harmless. The
searcher checks every paper it returns against the filters once more (as loaded).
"""

from __future__ import annotations

import numpy as np

COLUMN_FIELDS = frozenset({"day", "published", "category"})
"""The filter fields (keyword_index.filter_specs) answered here."""
_CHUNK = 100_000
"""Keys read per query while building: the Python objects in flight stay a few MB."""


def _bit_masks(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return keys >> 3, (1 << (keys & 7)).astype(np.uint8)


class FilterColumns:
    """Not locked: the keyword index applies changes under its lock, readers see arrays that
    are replaced whole or changed in place (a reader racing a change sees the old or the new
    value of one paper, which the final check on the loaded paper settles)."""

    def __init__(self, capacity: int, seq: int, epoch: str) -> None:
        self.seq, self.epoch = seq, epoch
        self.day = np.full(capacity, -1, dtype=np.int32)
        self.published = np.full(capacity, -1, dtype=np.int32)
        self.categories: dict[str, np.ndarray] = {}

    @property
    def capacity(self) -> int:
        return len(self.day)

    def nbytes(self) -> int:
        return self.day.nbytes + self.published.nbytes + sum(b.nbytes for b in self.categories.values())

    def _grow(self, top: int) -> None:
        if top < self.capacity:
            return
        size = max(top + 1, self.capacity * 3 // 2, 1024)
        for name in ("day", "published"):
            old = getattr(self, name)
            new = np.full(size, -1, dtype=np.int32)
            new[: len(old)] = old
            setattr(self, name, new)
        for cat, bits in self.categories.items():
            new = np.zeros((size + 7) // 8, dtype=np.uint8)
            new[: len(bits)] = bits
            self.categories[cat] = new

    def _bits(self, category: str) -> np.ndarray:
        bits = self.categories.get(category)
        if bits is None:
            bits = self.categories[category] = np.zeros((self.capacity + 7) // 8, dtype=np.uint8)
        return bits

    # -- building and following ---------------------------------------------------------
    @classmethod
    def from_index(cls, searcher, schema, seq: int, epoch: str) -> FilterColumns:
        """Every paper's values, from a keyword index searcher (schema 4: days as fast fields)."""
        import tantivy

        def keys_of(query, limit: int):
            hits = searcher.search(query, limit, count=False, order_by_field="key").hits
            return hits, np.fromiter((key for key, _ in hits), dtype=np.int64, count=len(hits))

        top_hits = searcher.search(tantivy.Query.all_query(), 1, count=False, order_by_field="key").hits
        top = int(top_hits[0][0]) if top_hits else 0
        self = cls(top + 1, seq, epoch)
        for low in range(0, top + 1, _CHUNK):
            query = tantivy.Query.range_query(schema, "key", tantivy.FieldType.Integer, low, low + _CHUNK - 1)
            hits, keys = keys_of(query, _CHUNK)
            if not len(keys):
                continue
            addresses = [address for _, address in hits]
            for name in ("day", "published"):
                values = searcher.fast_field_values(name, addresses)
                getattr(self, name)[keys] = np.fromiter((-1 if v is None else v for v in values), dtype=np.int32, count=len(keys))
        for category, count in searcher.terms_with_prefix("category", ""):
            _, keys = keys_of(tantivy.Query.term_query(schema, "category", category), count)
            if len(keys):
                index, bit = _bit_masks(keys)
                np.bitwise_or.at(self._bits(category), index, bit)
        return self

    def apply(self, changes) -> None:
        """Store changes (``text_changes``), in feed order: each paper as it is now."""
        if not changes:
            return
        keys = np.asarray([c.key for c in changes], dtype=np.int64)
        self._grow(int(keys.max()))
        index, bit = _bit_masks(keys)
        for bits in self.categories.values():
            np.bitwise_and.at(bits, index, ~bit)
        for c in changes:
            gone = c.title is None
            self.day[c.key] = -1 if gone or c.day is None else c.day.toordinal()
            self.published[c.key] = -1 if gone or c.published is None else c.published.toordinal()
            if not gone:
                for category in dict.fromkeys(c.categories):
                    self._bits(category)[c.key >> 3] |= np.uint8(1 << (c.key & 7))
        self.seq = max(self.seq, changes[-1].seq)

    # -- queries ------------------------------------------------------------------------
    def mask(self, specs: list[tuple]) -> np.ndarray:
        """Which keys pass every spec (keyword_index.filter_specs; fields in COLUMN_FIELDS
        only): a bool array indexed by key, every spec a condition (as in the index)."""
        out: np.ndarray | None = None
        for field, value in specs:
            if field == "category":
                bits = self.categories.get(value)
                if bits is None:
                    return np.zeros(self.capacity, dtype=bool)
                passing = np.unpackbits(bits, count=self.capacity, bitorder="little").view(bool)
            else:
                column = getattr(self, field)
                low, high = value
                passing = column >= low if low > 0 else column >= 0
                if high < 10**7:
                    passing &= column <= high
            out = passing if out is None else np.logical_and(out, passing, out=out)
        if out is None:
            raise ValueError("no filter to apply")
        return out
