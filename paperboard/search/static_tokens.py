"""The static model's input: WordPiece ids a word at a time from a cache, pooled in one sparse
product.

Why: model2vec's ``encode`` spends an abstract's time in two places, the Rust tokenizer
(normaliser, pre-tokeniser and WordPiece over ~275 tokens) and a gather-and-mean per batch of
equal lengths; together ~1,500-1,900 abstracts/s on this machine, so the static vectors of
all of arXiv (2.7M papers) took half an hour. An abstract's words are nearly all words seen
before. For ASCII text without control characters the BERT normaliser is lower-casing and its
pre-tokeniser splits runs of letters and digits from every other non-space character (in
ASCII, every one of those is punctuation to BERT): one regular expression. Each distinct word
goes through the tokenizer once; afterwards its ids come from a dict. Any other text (accents,
CJK, control characters) goes through the tokenizer whole. Truncation and the unknown token are
handled as model2vec does (characters cut at 512 times the median token length, ids at 512,
then ``[UNK]`` dropped), so the ids are the tokenizer's exactly; the mean is taken in float32
(model2vec rounds it to the table's float16: cosine >= 0.99999 between the two).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain

import numpy as np

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""ASCII characters the BERT normaliser removes (not whitespace to it): such text takes the
tokenizer's own path."""
_PIECES = re.compile(r"[a-z0-9]+|[^a-z0-9 \t\n\r]")
WORDS_KEPT = 200_000
"""Distinct words whose ids are kept (~40 MB); past it the cache starts again."""


class StaticTokens:
    """Thread-safe without a lock: a call keeps the dict it started with, and a full cache is
    replaced, never cleared under a reader."""

    def __init__(self, model) -> None:
        self._model = model  # model2vec.StaticModel
        self._tokenizer = model.tokenizer
        self._unk = model.unk_token_id
        self._max_tokens = model.max_length
        self._max_chars = None if model.max_length is None else model.max_length * model.median_token_length
        self._table = np.asarray(model.embedding, dtype=np.float32)
        self._words: dict[str, tuple[int, ...]] = {}

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids, as ``model.tokenize`` gives them after model2vec's cut."""
        if self._max_chars is not None:
            texts = [t[: self._max_chars] for t in texts]
        out: list[list[int] | None] = [None] * len(texts)
        words_of: list[tuple[int, list[str]]] = []
        whole: list[int] = []
        for i, text in enumerate(texts):
            if text.isascii() and not _CONTROL.search(text):
                words_of.append((i, _PIECES.findall(text.lower())))
            else:
                whole.append(i)
        cache = self._words
        if len(cache) > WORDS_KEPT:
            cache = self._words = {}
        missing = list({w for _, words in words_of for w in words if w not in cache})
        if missing:
            for word, enc in zip(missing, self._tokenizer.encode_batch_fast(missing, add_special_tokens=False), strict=True):
                cache[word] = tuple(enc.ids)
        get, unk, most = cache.__getitem__, self._unk, self._max_tokens
        for i, words in words_of:
            flat = list(chain.from_iterable(map(get, words)))
            if most is not None:
                del flat[most:]
            if unk is not None and unk in flat:
                flat = [t for t in flat if t != unk]
            out[i] = flat
        if whole:
            for i, ids in zip(whole, self._model.tokenize([texts[i] for i in whole]), strict=True):
                out[i] = list(ids)
        return out  # type: ignore[return-value]

    def mean_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The mean token vector of each text (zeros for a text without tokens), not normalised."""
        from scipy.sparse import csr_matrix

        ids = self.ids(texts)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        indptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(indptr[-1]))
        counts = csr_matrix((np.ones(len(flat), dtype=np.float32), flat, indptr), shape=(len(ids), len(self._table)))
        sums = np.asarray(counts @ self._table, dtype=np.float32)
        return sums / np.maximum(lengths, 1)[:, None]
