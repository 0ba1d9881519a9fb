"""Candidate TL;DRs of one paper and the features the trained model scores them by.

Candidates are each abstract sentence, always without a leading discourse clause ("In this
paper, we propose X" becomes "We propose X"), and the sentence cut at a clause boundary
(", which …", "; …", " by …") or, less eagerly, before a preposition or conjunction, since a
good TL;DR is shorter than most abstract sentences.
The rules are general English, not fitted to any paper; which candidate wins is learned.

What decides is mostly which sentence: on SciTLDR-A dev, our choice scores ROUGE-1 38.9; the
best cut of the sentence we chose would score 41.0 and our cut of the best sentence 44.1 (the
best candidate overall: 46.9). Measured toward dev R1 40 and not kept, as train 5-fold CV
ROUGE-1 against the features of the time (kept model: CV 35.38, dev 38.88): a listwise softmax
over a paper's candidates (35.02-35.18 vs 35.15 before the context features, 35.20-35.25 vs
35.38 after); gradient boosting (35.09 vs 35.15); per-word lexical weights over the 100-1,000
commonest words (34.91-35.21 vs 35.15); a per-word "in the TL;DR" logistic model's expected
overlap as features (35.51 vs 35.38, dev +0.13, for a sigmoid per word); cut-word one-hots and
what a cut drops (35.27); title bigrams, a title's "Name:" in the candidate, a verb cue in the
first 4 words, commas, acronyms, the first "propose"/"show"/"results" sentence (35.22-35.39
each); a sentence model then a cut model (35.35-35.42); labels mixing ROUGE-1 with ROUGE-2 or
recall (none above ROUGE-1 alone); alternative candidates without parentheses or with any
clause before ", we" dropped (35.47, dev 38.98, for ~2x the candidates); no weak cuts (34.64,
dev 38.05). Post hoc on our TL;DRs: dropping parentheses (dev +0.06, train -0.01),
"novel"/"new" (-0.06 / -0.16), a leading "We" (-0.54 / -1.03).
Later, against the same shipped model (CV 35.37, dev 38.88): a second stage over the model's two
best sentences that may also join a fragment of each ("We propose X; it beats Y on Z"), a ridge
reranker stacked on the model's out-of-fold scores and lengths, with a logistic word model's
expected overlap with the TL;DR (which words of the two sentences the gold holds, AUC 0.83) -
train CV 36.01 (35.84 without the word model; 27% of TL;DRs became pairs) but dev R1 38.88,
unchanged, with R2 19.20 -> 18.81 and RL 31.96 -> 31.08 (against dev's first gold alone 35.29 ->
35.37) and 16% more CPU: hedging between two sentences pays against train's one gold, not
against dev's best of 2.35. The same reranker over single candidates only (expected overlap,
precision and F of each cut as features): 35.42. Deleting parentheticals, ", which ...,"
asides, "e.g." phrases and adverbs whose words that word model rates below a threshold (0.05 to
0.4): train +0.03 at best. The static search model's 256-d sentence vector and its cosines to
the title and to the abstract as features: 35.27-35.44. Comma-less leads ("In this paper we",
"Here we") and "We then/also/first" stripped from our TL;DRs: train +0.03.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate, chain, repeat
from math import inf
from operator import itemgetter, mul
from typing import TypeVar

from .sentences import split_sentences

WORD = re.compile(r"[a-z0-9]+")
"""Words as ROUGE counts them (rouge-score's tokenizer: lower case, letters and digits)."""
_WORD_ANY_CASE = re.compile(r"[A-Za-z0-9]+")
"""The same words found in the original text, so a cut's position counts its words."""
_ASCII_WORDS = bytes(c if c in b"abcdefghijklmnopqrstuvwxyz0123456789" else 32 for c in range(256))
"""Every byte but a lower-case letter or digit made a space: an ASCII sentence's words in lower
case are then its lower-cased bytes, translated and split (half the time of ``WORD.findall``)."""

STOPWORDS = frozenset(
    "a an the of and or in on for to with by from at as is are was were be been being this that"
    " these those it its we our us their they them which who whom whose what when where how than"
    " then there here can could may might will would should shall do does did has have had not no"
    " nor but if so such also into onto over under between among about via using based new paper"
    " work".split()
)

_LEAD = re.compile(
    r"^(?:(?:In|Within|With) (?:this|the present|our) (?:paper|work|article|study|note|letter|thesis|report|manuscript|contribution)"
    r"|Here(?:in)?|To this end|To (?:address|tackle|solve|overcome|fill|bridge|alleviate|mitigate|remedy|resolve)"
    r" (?:this|these|that|those|such|both)(?: [\w-]+){0,3}"
    r"|(?:In|As) (?:particular|a result|addition|contrast|summary|practice|this (?:context|setting|regard))"
    r"|(?:Motivated|Inspired|Based|Building) (?:by|on) (?:this|these)(?: [\w-]+){0,3}"
    r"|Specifically|Moreover|Furthermore|Additionally|However|Finally|Therefore|Thus|Hence|Consequently"
    r"|Instead|Overall|Concretely|Importantly|Notably|Empirically|Experimentally|Theoretically"
    r"|Interestingly|First(?:ly)?|Second(?:ly)?|Third(?:ly)?|Next|Then|Also|Recently|In recent years"
    r"|Unfortunately|Surprisingly|Intuitively),\s+",
    re.IGNORECASE,
)
"""A leading clause that only links the sentence to its neighbours."""

_CUT = re.compile(
    r"(?=[,;: ])(?:,\s+(?:which|where|while|whereas|thereby|thus|and thus|allowing|enabling|leading|resulting"
    r"|making|yielding|achieving|as well as|and|but|such that|so that|i\.e\.|e\.g\.|including"
    r"|by|through|via|using|with|without|based on)\b"
    r"|;|:\s| -- | — | (?:by|through|via|using|in order to|so as to|based on|without|while)\b|\s\()",
)
"""Where a sentence can end early and still say its main point (matched in lower case; the
lookahead lets most positions fail at once)."""

_WEAK_CUT = re.compile(r" (?:and|that|with|for|in|on|across|over|to|from|at|under) ")
"""Where a sentence can end early if it must: the head is a clause, though less often a whole one."""
MIN_WEAK_CUT_WORDS = 8

MIN_CUT_WORDS = 6
MAX_SENTENCES = 40
"""Abstracts longer than this (rare) are read to here: the TL;DR is almost never further in."""

_CUES: tuple[tuple[str, ...], ...] = (
    ("propose",), ("introduce",), ("present",), ("show",), ("demonstrate",), ("develop",),
    ("novel",), ("paper",), ("we",), ("our",), ("method",), ("approach",), ("framework",),
    ("outperform",), ("results",), ("experiments",), ("state", "art"), ("however",), ("this",),
    ("study",), ("learn",), ("model",), ("achieve",), ("can",),
)  # fmt: skip

_SINGLE_CUE = {cue[0]: j for j, cue in enumerate(_CUES) if len(cue) == 1}
_MULTI_CUE = [(j, cue) for j, cue in enumerate(_CUES) if len(cue) > 1]
_FIRST_PERSON = frozenset(("we", "our"))
_CONTRIBUTION = frozenset(("propose", "introduce", "present", "develop"))
"""The verbs of the sentence that states the contribution: the TL;DR is most often that
sentence, and otherwise usually near it, so where a sentence sits relative to it says more than
its position in the abstract."""

FEATURES: tuple[str, ...] = (
    "bias", "first_sentence", "last_sentence", "relative_position", "position_capped",
    "sentences", "first_we_sentence", "before_first_we", "contribution_sentence",
    "just_before_contribution", "just_after_contribution", "well_after_contribution",
    "well_before_contribution",
    "words", "words_squared", "distance_from_22_words", "under_10_words",
    "title_recall", "title_precision", "title_overlap", "centrality",
    "content_ratio", "lead_stripped", "cut", "weak_cut", "kept_ratio", "starts_we_our", "starts_anaphora",
    "has_percent", "has_parenthesis",
    *("cue_" + "_".join(c) for c in _CUES),
    "most_title_overlap", "most_central",
)  # fmt: skip
"""The model file lists these names; loading refuses a model trained on other features.

The last two compare a candidate with the others of its paper (the most title words, the most
central); the rest are the candidate's own."""
N_CONSTANT = 13
"""The features of a sentence that its cuts share (bias, position, place relative to the
contribution sentence)."""
N_PAPER = 2


def tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


_LEAD_MAX_SPACES = 5
"""The most spaces a ``_LEAD`` clause holds before its comma ("To address this a b c")."""


def strip_lead(sentence: str) -> str:
    """The sentence without its leading linking clauses ("Motivated by this, in this paper, we
    propose X" → "We propose X"); unchanged when too little would be left.

    A lead ends at the sentence's first comma (no alternative of ``_LEAD`` holds one) after at
    most ``_LEAD_MAX_SPACES`` spaces, so most sentences are ruled out without running the long
    case-insensitive pattern."""
    stripped = sentence
    for _ in range(3):
        comma = stripped.find(",")
        if comma < 0 or stripped.count(" ", 0, comma) > _LEAD_MAX_SPACES:
            break
        m = _LEAD.match(stripped)
        if not m or len(stripped) - m.end() <= 20:
            break
        rest = stripped[m.end() :]
        stripped = rest[0].upper() + rest[1:]
    return stripped


def _lower(text: str) -> str:
    """``text`` in lower case, character for character (cut positions are found in it)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare letter whose lower case is longer: positions would shift
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered


def _cuts(
    base: str, limit: int | None = None, lowered: str | None = None
) -> list[tuple[int, int, int]]:
    """(character position, kind: 1 clause boundary, 2 weaker, words before it) where ``base``
    may end early.

    With ``limit``, cuts leaving more than ``limit`` words are not wanted: a pattern's matches
    come in text order and a cut's end never moves back, so the first too-long one ends the scan."""
    total = base.count(" ") + 1
    out: list[tuple[int, int, int]] = []
    seen: set[int] = set()
    if lowered is None:
        lowered = _lower(base)
    for kind, pattern, least in ((1, _CUT, MIN_CUT_WORDS), (2, _WEAK_CUT, MIN_WEAK_CUT_WORDS)):
        if least >= total - 2:
            continue  # too short a sentence for a cut of this kind: no need to look
        for m in pattern.finditer(lowered):
            end = m.start()
            while end and base[end - 1] in " ,;:":
                end -= 1
            n = base.count(" ", 0, end) + 1
            if limit is not None and n > limit:
                break
            if least <= n < total - 2 and end not in seen:
                seen.add(end)
                out.append((end, kind, n))
    return out


@dataclass(slots=True)
class SentenceParts:
    """One sentence's statistics, from which every candidate cut from it is scored.

    A cut candidate is a prefix of its sentence, so its word statistics are read from running
    sums over the sentence's words (``stops[k]``: stopwords among its first ``k``) and from
    where each distinct word first occurs (``content_first``: sorted first positions of the
    content words, so the distinct content words among the first ``k`` are those before ``k``)
    instead of re-reading its text. All of these are built by C-level helpers (``accumulate``,
    ``map``, set operations), not a Python loop per word, so that ingest can compute TL;DRs
    without slowing down.
    """

    text: str
    stripped: bool
    constant: list[float | bool]  # the features a cut does not change (``N_CONSTANT``)
    starts: list[float]
    n_words: int
    stops: list[int]  # running count of stopwords
    spread: list[int]  # running sum of the number of sentences each content word is in
    content_first: list[int]
    title_first: list[int]  # the same, of the title's content words
    cue_at: dict[int, int]  # cue number -> word index of its first occurrence, if present
    percent: int  # character positions, past the end when absent
    paren: int
    candidates: list[tuple[int, int, int, int]]  # (character end, kind, k, words), k > 0
    n_title: int
    others: int

    @property
    def cuts(self) -> list[tuple[int, int]]:
        """(character end, kind: 0 whole, 1 clause, 2 weaker) of each candidate."""
        return [(end, kind) for end, kind, _, _ in self.candidates]

    def candidate_text(self, end: int, kind: int) -> str:
        return self.text if kind == 0 else self.text[:end] + "."

    def central(self, k: int) -> float:
        """Over the content words among the first ``k``: in how many other sentences each is,
        on average, as a share of the other sentences."""
        content = k - self.stops[k]
        return (self.spread[k] - content) / max(1, content) / self.others

    def unique_content(self, k: int) -> int:
        return bisect_left(self.content_first, k)

    def in_title(self, k: int) -> int:
        return bisect_left(self.title_first, k)


ABSENT = 10**6


@dataclass(slots=True)
class Abstract:
    """An abstract read once: its sentences (leads stripped), their words, and what the features
    of any sentence need to know about the others."""

    raw: list[str]
    sentences: list[str]
    lowered: list[str]
    words_of: list[list[str]]
    word_sets: list[set[str]]
    content_sets: list[set[str]]  # without stopwords
    spread: Counter[str]  # content word -> how many sentences it is in
    title_words: set[str]
    first_we: int  # the first sentence with "we"/"our" (-1: none)
    contribution: int  # the first with a contribution verb (else ``first_we``, else 0)
    limit: int | None  # when a whole sentence fits ``max_words``, cuts longer are not wanted

    @property
    def others(self) -> int:
        return max(1, len(self.sentences) - 1)

    def constant(self, i: int) -> list[float | bool]:
        """Sentence ``i``'s features that its cuts share, in ``FEATURES`` order."""
        n, after = len(self.sentences), i - self.contribution
        return [1, i == 0, i == n - 1, i / self.others, min(i, 6) / 6, n / 10, i == self.first_we,
                i < self.first_we, after == 0, after == -1, after == 1, after >= 2, after < -1]  # fmt: skip

    def starts(self, i: int) -> list[float]:
        first = self.words_of[i][0]
        return [float(first in ("we", "our")), float(first in ("this", "it", "these", "such", "they", "however"))]


def read_abstract(title: str, abstract: str, max_words: int | None = None) -> Abstract:
    raw = split_sentences(abstract)[:MAX_SENTENCES]
    sentences = [strip_lead(s) for s in raw]
    lowered = [_lower(s) for s in sentences]
    words_of = [
        low.encode().translate(_ASCII_WORDS).decode().split()
        if s.isascii()
        else " ".join(_WORD_ANY_CASE.findall(s)).lower().split()
        for s, low in zip(sentences, lowered, strict=True)
    ]
    word_sets = [set(words) for words in words_of]
    content_sets = [ws.difference(STOPWORDS) for ws in word_sets]
    first_we = next((i for i, ws in enumerate(word_sets) if not ws.isdisjoint(_FIRST_PERSON)), -1)
    fits_whole = (w and s.count(" ") < max_words for s, w in zip(sentences, words_of, strict=True))
    return Abstract(
        raw=raw, sentences=sentences, lowered=lowered, words_of=words_of, word_sets=word_sets,
        content_sets=content_sets, spread=Counter(chain.from_iterable(content_sets)),
        title_words=set(tokens(title)) - STOPWORDS, first_we=first_we,
        contribution=next((i for i, ws in enumerate(word_sets) if not ws.isdisjoint(_CONTRIBUTION)), max(0, first_we)),
        limit=max_words if max_words is not None and any(fits_whole) else None,
    )  # fmt: skip


def sentence_candidates(a: Abstract, i: int) -> list[tuple[int, int, int, int]]:
    """(character end, kind, k, words) of sentence ``i``'s candidates: itself if it fits, and
    its cuts that do."""
    sentence = a.sentences[i]
    total = sentence.count(" ") + 1
    cands = [(len(sentence), 0, len(a.words_of[i]), total)] if a.limit is None or total <= a.limit else []
    for end, kind, words in _cuts(sentence, a.limit, a.lowered[i]):
        k = len(_WORD_ANY_CASE.findall(sentence, 0, end))
        if k:
            cands.append((end, kind, k, words))
    return cands


def parts_of(a: Abstract, i: int, cands: list[tuple[int, int, int, int]]) -> SentenceParts:
    sentence, words = a.sentences[i], a.words_of[i]
    # Each word's first index: zipped backwards, the earliest occurrence is written last.
    first = dict(zip(reversed(words), range(len(words) - 1, -1, -1), strict=True))
    cue_at = {_SINGLE_CUE[w]: first[w] for w in _SINGLE_CUE.keys() & first.keys()}
    for j, cue in _MULTI_CUE:
        if first.keys() >= set(cue):
            cue_at[j] = max(first[w] for w in cue)
    return SentenceParts(
        text=sentence,
        stripped=sentence is not a.raw[i],
        constant=a.constant(i),
        starts=a.starts(i),
        n_words=len(words),
        stops=[0, *accumulate(map(STOPWORDS.__contains__, words))],
        spread=[0, *accumulate(map(a.spread.get, words, repeat(0)))],
        content_first=sorted(map(first.__getitem__, a.content_sets[i])),
        title_first=sorted(map(first.__getitem__, first.keys() & a.title_words)),
        cue_at=cue_at,
        percent=_at(sentence, "%"), paren=_at(sentence, "("),
        candidates=cands,
        n_title=max(1, len(a.title_words)), others=a.others,
    )  # fmt: skip


def sentence_parts(title: str, abstract: str, max_words: int | None = None) -> list[SentenceParts]:
    """Every sentence's parts, in order, leaving out sentences without a word.

    With ``max_words``, candidates longer than that are left out (and so are the sentences left
    without one) as long as the paper has a candidate that fits: the TL;DR is then chosen among
    those that fit, whatever the others score. Most sentences fit whole, so this is mostly known
    before any cut is looked for."""
    return _all_parts(read_abstract(title, abstract, max_words), max_words)


def _all_parts(a: Abstract, max_words: int | None) -> list[SentenceParts]:
    found = [(i, sentence_candidates(a, i)) for i, words in enumerate(a.words_of) if words]
    if max_words is not None and a.limit is None:
        fitting = [(i, [c for c in cands if c[3] <= max_words]) for i, cands in found]
        if any(cands for _, cands in fitting):
            found = fitting
    return [parts_of(a, i, cands) for i, cands in found if cands]


def paper_maxima(parts: list[SentenceParts]) -> tuple[int, float]:
    """The most title words and the highest centrality among the paper's candidates: whether a
    candidate reaches them is a feature, as how good a sentence looks depends on its rivals."""
    overlap = max((s.in_title(c[2]) for s in parts for c in s.candidates), default=0)
    central = max((s.central(c[2]) for s in parts for c in s.candidates), default=0.0)
    return overlap, central


def features(s: SentenceParts, end: int, kind: int, k: int, maxima: tuple[int, float]) -> list[float]:
    """The candidate's features in ``FEATURES`` order (training and tests; ``Scorer`` computes
    the same score without building this list). ``k``: its words as ROUGE counts them;
    ``maxima``: ``paper_maxima`` of its paper."""
    uc, overlap, central = s.unique_content(k), s.in_title(k), s.central(k)
    return [
        *map(float, s.constant), k / 30, (k / 30) ** 2, abs(k - 22) / 22, float(k < 10),
        overlap / s.n_title, overlap / max(1, uc), overlap / 10, central, uc / k, float(s.stripped),
        float(kind == 1), float(kind == 2), k / s.n_words, *s.starts,
        float(s.percent < end), float(s.paren < end),
        *(float(s.cue_at.get(j, ABSENT) < k) for j in range(len(_CUES))),
        float(overlap == maxima[0]), float(central == maxima[1]),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    words: int
    features: list[float]


def candidates(title: str, abstract: str, max_words: int | None = None) -> list[Candidate]:
    """Every candidate the TL;DR is chosen among, with its full feature vector (for training
    and tests)."""
    parts = sentence_parts(title, abstract, max_words)
    maxima = paper_maxima(parts)
    return [
        Candidate(s.candidate_text(end, kind), words, features(s, end, kind, k, maxima))
        for s in parts
        for end, kind, k, words in s.candidates
    ]


_LENGTH_TABLE = 256
"""Candidate lengths (words) whose length terms are summed once, when the model loads."""
EXPAND = 2
"""Sentences whose cuts ``Scorer.choose`` looks at. Against looking at every sentence's cuts,
2 changed the TL;DR of 32 of 1,992 SciTLDR-A train papers, 6 of 619 dev papers and 67 of
5,000 arXiv abstracts, with ROUGE-1 unchanged (train 35.34 -> 35.38, dev 38.88 -> 38.88), and
took ~20% less time than 3 (15, 4 and 34 changed; dev 38.89); 1 changed 107, 28 and 212 (dev
38.75). The paper-level features are then taken over the candidates looked at, which is most
of the difference."""
T = TypeVar("T")


class Scorer:
    """A linear model's score of every candidate, as ``weights · features`` would give, but
    with the parts a cut does not change summed once per sentence and the terms that depend on
    the length alone summed once per model."""

    def __init__(self, weights: tuple[float, ...]) -> None:
        if len(weights) != len(FEATURES):
            raise ValueError(f"{len(weights)} weights for {len(FEATURES)} features")
        w = list(weights)
        self.constant = w[:N_CONSTANT]
        n_own = len(FEATURES) - N_CONSTANT - len(_CUES) - N_PAPER
        (self.w_words, self.w_words2, self.w_dist, self.w_short, self.w_trecall, self.w_tprec,
         self.w_tover, self.w_central, self.w_ratio, self.w_stripped, self.w_cut, self.w_weak,
         self.w_kept, self.w_we, self.w_anaphora, self.w_percent,
         self.w_paren) = w[N_CONSTANT : N_CONSTANT + n_own]  # fmt: skip
        self.w_cues = w[N_CONSTANT + n_own : N_CONSTANT + n_own + len(_CUES)]
        self.w_most_title, self.w_most_central = w[-N_PAPER:]
        self.kind = (0.0, self.w_cut, self.w_weak)
        self.length = [self._length(k) for k in range(_LENGTH_TABLE)]
        self.best_length = [*accumulate(self.length[1:], max, initial=-inf)]
        """``best_length[m]``: the best length term of a candidate of 1 to ``m`` words."""
        self.cue_weight = {cue[0]: self.w_cues[j] for j, cue in enumerate(_CUES) if len(cue) == 1}

    def _length(self, k: int) -> float:
        return (self.w_words * (k / 30) + self.w_words2 * (k / 30) ** 2
                + self.w_dist * (abs(k - 22) / 22) + self.w_short * (k < 10))  # fmt: skip

    def scored(self, s: SentenceParts) -> list[tuple[float, int, float, int, int, int]]:
        """(score without the paper-level terms, title words, centrality, character end, kind,
        words) of each candidate of the sentence."""
        base = sum(map(mul, self.constant, s.constant))
        base += self.w_stripped * s.stripped + self.w_we * s.starts[0] + self.w_anaphora * s.starts[1]
        cues = sorted((at, self.w_cues[j]) for j, at in s.cue_at.items())
        # Locals, not attributes, in the loop below: this is where a paper's time goes.
        per_title = self.w_trecall / s.n_title + self.w_tover / 10
        per_kept = self.w_kept / s.n_words
        w_tprec, w_central, w_ratio, length, kinds = self.w_tprec, self.w_central, self.w_ratio, self.length, self.kind
        w_percent, w_paren, percent, paren, others = self.w_percent, self.w_paren, s.percent, s.paren, s.others
        stops, spread, content_first, title_first = s.stops, s.spread, s.content_first, s.title_first
        out = []
        for end, kind, k, words in s.candidates:
            uc, overlap = bisect_left(content_first, k), bisect_left(title_first, k)
            content = k - stops[k]
            central = (spread[k] - content) / max(1, content) / others
            score = (
                base + (length[k] if k < _LENGTH_TABLE else self._length(k)) + per_title * overlap
                + w_tprec * (overlap / max(1, uc)) + w_central * central + w_ratio * (uc / k)
                + kinds[kind] + per_kept * k
            )  # fmt: skip
            if percent < end:
                score += w_percent
            if paren < end:
                score += w_paren
            for at, w in cues:
                if at >= k:
                    break
                score += w
            out.append((score, overlap, central, end, kind, words))
        return out

    def best(self, parts: list[SentenceParts]) -> tuple[SentenceParts, int, int, int] | None:
        """(sentence, character end, kind, words) of the best-scored candidate of the paper;
        on a tie the first."""
        return self._pick([(*row[:3], (s, *row[3:])) for s in parts for row in self.scored(s)])

    def _pick(self, rows: list[tuple[float, int, float, T]]) -> T | None:
        """The payload of the best row, once the paper-level terms are added to the scores."""
        if not rows:
            return None
        most_title = max(row[1] for row in rows)
        most_central = max(row[2] for row in rows)
        w_title, w_central = self.w_most_title, self.w_most_central
        top, top_score = rows[0][3], -inf
        for score, overlap, central, payload in rows:
            if overlap == most_title:
                score += w_title
            if central == most_central:
                score += w_central
            if score > top_score:
                top, top_score = payload, score
        return top

    def whole(self, a: Abstract, i: int) -> tuple[float, int, float]:
        """(score without the paper-level terms, title words, centrality) of sentence ``i`` as
        a whole, as ``scored`` gives it, from word sets and sums alone (no cut positions, no
        running sums)."""
        words, ws, text = a.words_of[i], a.word_sets[i], a.sentences[i]
        k = len(words)
        uc, overlap = len(a.content_sets[i]), len(ws.intersection(a.title_words))
        content = k - sum(map(STOPWORDS.__contains__, words))
        central = (sum(map(a.spread.get, words, repeat(0))) - content) / max(1, content) / a.others
        starts = a.starts(i)
        score = sum(map(mul, self.constant, a.constant(i)))
        score += self.w_stripped * (text is not a.raw[i]) + self.w_we * starts[0] + self.w_anaphora * starts[1]
        score += (
            (self.length[k] if k < _LENGTH_TABLE else self._length(k))
            + (self.w_trecall / max(1, len(a.title_words)) + self.w_tover / 10) * overlap
            + self.w_tprec * (overlap / max(1, uc)) + self.w_central * central + self.w_ratio * (uc / k)
            + self.w_kept / k * k
        )  # fmt: skip
        if "%" in text:
            score += self.w_percent
        if "(" in text:
            score += self.w_paren
        score += sum(map(self.cue_weight.__getitem__, ws.intersection(self.cue_weight)))
        for j, cue in _MULTI_CUE:
            if ws.issuperset(cue):
                score += self.w_cues[j]
        return score, overlap, central

    def choose(self, title: str, abstract: str, max_words: int, expand: int = EXPAND) -> tuple[str, int] | None:
        """(text, words) of the best candidate, looking for cuts only in the ``expand``
        sentences that score best whole, each with the best length term a candidate of it
        could have (``best_length``): finding cuts and the running sums they are scored by
        is most of the work, and the TL;DR is almost never a cut of another sentence."""
        a = read_abstract(title, abstract, max_words)
        if a.limit is None:  # no sentence fits whole: all of their cuts are the candidates
            found = self.best(_all_parts(a, max_words))
            return None if found is None else (found[0].candidate_text(found[1], found[2]), found[3])
        wholes = []
        for i, words in enumerate(a.words_of):
            if words:
                score, overlap, central = self.whole(a, i)
                k = len(words)
                promise = score - (self.length[k] if k < _LENGTH_TABLE else self._length(k))
                wholes.append((promise + self.best_length[min(k, a.limit)], i, score, overlap, central))
        wholes.sort(key=itemgetter(0), reverse=True)
        rows: list[tuple[float, int, float, tuple[str, int]]] = []
        for _, i, score, overlap, central in wholes[expand:]:
            text = a.sentences[i]
            words = text.count(" ") + 1
            if words <= a.limit:
                rows.append((score, overlap, central, (text, words)))
        for _, i, *_ in wholes[:expand]:
            cands = sentence_candidates(a, i)
            if cands:
                s = parts_of(a, i, cands)
                rows += [(*row[:3], (s.candidate_text(row[3], row[4]), row[5])) for row in self.scored(s)]
        return self._pick(rows)


def _at(text: str, char: str) -> int:
    at = text.find(char)
    return at if at >= 0 else len(text) + 1
