"""Property-based tests (Hypothesis) of the search query parser and of what it hands the engines.

The parser's promise (search/query.py): any text is a query, never an exception except the
documented ``QueryError`` for an over-long one, and nothing the user types reaches SQLite
FTS5 or Tantivy as syntax. These properties check that on generated text, and that the
parsed form means what was typed (fields, phrases, exclusions) and survives a round trip
through its own syntax.

Runs are derandomized with a bounded number of examples so CI is reproducible and quick;
``PAPERBOARD_FUZZ_EXAMPLES=5000 pytest tests/test_properties_query.py`` explores longer.
"""

from __future__ import annotations

import os
import sqlite3

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paperboard.search.keyword_index import _schema, query_string
from paperboard.search.query import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    ParsedQuery,
    QueryError,
    Term,
    parse_query,
    words_of,
)
from paperboard.store.base import QuerySyntaxError
from paperboard.store.sqlite.papers import fts_expression

pytestmark = pytest.mark.sqlite_only  # pure functions: a second backend would only repeat them
EXAMPLES = int(os.environ.get("PAPERBOARD_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip

# Text that looks like queries: the syntax characters often, any Unicode sometimes.
SYNTAX = st.sampled_from(
    ['"', "-", ":", " ", "ti:", "au:", "abs:", "cat:", "title:", "AND", "(", "*", "\x00", "\t"]
)
query_text = st.one_of(
    st.text(max_size=MAX_QUERY_CHARS),
    st.lists(st.one_of(SYNTAX, st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8)), max_size=30).map("".join),
).filter(lambda s: len(s) <= MAX_QUERY_CHARS)  # fmt: skip
ascii_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)


def parse_or_refused(text: str) -> ParsedQuery | None:
    """The parse, or None where the text is refused for the one documented reason left for
    text within the length limit: excluding a category (``-cat:``)."""
    try:
        return parse_query(text)
    except QueryError as exc:
        assert "-cat:" in text.lower() and "excluding a category" in str(exc), exc
        return None


def render(parsed: ParsedQuery) -> str:
    """The parsed query written back in the canonical form of its own syntax."""
    parts = []
    for t in parsed.terms:
        body = f'"{" ".join(t.words)}"' if t.is_phrase else t.words[0]
        parts.append(("-" if t.negated else "") + (f"{t.field}:" if t.field else "") + body)
    parts += [f"cat:{c}" for c in parsed.categories]
    return " ".join(parts)


@FUZZ
@given(text=query_text)
@example(text='ti:"unclosed phrase')
@example(text='-"" : -- ::: ""')
@example(text="\x00" * 10)
def test_any_text_parses_into_clean_terms(text):
    if (parsed := parse_or_refused(text)) is None:
        return
    assert len(parsed.terms) <= MAX_TERMS
    for term in parsed.terms:
        assert term.words, "a term always has a word"
        assert term.field in (None, "ti", "au", "abs")
        for word in term.words:
            assert word == word.lower() and words_of(word) == (word,), (
                f"{word!r} is not a plain word"
            )


@FUZZ
@given(text=query_text)
@example(text="ǅ")  # a titlecase digraph: NFKC after lower-casing would change it again
def test_reparsing_the_canonical_form_gives_the_same_query(text):
    """Round trip: what the parser understood can be written in its syntax and read back the
    same (so a query can be shown, saved as an alert and run again unchanged)."""
    if (parsed := parse_or_refused(text)) is None:
        return
    again = parse_query(render(parsed), max_chars=10_000)
    assert again.terms == parsed.terms
    assert again.categories == parsed.categories


@FUZZ
@given(text=query_text)
@example(text='ti:"a b" -"c d" au:e')
def test_the_engines_never_see_syntax_from_the_user(text):
    """Whatever was typed, the FTS5 expression runs on a real FTS5 table and Tantivy parses its
    query: the only refusal is the documented "nothing to search for"."""
    if (parsed := parse_or_refused(text)) is None:
        return
    try:
        expressions = [fts_expression(parsed, "all"), fts_expression(parsed, "any")]
    except QuerySyntaxError:
        assert parsed.is_empty
        return
    for expression in expressions:
        FTS.execute(
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", (expression,)
        ).fetchall()
    for match in ("all", "any"):
        TANTIVY.parse_query(query_string(parsed, match), ["title", "abstract", "authors"])


@FUZZ
@given(
    terms=st.lists(
        st.tuples(st.lists(ascii_word, min_size=1, max_size=3), st.sampled_from([None, "ti", "au", "abs"]), st.booleans()),
        min_size=1, max_size=8,
    ),
    categories=st.lists(st.sampled_from(["cs.CL", "cs.LG", "hep-th", "math.AG", "q-bio.NC"]), max_size=2),
)  # fmt: skip
def test_fields_phrases_and_exclusions_mean_what_was_typed(terms, categories):
    expected = [Term(tuple(words), field, negated) for words, field, negated in terms]
    parsed = parse_query(
        render(ParsedQuery(text="", terms=expected, categories=categories)), max_chars=10_000
    )
    assert parsed.terms == expected
    assert parsed.categories == categories


@FUZZ
@given(word=ascii_word, field=st.sampled_from(["title", "author", "abstract", "TI", "Au"]))
def test_long_field_names_and_any_case_name_the_same_field(word, field):
    short = {"title": "ti", "author": "au", "abstract": "abs"}.get(field, field.lower())
    assert parse_query(f"{field}:{word}").terms == [Term((word,), short)]


NO_SPACE = st.text(min_size=1, max_size=20).filter(
    lambda s: not any(c.isspace() or c in '"\x00' for c in s)
)


@FUZZ
@given(token=NO_SPACE)
@example(token="cat:cs.CL")
@example(token="CAT:hep-th")
def test_a_minus_never_adds_a_positive_condition(token):
    """``-x`` excludes: it must never become something results are required to match
    (``-cat:cs.CL`` used to be read as ``cat:cs.CL``, returning only what was excluded).
    Excluding a category is not supported, so it is refused with a reason instead."""
    try:
        parsed = parse_query("-" + token)
    except QueryError as exc:
        assert token.lower().startswith("cat:") and "cat:" in str(exc)
        return
    assert parsed.positive == [] and parsed.categories == []


@given(extra=st.integers(min_value=1, max_value=1000))
@settings(max_examples=20, deadline=None, derandomize=True, database=None)
def test_the_length_limit_is_exact(extra):
    assert parse_query("a" * MAX_QUERY_CHARS).terms == [Term(("a" * MAX_QUERY_CHARS,))]
    with pytest.raises(QueryError, match=str(MAX_QUERY_CHARS)):
        parse_query("a" * (MAX_QUERY_CHARS + extra))
    assert parse_query("b " * 300, max_chars=10_000).terms[MAX_TERMS - 1] == Term(("b",))
    assert len(parse_query("b " * 300, max_chars=10_000).terms) == MAX_TERMS


def _fts_table() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute(
        "CREATE VIRTUAL TABLE papers_fts USING fts5 (title, abstract, authors, tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.execute(
        "INSERT INTO papers_fts VALUES ('Attention is all you need', 'We propose a network.', 'Ada Lovelace')"
    )
    return db


def _tantivy_index():
    import tantivy

    return tantivy.Index(_schema())


FTS = _fts_table()
TANTIVY = _tantivy_index()
