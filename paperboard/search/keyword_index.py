"""BM25 over a large corpus with Tantivy, kept in step with the store.

The database's own ranking scores every paper that matches: FTS5's ``bm25()`` walks each
word's whole posting list and scores every match, and so does PostgreSQL's ``ts_rank``, so
"generation in" costs tens of milliseconds at 75k papers and hundreds at a million. Tantivy
is a search engine built for top-k: block-max WAND skips the postings that cannot reach the
top, so the same query takes about a millisecond. It is used for the keyword stage once a
corpus is large enough for the database to be slow; the database stays the engine of record
(it is transactional with the papers) and serves every query the index cannot: hidden papers
asked for, and whenever the index is behind. The index holds the filter fields (days,
categories, organization, authors, submitter: ``filter_specs``), the word pairs that answer
phrases (``pair_tokens``), and feeds the in-memory filter columns (filter_columns.py).

The index lives next to the vector index (``<data>/index/keywords``) and follows the store's
change feed (``paper_changes``: SQLite migration 0007, PostgreSQL migration 0008, which reads
it in commit order): it remembers the feed position it applied and the feed's epoch in
``keywords.json`` and catches up incrementally; a missing, corrupt or foreign index is
rebuilt from the store. Replaying a change is harmless (a paper's document is deleted by key
and written again from its text as it is now), so a crash between Tantivy's commit and the
metadata write loses nothing. Several processes may share the directory: only one writes at
a time (Tantivy's lock); one that cannot write serves its queries from the database until the
index has caught up.

The index reports the position it has saved to the store (store/change_feed.py), as the
reader ``keywords@<id kept in the directory>``, so the feed can be pruned behind every index
that reads it; if it was silent so long that the feed was pruned past it anyway, it rebuilds
from the papers, as a new index does.
"""

from __future__ import annotations

import fcntl
import functools
import itertools
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from ..store.change_feed import ChangeFeedPruned
from .child_build import build_in_child
from .query import ParsedQuery, Term, rarest_within_budget

log = logging.getLogger(__name__)

MIN_PAPERS = 20_000
"""Below this the database ranks in a few milliseconds and needs no second index."""
SCHEMA_VERSION = 4
"""Kept in ``keywords.json``; an index of another version is rebuilt from the store. 2: the
filter fields (feed day, publication day, categories, organization, authors, submitter);
3: the days indexed only (a range of days reads their postings: 0.35 ms for 20k papers of
1M, against 1 ms scanning a fast field of every paper); 4: the days fast fields too (the
filter columns are built from them, filter_columns.py), and the title's and abstract's word
pairs (a phrase of common words reads one pair's postings, see ``pair_tokens``)."""
FIELD_BOOSTS = {"title": 2.0, "abstract": 1.0, "authors": 0.5}
"""A title word says more than an abstract word (chosen on the demo-in-arxiv-daily check, both at 71/71)."""
_FIELDS = {"ti": "title", "abs": "abstract", "au": "authors"}
PAIR_FIELDS = {"title": "title_pairs", "abstract": "abstract_pairs"}
"""Each text field's word pairs: its stemmed tokens joined two by two ("in_this this_paper"),
one pair per position, so a phrase of n words is a phrase of n-1 pairs there."""
LONG_TOKEN = 40
"""Tantivy's ``remove_long`` limit (bytes): longer tokens are not indexed (their position stays empty)."""
MASK_FETCH_FACTOR = 2
MASK_FETCH_MAX = 2_000
"""A broad day or category filter is applied to the unfiltered ranking (``_search_masked``)
when twice the papers asked for, scaled by the share the filter passes, is at most this many:
a filter passing under ~5% of the corpus is left to the filtered query, which is fast for it."""
REFRESH_SECONDS = 1.0
BUILD_IN_CHILD_ABOVE = 100_000
"""A rebuild of a corpus this large runs in a child process: the writer's heap and the texts
in flight never count towards the serving process's memory (its peak RSS at 1M papers)."""
BATCH = 10_000
WRITER_HEAP = 64_000_000
REPORT_EVERY = 3600.0
"""Seconds between reports of an unchanged position: a current index that only answers
queries stays a live reader of the feed (the retention is days)."""
READER_ID_FILE = "feed-reader.id"


class KeywordIndexUnavailable(Exception):
    """The index cannot answer now (behind and another process holds the writer, or broken)."""


def _failed(exc: BaseException) -> bool:
    """Tantivy reports damaged files as errors, or as Rust panics (pyo3's PanicException is
    a BaseException); both mean "rebuild". Interrupts and exits are not failures."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    """Try to take an exclusive lock on ``path`` without waiting; yields whether it was taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("key", stored=False, indexed=True, fast=True)
    sb.add_text_field("title", stored=False, tokenizer_name="en_stem")
    sb.add_text_field("abstract", stored=False, tokenizer_name="en_stem")
    sb.add_text_field("authors", stored=False, tokenizer_name="default")
    # Phrases: the word pairs (built-in whitespace tokenizer: the pairs are made in Python).
    for name in PAIR_FIELDS.values():
        sb.add_text_field(name, stored=False, tokenizer_name="whitespace")
    # Filters (PaperQuery, cat:): exact values, no positions, never scored. The days are fast
    # fields too: the filter columns read every paper's from them (filter_columns.py).
    sb.add_integer_field("day", stored=False, indexed=True, fast=True)
    sb.add_integer_field("published", stored=False, indexed=True, fast=True)
    for name in _EXACT_FIELDS:
        sb.add_text_field(name, stored=False, tokenizer_name="raw", index_option="basic")
    return sb.build()


_EXACT_FIELDS = ("category", "organization", "author", "submitted_by")
"""One exact term per value: categories as stored, organization and authors lower-cased (the
database compares them without case), the submitter as stored."""


@functools.cache
def _analyzers():
    """Tantivy's ``en_stem`` and ``default`` tokenizers, rebuilt to turn a word into the
    index's terms (the same pipeline: split on non-alphanumerics, drop tokens over 40 bytes,
    lower-case, then the English stemmer for ``en_stem``)."""
    import tantivy

    def analyzer(*filters):
        builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        for f in (tantivy.Filter.remove_long(40), tantivy.Filter.lowercase(), *filters):
            builder = builder.filter(f)
        return builder.build()

    return analyzer(tantivy.Filter.stemmer("english")), analyzer()


@functools.cache
def _pair_analyzers():
    """(Tantivy's ``simple`` tokenizer alone, then lower-cased: the ``en_stem`` pipeline's
    tokens before stemming and without its long-token filter, at the same positions; the
    stemmer for one token)."""
    import tantivy

    def analyzer(*filters):
        builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        for f in filters:
            builder = builder.filter(f)
        return builder.build()

    return analyzer(), analyzer(tantivy.Filter.lowercase()), analyzer(tantivy.Filter.stemmer("english"))


_STEMS: dict[str, str] = {}
"""Token -> stem: a corpus has a few hundred thousand distinct tokens, and a dictionary look-up
is cheaper than the stemmer (pairs of a 75k-paper sample: 95 us a paper, 148 stemming each
token); emptied past STEMS_KEPT."""
STEMS_KEPT = 500_000


def _stem(token: str) -> str:
    if len(_STEMS) >= STEMS_KEPT:
        _STEMS.clear()
    stem = _STEMS[token] = (_pair_analyzers()[2].analyze(token) or [token])[0]
    return stem


def pair_tokens(text: str) -> list[str]:
    """The word pairs of a text as the ``en_stem`` field indexes its words: each stemmed token
    joined to the next by ``_`` (tokens are alphanumeric, so a pair is unambiguous), ``_`` alone
    where either token is too long to be indexed (positions stay aligned, and no pair bridges
    the gap, as no phrase does in the text field)."""
    raw, lower, _ = _pair_analyzers()
    tokens = lower.analyze(text)
    if len(tokens) < 2:
        return []
    long: list[int] = []
    longest = max(map(len, tokens))
    if text.isascii():  # a character is a byte, before and after lower-casing
        if longest >= LONG_TOKEN:
            long = [i for i, tok in enumerate(tokens) if len(tok) >= LONG_TOKEN]
    elif longest * 4 >= LONG_TOKEN:  # lower-casing may change a token's length in bytes
        long = [i for i, tok in enumerate(raw.analyze(text)) if len(tok.encode()) >= LONG_TOKEN]
    # Look-ups in C (map over dict.get); the stemmer only for tokens not seen before.
    stems = list(map(_STEMS.get, tokens))
    if None in stems:
        stems = [stem or _stem(tok) for stem, tok in zip(stems, tokens, strict=True)]
    pairs = list(map("_".join, itertools.pairwise(stems)))
    for i in long:
        for j in (i - 1, i):
            if 0 <= j < len(pairs):
                pairs[j] = "_"
    return pairs


def _term_clause(term: Term) -> str:
    """One term in Tantivy's query language. A phrase of two or more tokens in the title or
    the abstract is a phrase of their pairs there ("in this paper": the pairs "in_this",
    "this_paper" in consecutive positions, the same papers as the words in consecutive
    positions), whose postings are a small part of the words' ("of" and "the" are in nearly
    every paper, "of_the" in fewer, and a single pair needs no positions at all): at 1M papers
    a phrase of common words took ~60 ms through the words' postings. Scores are the pair
    field's BM25, the same order for a phrase alone. Authors keep the words (names, short)."""
    fields = [_FIELDS[term.field]] if term.field else list(FIELD_BOOSTS)
    quoted = " ".join(term.words)
    pairs = pair_tokens(quoted) if term.is_phrase and term.field != "au" else []
    if not pairs or "_" in pairs:
        return f'{_FIELDS[term.field] + ":" if term.field else ""}"{quoted}"'
    parts = []
    for name in fields:
        boost = "" if term.field else f"^{FIELD_BOOSTS[name]}"
        if name in PAIR_FIELDS:
            parts.append(f'{PAIR_FIELDS[name]}:"{" ".join(pairs)}"{boost}')
        else:
            parts.append(f'{name}:"{quoted}"{boost}')
    return f"({' '.join(parts)})"


def pair_cover(pairs: list[str]) -> list[tuple[int, str]]:
    """(position, pair) of the fewest pairs that cover every word of a phrase: the first, every
    second after it, and the last. A pair at position i holds words i and i+1, and consecutive
    pairs of a text share their word, so pairs that cover every word at their positions match
    exactly where all of them do: "state of the art" is "state_of" then "the_art" two positions
    on, and "of_the", in nearly every abstract, is not read."""
    chosen = list(range(0, len(pairs), 2))
    if chosen[-1] != len(pairs) - 1:
        chosen.append(len(pairs) - 1)
    return [(i, pairs[i]) for i in chosen]


def _phrase_query(index, term: Term):
    """A phrase of four or more words as a query on the cover of its pairs (``pair_cover``), or
    None when the query language's form of it (``_term_clause``) reads as few postings. The
    matches are the same; the phrase's BM25 weight sums the idf of the pairs read, so the
    common pairs left out no longer count towards it (a phrase alone ranks as before)."""
    import tantivy

    if not term.is_phrase or term.field == "au" or len(term.words) < 4:
        return None
    pairs = pair_tokens(" ".join(term.words))
    if len(pairs) < 3 or "_" in pairs:
        return None
    cover = pair_cover(pairs)
    clauses = []
    for name in [_FIELDS[term.field]] if term.field else list(FIELD_BOOSTS):
        if name in PAIR_FIELDS:
            query = tantivy.Query.phrase_query(index.schema, PAIR_FIELDS[name], cover)
        else:  # the authors: the words themselves, through the field's own tokenizer
            query = index.parse_query(f'{name}:"{" ".join(term.words)}"')
        if not term.field:
            query = tantivy.Query.boost_query(query, FIELD_BOOSTS[name])
        clauses.append((tantivy.Occur.Should, query))
    return tantivy.Query.boolean_query(clauses)


def content_terms(terms: list[Term]) -> list[Term]:
    """The terms worth a posting-list walk: function words and abstract boilerplate
    ("for", "the", "method") are in most papers, so they cost the most and rank the least
    (on the 282 plain queries of bench/search_speed.py at 1M papers, dropping them took the
    Tantivy search from p50 5.7 to 2.4 ms for every word, 15 to 2.8 ms for any word; the
    known-item questions kept MRR@10 0.905 at 75k). Phrases and field terms stay:
    they are what the user asked to match exactly. All stopwords: kept, there is nothing else."""
    from .bm25 import STOPWORDS

    kept = [t for t in terms if t.is_phrase or t.field or t.words[0] not in STOPWORDS]
    return kept or terms


def query_string(parsed: ParsedQuery, match: str) -> str:
    """The query in Tantivy's language. Words are ``\\w+`` only (search.query), so quoting
    each term is always safe: nothing the user typed can become Tantivy syntax."""
    parts = [("+" if match == "all" else "") + _term_clause(term) for term in content_terms(parsed.positive)]
    parts += [f"-{_term_clause(term)}" for term in parsed.negative]
    return " ".join(parts)


def parse(index, parsed: ParsedQuery, match: str):
    """The query as Tantivy objects: ``query_string`` parsed, unless a phrase is long enough
    for the cover of its pairs (``_phrase_query``), which the query language cannot say."""
    import tantivy

    positive = content_terms(parsed.positive)
    covered = [_phrase_query(index, term) for term in positive]
    if not any(q is not None for q in covered):
        return index.parse_query(query_string(parsed, match), list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS)

    def clause(term):
        return index.parse_query(_term_clause(term), list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS)

    occur = tantivy.Occur.Must if match == "all" else tantivy.Occur.Should
    parts = [(occur, q if q is not None else clause(t)) for t, q in zip(positive, covered, strict=True)]
    parts += [(tantivy.Occur.MustNot, clause(t)) for t in parsed.negative]
    return tantivy.Query.boolean_query(parts)


def _stale(meta: dict | None, epoch: str, store_seq: int) -> bool:
    """The saved index cannot be caught up: missing, another database's, or ahead of the store."""
    return meta is None or meta["epoch"] != epoch or meta["max_seq"] > store_seq


def _document(text):
    import tantivy

    doc = tantivy.Document(key=text.key, title=text.title, abstract=text.abstract, authors=" ".join(text.authors))
    for name, value in ((PAIR_FIELDS["title"], text.title), (PAIR_FIELDS["abstract"], text.abstract)):
        doc.add_text(name, " ".join(pair_tokens(value or "")))
    if text.day is not None:
        doc.add_integer("day", text.day.toordinal())
    if text.published is not None:
        doc.add_integer("published", text.published.toordinal())
    for cat in text.categories:
        doc.add_text("category", cat)
    if text.organization:
        doc.add_text("organization", text.organization.lower())
    for author in dict.fromkeys(a.lower() for a in text.authors):
        doc.add_text("author", author)
    if text.submitted_by:
        doc.add_text("submitted_by", text.submitted_by)
    return doc


class Unfilterable(Exception):
    """A filter the index cannot apply (hidden papers are not in it): the database answers."""


def filter_specs(filters, categories=()) -> list[tuple]:
    """What every result must match, one ``(field, value)`` or ``(field, (low, high))`` per
    filter, with the database's meaning (store/*/papers.py ``_filters``): feed days and
    publication days inclusive, a category the primary one or any other, organization and
    author equal without case (the author stripped of surrounding spaces), hidden papers never
    (they are not in the index). Raises Unfilterable for ``include_hidden``."""
    out: list[tuple] = [("category", cat) for cat in categories]
    if filters is None:
        return out
    if filters.include_hidden:
        raise Unfilterable("hidden papers are not in the keyword index")

    def days(lo, hi):
        return (lo.toordinal() if lo else 0, hi.toordinal() if hi else 10**7)

    if filters.start or filters.end:
        out.append(("day", days(filters.start, filters.end)))
    if filters.published_from or filters.published_until:
        out.append(("published", days(filters.published_from, filters.published_until)))
    if filters.category:
        out.append(("category", filters.category))
    if filters.organization:
        out.append(("organization", filters.organization.lower()))
    if filters.author:
        out.append(("author", filters.author.strip().lower()))
    if filters.submitted_by:
        out.append(("submitted_by", filters.submitted_by))
    return out


def _clause(schema, spec: tuple):
    import tantivy

    field, value = spec
    if isinstance(value, tuple):
        low, high = value
        return tantivy.Query.range_query(
            schema, field, tantivy.FieldType.Integer, low, high, include_lower=True, include_upper=True
        )
    return tantivy.Query.term_query(schema, field, value)



class KeywordIndex:
    """Thread-safe; ``search`` refreshes itself at most once a second."""

    def __init__(self, store, directory: Path, *, min_papers: int = MIN_PAPERS) -> None:
        self.store = store
        self.directory = Path(directory)
        self.min_papers = min_papers
        self._index = None
        self._seq = -1
        self._epoch = ""
        self._checked_at = 0.0
        self._ready = False
        self._is_build_child = False
        self._reader = ""
        self._reported_at = -REPORT_EVERY
        self._columns = None
        """FilterColumns, built on the first filter that needs them, then kept current."""
        self._lock = threading.RLock()

    # -- files --------------------------------------------------------------------------
    @property
    def _path(self) -> Path:
        return self.directory / "keywords"

    @property
    def _meta_path(self) -> Path:
        return self.directory / "keywords.json"

    def _read_meta(self) -> dict | None:
        try:
            meta = json.loads(self._meta_path.read_text())
            return meta if meta.get("schema") == SCHEMA_VERSION else None
        except (OSError, ValueError):
            return None

    def _write_meta(self, seq: int, epoch: str) -> None:
        tmp = self._meta_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"schema": SCHEMA_VERSION, "epoch": epoch, "max_seq": seq}))
        os.replace(tmp, self._meta_path)

    def _open(self, *, fresh: bool, rebuild_if_broken: bool = True) -> bool:
        """Open (or create) the index; True when it starts empty and must be built."""
        import tantivy

        if fresh:
            shutil.rmtree(self._path, ignore_errors=True)
            self._meta_path.unlink(missing_ok=True)
        self._path.mkdir(parents=True, exist_ok=True)
        try:
            self._index = tantivy.Index(_schema(), path=str(self._path))
            self._index.reload()
        except BaseException as exc:  # corrupt or from another schema: start over, never crash
            self._index = None
            if fresh or not rebuild_if_broken or not _failed(exc):
                raise
            log.warning("keyword index %s unusable (%s): rebuilding from the store", self._path, exc)
            return self._open(fresh=True)
        return fresh

    def _discard(self, exc: Exception) -> None:
        """A file went bad under a working index: forget it; the next refresh rebuilds."""
        log.warning("keyword index %s failed (%s): rebuilding from the store", self._path, exc)
        with self._lock:
            self._index, self._ready = None, False
            self._meta_path.unlink(missing_ok=True)

    # -- keeping up with the store ------------------------------------------------------
    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < REFRESH_SECONDS:
            return
        with self._lock:
            self._checked_at = now
            if self._index is None and self.store.approximate_paper_count() < self.min_papers:
                return  # small corpus: the database is fast enough, no second index to keep
            store_seq, epoch = self.store.text_change_stats()
            if self._ready and store_seq == self._seq and epoch == self._epoch:
                self._heartbeat()
                return
            meta = self._read_meta()
            current = not _stale(meta, epoch, store_seq) and meta["max_seq"] == store_seq
            if not current or (self._index is None and not self._try_open()):
                # Building and catching up write files: one process at a time. The others
                # keep answering from the database and pick the result up on a later refresh.
                lock = nullcontext(True) if self._is_build_child else _file_lock(self.directory / "keywords.lock")
                with lock as locked:
                    if not locked:
                        self._ready = False
                        return
                    store_seq, epoch = self._update()
            else:
                self._seq = store_seq
            self._index.reload()
            self._epoch, self._ready = epoch, self._seq >= store_seq
            self._follow_columns()
            self._heartbeat()

    def _try_open(self) -> bool:
        try:
            self._open(fresh=False, rebuild_if_broken=False)
            return True
        except BaseException as exc:
            if not _failed(exc):
                raise
            return False

    def _state(self) -> tuple[dict | None, int, str]:
        """The saved metadata, then the feed's (position, epoch): read in this order, a
        position another process saved is never ahead of the feed's (positions only grow),
        so "ahead" means a restored database, not a race."""
        meta = self._read_meta()
        return meta, *self.store.text_change_stats()

    def _cannot_catch_up(self, meta: dict | None, epoch: str, store_seq: int) -> bool:
        if _stale(meta, epoch, store_seq):
            return True
        floor = getattr(self.store, "change_feed_floor", lambda: 0)()
        if meta["max_seq"] < floor:
            log.warning("keyword index %s: the change feed was pruned past its position (silent longer than"
                        " the retention): rebuilding from the store", self._path)  # fmt: skip
            return True
        return False

    def _update(self, *, retry: bool = True) -> tuple[int, str]:
        """Under the file lock: rebuild a missing, corrupt, foreign or pruned-past index, then
        catch up; returns the feed's (position, epoch) read for it."""
        meta, store_seq, epoch = self._state()  # another process may have just brought it up
        stale = self._cannot_catch_up(meta, epoch, store_seq)
        if stale and not self._is_build_child and self.store.approximate_paper_count() >= BUILD_IN_CHILD_ABOVE:
            self._index = None  # we hold the build lock for the child
            if not build_in_child(_build_child, (self.store.url, str(self.directory)), "keyword index"):
                raise RuntimeError("building the keyword index failed in its process")
            meta, store_seq, epoch = self._state()
            stale = self._cannot_catch_up(meta, epoch, store_seq)
        if self._index is None or stale:
            if self._open(fresh=stale):
                meta = None
        applied = meta["max_seq"] if meta else 0
        if applied < store_seq:
            try:
                applied = self._catch_up(applied, epoch, rebuild=meta is None)
            except ChangeFeedPruned:
                # Pruned while it read (a prune that began before this index reported its
                # position): what it saved is behind the cut, so it is built again, once.
                if not retry:
                    raise
                log.warning("keyword index %s: the change feed was pruned while it caught up: rebuilding", self._path)
                self._meta_path.unlink(missing_ok=True)
                return self._update(retry=False)
        self._seq = applied
        return store_seq, epoch

    def _catch_up(self, after: int, epoch: str, *, rebuild: bool) -> int:
        try:
            writer = self._index.writer(heap_size=WRITER_HEAP)
        except ValueError as exc:  # another process is writing: it will bring the index up
            log.info("keyword index busy (%s): the database answers meanwhile", exc)
            return after
        try:
            if rebuild:
                # The feed's position first, then the papers: a change made while they are
                # read is applied again by the next catch-up, which is harmless.
                after, _ = self.store.text_change_stats()
                # Holds the feed at the head it starts from while the papers are read; what
                # it applied before is being thrown away, so it needs nothing older.
                self._report(after, epoch)
                writer.delete_all_documents()
                key = 0
                while texts := self.store.searchable_texts(after_key=key, limit=BATCH):
                    for t in texts:
                        writer.add_document(_document(t))
                    key = texts[-1].key
                writer.commit()
                self._write_meta(after, epoch)
                self._report(after, epoch)
            while changes := self.store.text_changes(after_seq=after, limit=BATCH):
                for c in changes:
                    writer.delete_documents_by_term("key", c.key)
                    if c.title is not None:
                        writer.add_document(_document(c))
                after = changes[-1].seq
                writer.commit()  # each batch is durable: a crash resumes after it
                self._write_meta(after, epoch)
                self._report(after, epoch)  # only once saved: the feed up to it may go at once
            writer.wait_merging_threads()
        finally:
            del writer
        return after

    def _follow_columns(self) -> None:
        """Bring the filter columns up to the feed position the index has applied; a feed
        pruned past them, or another database behind the same URL, drops them (the next
        filter builds them again from the index)."""
        columns = self._columns
        if columns is None:
            return
        if columns.epoch != self._epoch:
            self._columns = None
            return
        try:
            while columns.seq < self._seq and (changes := self.store.text_changes(after_seq=columns.seq, limit=BATCH)):
                columns.apply(changes)
        except ChangeFeedPruned:
            self._columns = None

    def load(self) -> None:
        """Open (or catch up) the index and read its filter columns now, not at the first
        search that needs them (search/warm.py). Raises KeywordIndexUnavailable as a search does."""
        self._check_ready()
        self._filter_columns()

    def _filter_columns(self):
        from .filter_columns import FilterColumns

        with self._lock:
            if self._columns is None or self._columns.epoch != self._epoch:
                self._columns = None
                self._columns = self._run(lambda s: FilterColumns.from_index(s, self._index.schema, self._seq, self._epoch))
            return self._columns

    # -- reporting the position to the store --------------------------------------------
    def _reader_name(self) -> str:
        """``keywords@<id>``, the id kept in the directory: every index directory is a reader
        of its own, even where several hosts use the same path."""
        if not self._reader:
            path = self.directory / READER_ID_FILE
            if not path.exists():
                self.directory.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_text(uuid.uuid4().hex)
                try:
                    os.link(tmp, path)  # the first process to get here names the directory
                except FileExistsError:
                    pass
                finally:
                    tmp.unlink(missing_ok=True)
            self._reader = f"keywords@{path.read_text().strip()}"
        return self._reader

    def _report(self, position: int, epoch: str) -> None:
        """Tell the store how far this index has applied the feed. A failure only costs a
        rebuild later (the feed may be pruned past a reader it has not heard from), so it is
        logged, and searches go on."""
        report = getattr(self.store, "report_feed_position", None)
        if report is None:
            return
        try:
            report(self._reader_name(), f"{socket.gethostname()}:{self.directory.resolve()}", epoch, position)
            self._reported_at = time.monotonic()
        except Exception as exc:  # noqa: BLE001
            log.warning("keyword index %s could not report its change-feed position: %s", self._path, exc)

    def _heartbeat(self) -> None:
        """An unchanged position, reported beside the search that noticed it is due: the
        write may wait for an ingest's transaction, and a search should not."""
        if self._ready and time.monotonic() - self._reported_at >= REPORT_EVERY:
            self._reported_at = time.monotonic()
            threading.Thread(target=self._report, args=(self._seq, self._epoch), daemon=True).start()

    # -- queries ------------------------------------------------------------------------
    def _check_ready(self) -> None:
        try:
            self.refresh()
        except BaseException as exc:  # the store or the files failed mid catch-up: the database answers
            if not _failed(exc):
                raise
            log.warning("keyword index %s could not catch up: %s", self._path, exc)
            raise KeywordIndexUnavailable(str(exc)) from exc
        if not self._ready:
            raise KeywordIndexUnavailable("the keyword index is catching up")

    def _constrained(self, query, filters, categories) -> object:
        """``query`` (None: every paper) restricted by the filters; the filters add nothing
        to the score, so the ranking is the unfiltered one, cut to the papers that pass."""
        import tantivy

        try:
            clauses = [_clause(self._index.schema, spec) for spec in filter_specs(filters, categories)]
        except Unfilterable as exc:
            raise KeywordIndexUnavailable(str(exc)) from exc
        if not clauses:
            return query if query is not None else tantivy.Query.all_query()
        musts = [(tantivy.Occur.Must, tantivy.Query.const_score_query(c, 0.0)) for c in clauses]
        if query is not None:
            musts.insert(0, (tantivy.Occur.Must, query))
        return tantivy.Query.boolean_query(musts)

    def _run(self, fn):
        """``fn(searcher)``, a damaged file turned into KeywordIndexUnavailable (and a rebuild)."""
        try:
            return fn(self._index.searcher())
        except BaseException as exc:  # a damaged segment file: the database answers, the index is rebuilt
            if not _failed(exc):
                raise
            self._discard(exc)
            raise KeywordIndexUnavailable(f"the keyword index failed: {exc}") from exc

    def search(
        self, parsed: ParsedQuery, *, limit: int, match: str = "all", filters=None, categories=()
    ) -> list[tuple[int, float]]:
        """Top (key, BM25 score) for the query among the papers that pass ``filters`` (a
        PaperQuery) and have one of ``categories``; raises KeywordIndexUnavailable when
        behind, or for a filter it cannot apply."""
        self._check_ready()
        if not parsed.positive or limit <= 0:
            return []
        try:
            query = parse(self._index, parsed, match)
        except ValueError as exc:
            raise KeywordIndexUnavailable(f"cannot express this query: {exc}") from exc
        masked = self._search_masked(query, limit, filters, categories)
        if masked is not None:
            return masked
        query = self._constrained(query, filters, categories)

        def run(searcher):
            hits = searcher.search(query, limit, count=False).hits  # counting would visit every match
            return hits, searcher.fast_field_values("key", [address for _, address in hits])

        hits, keys = self._run(run)
        return [(int(key), float(score)) for key, (score, _) in zip(keys, hits, strict=True)]

    def _search_masked(self, query, limit: int, filters, categories) -> list[tuple[int, float]] | None:
        """The filtered top ``limit`` read off the unfiltered ranking, or None when it cannot be.

        Why: a filter joined to the query as a required clause stops the top-k pruning of
        an any-word query (every match of a broad category must be scored), and each
        filtered query ran twice (every word, then any). When a day or category filter lets
        through a large share of the corpus, its first ``limit`` papers are near the top of
        the unfiltered ranking: read the top ``limit / share * MASK_FETCH_FACTOR`` there and
        keep those the filter columns pass. The filters add nothing to the scores, so this is
        the filtered ranking exactly whenever it is complete: every match was read, or
        ``limit`` passed with a score above the last one read (a tie at that boundary could
        hide an equal paper further down: the filtered query answers then)."""
        from .filter_columns import COLUMN_FIELDS

        try:
            specs = filter_specs(filters, categories)
        except Unfilterable:
            return None
        if not specs or any(field not in COLUMN_FIELDS for field, _ in specs):
            return None
        mask = self._filter_columns().mask(specs)
        passing = int(mask.sum())
        if not passing:
            return None  # the filtered query says "nothing" at once

        def run(searcher):
            fetch = -(-limit * searcher.num_docs * MASK_FETCH_FACTOR // passing)
            if fetch > MASK_FETCH_MAX:
                return None
            hits = searcher.search(query, fetch, count=False).hits
            keys = searcher.fast_field_values("key", [address for _, address in hits])
            return fetch, hits, keys

        read = self._run(run)
        if read is None:
            return None
        fetch, hits, keys = read
        kept = [(int(key), float(score)) for key, (score, _) in zip(keys, hits, strict=True) if key < len(mask) and mask[key]]
        if len(hits) < fetch:
            return kept[:limit]  # every match was read
        if len(kept) >= limit and kept[limit - 1][1] > float(hits[-1][0]):
            return kept[:limit]
        return None

    def _filter_query(self, parsed: ParsedQuery | None, filters, categories):
        """Papers that pass the filters and contain none of the query's excluded words."""
        import tantivy

        query = None
        if parsed is not None and parsed.negative:
            # Exclusions alone match nothing in Tantivy: every paper, minus the excluded.
            exclude = self._index.parse_query(" ".join(_term_clause(t) for t in parsed.negative), list(FIELD_BOOSTS))
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, tantivy.Query.all_query()), (tantivy.Occur.MustNot, exclude)]
            )
        return self._constrained(query, filters, categories)

    def filter_plan(self, parsed: ParsedQuery | None, filters, categories=(), *, exact_max: int) -> tuple[list[int] | None, float]:
        """(the keys of every paper that passes the filters and exclusions when at most
        ``exact_max`` can, else None; the estimated share of the corpus that passes). Counting
        a broad filter's papers exactly costs milliseconds; a bound does not: each filter's
        own count (a term's document frequency, a range's postings), the least of them bounds
        the whole, and their product (as if independent) estimates its share."""
        self._check_ready()
        try:
            specs = filter_specs(filters, categories)
        except Unfilterable as exc:
            raise KeywordIndexUnavailable(str(exc)) from exc
        schema = self._index.schema

        def plan(searcher):
            total = max(searcher.num_docs, 1)
            bound, share = total, 1.0
            for spec in specs:
                field, value = spec
                if isinstance(value, tuple):
                    n = searcher.search(_clause(schema, spec), 1, count=True).count
                else:
                    n = searcher.doc_freq(field, value)  # deleted documents included: a bound
                bound, share = min(bound, n), share * n / total
            if bound > exact_max:
                return None, share
            if bound == 0:
                return [], 0.0
            query = self._filter_query(parsed, filters, categories)
            hits = searcher.search(query, bound, count=False).hits
            return [int(k) for k in searcher.fast_field_values("key", [a for _, a in hits])], len(hits) / total

        return self._run(plan)

    def filter_mask(self, parsed: ParsedQuery | None, filters, categories=()):
        """(which keys pass, as a bool array indexed by key; the papers in the index) when every
        filter is a day range or a category and the query excludes nothing, else None (the
        filter's postings answer: ``filter_plan``). Raises KeywordIndexUnavailable as
        ``filter_plan`` does."""
        from .filter_columns import COLUMN_FIELDS

        self._check_ready()
        try:
            specs = filter_specs(filters, categories)
        except Unfilterable as exc:
            raise KeywordIndexUnavailable(str(exc)) from exc
        if not specs or (parsed is not None and parsed.negative) or any(f not in COLUMN_FIELDS for f, _ in specs):
            return None
        return self._filter_columns().mask(specs), self._run(lambda s: s.num_docs)

    def count_passing(self, parsed: ParsedQuery | None, filters, categories=()) -> tuple[int, int]:
        """(papers that pass the filters and exclusions, papers in the index)."""
        self._check_ready()
        query = self._filter_query(parsed, filters, categories)
        return self._run(lambda s: (s.search(query, 1, count=True).count, s.num_docs))

    def passing_keys(self, parsed: ParsedQuery | None, filters, categories=(), *, among=None, limit: int) -> list[int]:
        """Keys of up to ``limit`` papers that pass the filters and exclusions, of ``among``
        (keys) when given; in no particular order."""
        import tantivy

        self._check_ready()
        if limit <= 0 or (among is not None and not len(among)):
            return []
        query = self._filter_query(parsed, filters, categories)
        if among is not None:
            among = [int(k) for k in among]
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query), (tantivy.Occur.Must, tantivy.Query.term_set_query(self._index.schema, "key", among))]
            )

        def run(searcher):
            hits = searcher.search(query, limit, count=False).hits
            return searcher.fast_field_values("key", [address for _, address in hits])

        return [int(k) for k in self._run(run)]

    def rarest_terms(self, terms: list[Term]) -> list[Term]:
        """The terms an any-word search keeps: rarest first, within the postings budget (at
        least one). The store chooses when it keeps document frequencies of its own (SQLite's
        FTS5 vocabulary); otherwise (PostgreSQL: none that are cheap) they come from this
        index. Phrases and field-restricted terms are kept: they are selective by construction.
        Raises KeywordIndexUnavailable when the index cannot answer now."""
        own = getattr(self.store, "rarest_terms", None)
        if own is not None:
            return own(terms)
        return rarest_within_budget(terms, self._postings)

    def _postings(self, singles: list[Term]) -> dict[Term, int]:
        """The postings an OR query walks for each word: its stem's in the title and the
        abstract, the word's in the authors (each field's own tokenizer, see _schema)."""
        self.refresh()
        if not self._ready:
            raise KeywordIndexUnavailable("the keyword index is catching up")
        stem, plain = _analyzers()
        try:
            searcher = self._index.searcher()
            return {
                t: sum(searcher.doc_freq(f, tok) for tok in stem.analyze(t.words[0]) for f in ("title", "abstract"))
                + sum(searcher.doc_freq("authors", tok) for tok in plain.analyze(t.words[0]))
                for t in singles
            }
        except BaseException as exc:  # a damaged file: the database answers, the index is rebuilt
            if not _failed(exc):
                raise
            self._discard(exc)
            raise KeywordIndexUnavailable(f"the keyword index failed: {exc}") from exc

    def __len__(self) -> int:
        self.refresh()
        return self._index.searcher().num_docs if self._index is not None else 0


def _build_child(url: str, directory: str) -> None:
    from ..store import open_store

    store = open_store(url)
    try:
        index = KeywordIndex(store, Path(directory), min_papers=0)
        index._is_build_child = True
        index.refresh(force=True)
    finally:
        store.close()


_shared: dict[tuple[str, str], KeywordIndex] = {}
_shared_lock = threading.Lock()


def shared_keyword_index(store, directory: Path | None) -> KeywordIndex | None:
    """One per (database, directory) per process, or None when the store has no change feed
    to follow or there is nowhere to keep it."""
    if directory is None or not hasattr(store, "text_change_stats"):
        return None
    key = (store.url, str(directory))
    with _shared_lock:
        index = _shared.get(key)
        if index is None:
            index = _shared[key] = KeywordIndex(store, directory)
        index.store = store
        return index
