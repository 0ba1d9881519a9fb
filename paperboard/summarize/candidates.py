"""Candidate TL;DRs of one paper and the features the trained model scores them by.

Candidates are each abstract sentence, always without a leading discourse clause ("In this
paper, we propose X" becomes "We propose X"), and the sentence cut at a clause boundary
(", which …", "; …", " by …") or, less eagerly, before a preposition or conjunction, since a
good TL;DR is shorter than most abstract sentences.
The rules are general English, not fitted to any paper; which candidate wins is learned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate

from .sentences import split_sentences

WORD = re.compile(r"[a-z0-9]+")
"""Words as ROUGE counts them (rouge-score's tokenizer: lower case, letters and digits)."""
_WORD_ANY_CASE = re.compile(r"[A-Za-z0-9]+")
"""The same words found in the original text, so a cut's position counts its words."""

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

_DIGIT = re.compile(r"\d")
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

FEATURES: tuple[str, ...] = (
    "bias", "first_sentence", "last_sentence", "relative_position", "position_capped",
    "sentences", "words", "words_squared", "distance_from_22_words", "under_10_words",
    "over_40_words", "title_recall", "title_precision", "title_overlap", "centrality",
    "content_ratio", "lead_stripped", "cut", "weak_cut", "kept_ratio", "starts_we_our", "starts_anaphora",
    "has_digit", "has_percent", "has_parenthesis",
    *("cue_" + "_".join(c) for c in _CUES),
)  # fmt: skip
"""The model file lists these names; loading refuses a model trained on other features."""


def tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def strip_lead(sentence: str) -> str:
    """The sentence without its leading linking clauses ("Motivated by this, in this paper, we
    propose X" → "We propose X"); unchanged when too little would be left."""
    stripped = sentence
    for _ in range(3):
        m = _LEAD.match(stripped)
        if not m or len(stripped) - m.end() <= 20:
            break
        rest = stripped[m.end() :]
        stripped = rest[0].upper() + rest[1:]
    return stripped


def _cuts(base: str) -> list[tuple[int, int]]:
    """(character position, kind: 1 clause boundary, 2 weaker) where ``base`` may end early."""
    total = base.count(" ") + 1
    out: list[tuple[int, int]] = []
    seen: set[int] = set()
    lowered = base.lower()
    if len(lowered) != len(base):  # a rare letter whose lower case is longer: positions would shift
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in base)
    for kind, pattern, least in ((1, _CUT, MIN_CUT_WORDS), (2, _WEAK_CUT, MIN_WEAK_CUT_WORDS)):
        for m in pattern.finditer(lowered):
            end = m.start()
            while end and base[end - 1] in " ,;:":
                end -= 1
            n = base.count(" ", 0, end) + 1
            if least <= n < total - 2 and end not in seen:
                seen.add(end)
                out.append((end, kind))
    return out


@dataclass(slots=True)
class SentenceParts:
    """One sentence's statistics, from which every candidate cut from it is scored.

    A cut candidate is a prefix of its sentence, so its word statistics are read from running
    sums over the sentence's words (``content[k]``: content words among its first ``k``)
    instead of re-reading its text: a paper's ~25 candidates then cost a few arithmetic
    operations each, which lets ingest compute TL;DRs without slowing down.
    """

    text: str
    stripped: bool
    constant: list[float]  # bias and position: the features a cut does not change
    starts: list[float]
    n_words: int
    content: list[int]
    central: list[int]
    unique_content: list[int]
    in_title: list[int]
    cue_at: dict[int, int]  # cue number -> word index of its first occurrence, if present
    digit: int  # character positions, past the end when absent
    percent: int
    paren: int
    cuts: list[tuple[int, int]]  # (character end, kind): kind 0 whole, 1 clause, 2 weaker
    n_title: int
    others: int

    def words_before(self, end: int, kind: int) -> int:
        return self.n_words if kind == 0 else len(_WORD_ANY_CASE.findall(self.text, 0, end))

    def candidate_text(self, end: int, kind: int) -> str:
        return self.text if kind == 0 else self.text[:end] + "."


N_CONSTANT = 6
ABSENT = 10**6


def sentence_parts(title: str, abstract: str) -> list[SentenceParts]:
    raw = split_sentences(abstract)[:MAX_SENTENCES]
    sentences = [strip_lead(s) for s in raw]
    n = len(sentences)
    title_words = set(tokens(title)) - STOPWORDS
    words_of = [" ".join(_WORD_ANY_CASE.findall(s)).lower().split() for s in sentences]
    spread: dict[str, int] = {}
    for words in words_of:
        for w in set(words).difference(STOPWORDS):
            spread[w] = spread.get(w, 0) + 1
    others = max(1, n - 1)
    out: list[SentenceParts] = []
    for i, sentence in enumerate(sentences):
        words = words_of[i]
        if not words:
            continue
        # Running sums (C-level accumulate) over per-word flags: a prefix of k words reads [k].
        seen: set[str] = set()
        first = [not (w in seen or seen.add(w)) for w in words]  # type: ignore[func-returns-value]
        is_content = [w not in STOPWORDS for w in words]
        new_content = [a and b for a, b in zip(first, is_content, strict=True)]
        content = [0, *accumulate(is_content)]
        central = [0, *accumulate(spread[w] - 1 if c else 0 for w, c in zip(words, is_content, strict=True))]
        unique_content = [0, *accumulate(new_content)]
        in_title = [0, *accumulate(n and w in title_words for w, n in zip(words, new_content, strict=True))]
        cue_at = {_SINGLE_CUE[w]: words.index(w) for w in _SINGLE_CUE.keys() & seen}
        for j, cue in _MULTI_CUE:
            if seen.issuperset(cue):
                cue_at[j] = max(words.index(w) for w in cue)
        out.append(SentenceParts(
            text=sentence,
            stripped=sentence is not raw[i],
            constant=[1.0, float(i == 0), float(i == n - 1), i / others, min(i, 6) / 6, n / 10],
            starts=[float(words[0] in ("we", "our")), float(words[0] in ("this", "it", "these", "such", "they", "however"))],
            n_words=len(words),
            content=content, central=central, unique_content=unique_content, in_title=in_title,
            cue_at=cue_at,
            digit=_first(_DIGIT, sentence), percent=_at(sentence, "%"), paren=_at(sentence, "("),
            cuts=[(len(sentence), 0), *_cuts(sentence)],
            n_title=max(1, len(title_words)), others=others,
        ))  # fmt: skip
    return out


def features(s: SentenceParts, end: int, kind: int) -> list[float]:
    """The candidate's features in ``FEATURES`` order (training; ``Scorer`` computes the same
    score without building this list)."""
    k = s.words_before(end, kind)
    uc, overlap = s.unique_content[k], s.in_title[k]
    return [
        *s.constant, k / 30, (k / 30) ** 2, abs(k - 22) / 22, float(k < 10), float(k > 40),
        overlap / s.n_title, overlap / max(1, uc), overlap / 10,
        s.central[k] / max(1, s.content[k]) / s.others, uc / max(1, k), float(s.stripped),
        float(kind == 1), float(kind == 2), k / s.n_words, *s.starts,
        float(s.digit < end), float(s.percent < end), float(s.paren < end),
        *(float(s.cue_at.get(j, ABSENT) < k) for j in range(len(_CUES))),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    words: int
    features: list[float]


def candidates(title: str, abstract: str) -> list[Candidate]:
    """Every candidate of the paper with its full feature vector (for training and tests)."""
    out = []
    for s in sentence_parts(title, abstract):
        for end, kind in s.cuts:
            if s.words_before(end, kind) == 0:
                continue
            text = s.candidate_text(end, kind)
            out.append(Candidate(text, text.count(" ") + 1, features(s, end, kind)))
    return out


class Scorer:
    """A linear model's score of every candidate, as ``weights · features`` would give, but
    with the parts a cut does not change summed once per sentence."""

    def __init__(self, weights: tuple[float, ...]) -> None:
        if len(weights) != len(FEATURES):
            raise ValueError(f"{len(weights)} weights for {len(FEATURES)} features")
        w = list(weights)
        self.constant = w[:N_CONSTANT]
        (self.w_words, self.w_words2, self.w_dist, self.w_short, self.w_long, self.w_trecall,
         self.w_tprec, self.w_tover, self.w_central, self.w_ratio, self.w_stripped, self.w_cut,
         self.w_weak, self.w_kept, self.w_we, self.w_anaphora, self.w_digit, self.w_percent,
         self.w_paren) = w[N_CONSTANT : N_CONSTANT + 19]  # fmt: skip
        self.w_cues = w[N_CONSTANT + 19 :]

    def scored(self, s: SentenceParts) -> list[tuple[float, str, int]]:
        """(score, text, words) of each candidate of the sentence."""
        base = sum(a * b for a, b in zip(self.constant, s.constant, strict=True))
        base += self.w_stripped * s.stripped + self.w_we * s.starts[0] + self.w_anaphora * s.starts[1]
        cues = sorted((at, self.w_cues[j]) for j, at in s.cue_at.items())
        out = []
        for end, kind in s.cuts:
            k = s.words_before(end, kind)
            if k == 0:
                continue
            uc, overlap = s.unique_content[k], s.in_title[k]
            score = (
                base + self.w_words * (k / 30) + self.w_words2 * (k / 30) ** 2
                + self.w_dist * (abs(k - 22) / 22) + self.w_short * (k < 10) + self.w_long * (k > 40)
                + self.w_trecall * (overlap / s.n_title) + self.w_tprec * (overlap / max(1, uc))
                + self.w_tover * (overlap / 10) + self.w_central * (s.central[k] / max(1, s.content[k]) / s.others)
                + self.w_ratio * (uc / k) + self.w_cut * (kind == 1) + self.w_weak * (kind == 2)
                + self.w_kept * (k / s.n_words) + self.w_digit * (s.digit < end)
                + self.w_percent * (s.percent < end) + self.w_paren * (s.paren < end)
            )  # fmt: skip
            for at, w in cues:
                if at >= k:
                    break
                score += w
            text = s.candidate_text(end, kind)
            out.append((score, text, text.count(" ") + 1))
        return out


def _first(pattern: re.Pattern[str], text: str) -> int:
    """Where ``pattern`` first matches, or past the end (so "before a cut" is false)."""
    m = pattern.search(text)
    return m.start() if m else len(text) + 1


def _at(text: str, char: str) -> int:
    at = text.find(char)
    return at if at >= 0 else len(text) + 1
