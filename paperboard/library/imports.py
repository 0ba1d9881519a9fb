"""Read an import file (BibTeX, or a list of arXiv ids/URLs) into identifiers to match.

The output is what matching needs and nothing more: per entry an arXiv id, a DOI, a title
and its normalised form, tried in that order against the store. Parsing is forgiving, the
way a researcher's hand-edited .bib file needs: a malformed entry becomes a problem with
its position and reason, and the entries around it still count. Only a file that is not
text at all, or too large to be a bibliography, is refused as a whole.

The BibTeX reader is our own (brace and quote aware, ~150 lines) so the server does not
depend on a parser library for a feature most users touch once.
"""

from __future__ import annotations

import bisect
import codecs
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NoReturn

from .. import ids
from ..models import MAX_TITLE

MAX_IMPORT_BYTES = 2_000_000
"""A 5,000-entry Zotero export with abstracts is about 1.5 MB."""
MAX_ENTRIES = 5_000
"""Each unknown id may cost an arXiv API call; a bigger library can be imported in parts."""
MAX_PROBLEMS = 200
"""A garbage file should yield a readable report, not a 100,000-line one."""
STOP_AFTER_PROBLEMS = 1_000
"""Past this many bad entries or lines the file is not worth reading on (nor the CPU)."""


class ImportRejected(ValueError):
    """The whole file is refused (too large, binary, not UTF-8, empty); nothing was read."""


@dataclass(frozen=True, slots=True)
class ImportEntry:
    """One paper to match: by ``arxiv_id``, then ``doi``, then ``normalized_title``."""

    position: int
    """1-based number of the entry in the file (for an id list: of the id)."""
    line: int
    key: str | None = None
    """The BibTeX citation key, to name the entry in a report."""
    arxiv_id: str | None = None
    """Without version, as the store keys papers."""
    doi: str | None = None
    """Lower-case, no resolver prefix (DOIs are case-insensitive)."""
    title: str | None = None
    """LaTeX folded to plain text ("M{\\"u}ller" → "Müller")."""
    normalized_title: str | None = None


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """An entry or line that could not be used, and why."""

    position: int
    line: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.position} (line {self.line}): {self.reason}"


@dataclass(slots=True)
class ImportParse:
    format: Literal["bibtex", "ids"]
    entries: list[ImportEntry] = field(default_factory=list)
    errors: list[ImportProblem] = field(default_factory=list)


def parse_import(
    data: bytes | str, *, max_bytes: int = MAX_IMPORT_BYTES, max_entries: int = MAX_ENTRIES
) -> ImportParse:
    """Parse a BibTeX file or an id list; raise ``ImportRejected`` for a file that is neither."""
    text = _decode(data, max_bytes)
    if _ENTRY_START.search(text):
        result = ImportParse("bibtex")
        raw = _read_bibtex(text, result.errors)
    else:
        result = ImportParse("ids")
        raw = _read_id_list(text, result.errors)
    _keep_unique(raw, result, max_entries)
    if result.format == "ids" and not result.entries:
        first = result.errors[0].reason if result.errors else ""
        raise ImportRejected(
            "found no BibTeX entry and no arXiv id, arXiv URL or DOI in the file"
            + (f" (line {result.errors[0].line}: {first})" if first else "")
        )
    _shorten(result.errors)
    return result


# --- whole-file checks -----------------------------------------------------------------------


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def _decode(data: bytes | str, max_bytes: int) -> str:
    """Text or a clear refusal, decided before any parsing work is spent on the file."""
    if isinstance(data, str):
        size = len(data) if len(data) > max_bytes else len(data.encode("utf-8", "surrogatepass"))
    else:
        size = len(data)
    if size > max_bytes:
        raise ImportRejected(
            f"the file is {_size(size)}; imports are limited to {_size(max_bytes)}"
        )
    if isinstance(data, str):
        text = data
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportRejected("the file claims UTF-16 but does not decode as it") from None
    elif b"\x00" in data:
        raise ImportRejected("the file is binary, not a BibTeX file or a list of ids")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRejected(
                f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                f"{exc.start}); export it as UTF-8 and try again"
            ) from None
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    controls = len(_CONTROLS.findall(text))
    if "\x00" in text or controls > max(8, len(text) // 100):
        raise ImportRejected("the file is binary, not a BibTeX file or a list of ids")
    if not text.strip():
        raise ImportRejected("the file is empty")
    return text


def _keep_unique(raw: Iterator[ImportEntry], result: ImportParse, max_entries: int) -> None:
    """Keep the first of each paper; a later copy is reported once, naming the first.

    ``raw`` is lazy, so reading stops at the entry cap instead of parsing the whole file.
    """
    seen: dict[tuple[str, str], int] = {}
    for entry in raw:
        identities = [("arxiv", entry.arxiv_id), ("doi", entry.doi)]
        if entry.arxiv_id is None and entry.doi is None:
            identities.append(("title", entry.normalized_title))
        first = next((seen[i] for i in identities if i[1] and i in seen), None)
        if first is not None:
            result.errors.append(
                ImportProblem(entry.position, entry.line, f"duplicate of entry {first}; kept once")
            )
            continue
        if len(result.entries) >= max_entries:
            result.errors.append(
                ImportProblem(
                    entry.position,
                    entry.line,
                    f"more than {max_entries} entries; this one and the rest were not read",
                )
            )
            return
        for kind, value in [*identities, ("title", entry.normalized_title)]:
            if value:
                seen.setdefault((kind, value), entry.position)
        result.entries.append(entry)


_STOPPED = "problems; stopped reading here"


def _gave_up(errors: list[ImportProblem], position: int, line: int) -> bool:
    if len(errors) < STOP_AFTER_PROBLEMS:
        return False
    errors.append(ImportProblem(position, line, f"{len(errors)} {_STOPPED}"))
    return True


def _shorten(errors: list[ImportProblem]) -> None:
    """In file order; past ``MAX_PROBLEMS`` a count, and still where reading stopped."""
    errors.sort(key=lambda p: (p.position, p.line))
    if len(errors) <= MAX_PROBLEMS:
        return
    stopped = [e for e in errors[MAX_PROBLEMS:] if e.reason.endswith(_STOPPED)]
    hidden = len(errors) - MAX_PROBLEMS - len(stopped)
    last = errors[MAX_PROBLEMS - 1]
    del errors[MAX_PROBLEMS:]
    errors.append(ImportProblem(last.position, last.line, f"{hidden} more problems not listed"))
    errors += stopped


# --- identifiers -----------------------------------------------------------------------------

_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|\barxiv\s*:\s*|\barxiv\.)"
    r"(\d{4}\.\d{4,5}(?:v\d{1,3})?|[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d{1,3})?)",
    re.IGNORECASE,
)
_DOI = re.compile(r"(?:^|doi\.org/|doi:\s*)(10\.\d{4,9}/[^\s\"<>{}]+)", re.IGNORECASE)


def _arxiv_id(text: str | None, *, bare: bool = False) -> str | None:
    """The versionless id in ``text``: anywhere after an arXiv marker, or the whole of it."""
    if not text:
        return None
    candidates = [text, text.split()[0]] if bare and text.split() else []
    candidates += [m.group(1) for m in _ARXIV_IN_TEXT.finditer(text)]
    for candidate in candidates:
        try:
            return ids.parse_arxiv_id(candidate).id
        except ids.InvalidId:
            continue
    return None


def _doi(text: str | None) -> str | None:
    if not text or not (m := _DOI.search(text.strip())):
        return None
    return m.group(1).rstrip(".,;").lower()


# --- plain id lists --------------------------------------------------------------------------


def _read_id_list(text: str, errors: list[ImportProblem]) -> Iterator[ImportEntry]:
    """One id, arXiv URL or DOI per line; several on a line may be split by spaces/commas."""
    position = 0
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = _ARXIV_PREFIX_SPACE.sub("arXiv:", raw.strip())
        if not line or line.startswith(("#", "%", "//")):
            continue
        if _gave_up(errors, position + 1, lineno):
            return
        good: list[ImportEntry] = []
        bad: list[str] = []
        for token in filter(None, re.split(r"[\s,;]+", line)):
            arxiv_id, doi = _id_token(token)
            if arxiv_id or doi:
                position += 1
                good.append(ImportEntry(position, lineno, arxiv_id=arxiv_id, doi=doi))
            else:
                bad.append(token)
        yield from good
        if bad:
            position += 0 if good else 1
            shown = line if not good else " ".join(bad)
            errors.append(
                ImportProblem(
                    position, lineno, f"not an arXiv id, arXiv URL or DOI: {shown[:80]!r}"
                )
            )


_ARXIV_PREFIX_SPACE = re.compile(r"\barxiv:\s+", re.IGNORECASE)


def _id_token(token: str) -> tuple[str | None, str | None]:
    token = token.strip("<>\"'()[]").rstrip(".,;")
    if "://" in token or token.lower().startswith(("arxiv.org", "www.", "doi.org")):
        token = re.split(r"[?#]", token, maxsplit=1)[0]
    if doi := _doi(token):
        return _arxiv_id(doi), doi
    try:
        return ids.parse_arxiv_id(token).id, None
    except ids.InvalidId:
        return None, None


# --- BibTeX ----------------------------------------------------------------------------------

_ENTRY_START = re.compile(r"^[ \t]*@[ \t]*([A-Za-z][\w\-]*)[ \t]*([{(])", re.MULTILINE)
"""An entry starts at the beginning of a line, as every exporter writes it. An unclosed entry
therefore ends where the next one starts, and the rest of the file still parses."""
_FIELD_NAME = re.compile(r"[A-Za-z][\w\-:.+/]*")
_MACRO_NAME = re.compile(r"[A-Za-z][\w\-:.+/]*")
_NUMBER = re.compile(r"\d+")
_DELIMITERS = re.compile(r'[{}"]')
_KEY = re.compile(r"[^,\s{}()=\"#]*")
_MONTH_MACROS = {
    m: m.capitalize()
    for m in ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
}
_ID_FIELDS = ("url", "howpublished", "note", "journal", "journaltitle", "number", "archiveid",
              "eprint", "arxiv", "arxivid", "extra", "annote", "annotation", "doi")


class _Malformed(Exception):
    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


class _Lines:
    """Offset → 1-based line number, for reports."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset)


def _read_bibtex(text: str, errors: list[ImportProblem]) -> Iterator[ImportEntry]:
    lines = _Lines(text)
    macros: dict[str, str] = dict(_MONTH_MACROS)
    starts = list(_ENTRY_START.finditer(text))
    position = 0
    for i, m in enumerate(starts):
        kind = m.group(1).lower()
        limit = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        closer = "}" if m.group(2) == "{" else ")"
        if kind in ("comment", "preamble"):
            continue  # free text (JabRef metadata, LaTeX macros): nothing to import
        reader = _Reader(text, m.end(), limit, closer, macros)
        if kind == "string":
            try:
                name, value = reader.field()
                macros[name] = value
            except _Malformed:
                pass  # a broken macro surfaces as an unknown name in the entry that uses it
            continue
        position += 1
        start_line = lines(m.start())
        if _gave_up(errors, position, start_line):
            return
        try:
            key, fields = reader.entry()
        except _Malformed as exc:
            where = lines(exc.offset)
            reason = exc.reason
            if exc.offset >= limit:
                end = f"line {lines(limit)}" if limit < len(text) else "the end of the file"
                reason = f"{reason} before {end}"
            elif where != start_line:
                reason = f"line {where}: {reason}"
            errors.append(ImportProblem(position, start_line, reason))
            continue
        entry = _entry_from_fields(position, start_line, key, fields)
        if entry.arxiv_id or entry.doi or entry.title:
            yield entry
        else:
            errors.append(
                ImportProblem(position, start_line, "entry has no arXiv id, DOI or title")
            )


class _Reader:
    """Reads one entry body between ``start`` and ``limit``, following BibTeX's rules."""

    def __init__(self, text: str, start: int, limit: int, closer: str, macros: dict[str, str]):
        self.text, self.pos, self.limit, self.closer, self.macros = (
            text, start, limit, closer, macros
        )

    def entry(self) -> tuple[str | None, dict[str, str]]:
        key = self._key()
        fields: dict[str, str] = {}
        while True:
            self._skip_space()
            c = self._peek()
            if c == self.closer:
                return key, fields
            if c == ",":
                self.pos += 1
                continue
            name, value = self.field()
            fields.setdefault(name, value)
            self._skip_space()
            if self._peek() not in (",", self.closer):
                self._fail(
                    f"expected ',' or '{self.closer}' after field '{name}', found {self._shown()}"
                )

    def field(self) -> tuple[str, str]:
        self._skip_space()
        m = _FIELD_NAME.match(self.text, self.pos, self.limit)
        if not m:
            self._fail(f"expected a field name, found {self._shown()}")
        name = m.group(0).lower()
        self.pos = m.end()
        self._skip_space()
        if self._peek() != "=":
            self._fail(f"expected '=' after field '{name}', found {self._shown()}")
        self.pos += 1
        parts = [self._value(name)]
        self._skip_space()
        while self._peek() == "#":
            self.pos += 1
            parts.append(self._value(name))
            self._skip_space()
        return name, "".join(parts)

    def _key(self) -> str | None:
        """The citation key, or None when the entry starts straight with a field."""
        self._skip_space()
        m = _KEY.match(self.text, self.pos, self.limit)
        assert m is not None  # the pattern matches the empty string
        if self._next_nonspace(m.end()) == "=":
            return None  # "@misc{title = ...": the key is missing; read the fields anyway
        self.pos = m.end()
        return m.group(0) or None

    def _value(self, name: str) -> str:
        self._skip_space()
        c = self._peek()
        if c == "{":
            return self._delimited("{", "}", name)
        if c == '"':
            return self._delimited('"', '"', name)
        m = _NUMBER.match(self.text, self.pos, self.limit) or _MACRO_NAME.match(
            self.text, self.pos, self.limit
        )
        if not m:
            self._fail(f"field '{name}' has no value")
        self.pos = m.end()
        word = m.group(0)
        return word if word.isdigit() else self.macros.get(word.lower(), word)

    def _delimited(self, opener: str, closer: str, name: str) -> str:
        """A braced or quoted value; braces inside must balance, as BibTeX requires."""
        start = self.pos + 1
        depth = 1 if opener == "{" else 0
        for m in _DELIMITERS.finditer(self.text, start, self.limit):
            i, c = m.start(), m.group(0)
            if c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    self._fail(f"unbalanced '}}' in field '{name}'", i)
                depth -= 1
                if depth == 0 and opener == "{":
                    self.pos = i + 1
                    return self.text[start:i]
            elif c == '"' and opener == '"' and depth == 0:
                self.pos = i + 1
                return self.text[start:i]
        self._fail(f"field '{name}' is not closed: missing '{closer}'", self.limit)

    def _skip_space(self) -> None:
        while self.pos < self.limit and self.text[self.pos].isspace():
            self.pos += 1

    def _peek(self) -> str:
        if self.pos >= self.limit:
            self._fail(f"entry is not closed: missing '{self.closer}'", self.limit)
        return self.text[self.pos]

    def _next_nonspace(self, pos: int) -> str:
        while pos < self.limit and self.text[pos].isspace():
            pos += 1
        return self.text[pos] if pos < self.limit else ""

    def _shown(self) -> str:
        snippet = self.text[self.pos : min(self.pos + 20, self.limit)].split("\n")[0]
        return repr(snippet) if snippet else "nothing"

    def _fail(self, reason: str, offset: int | None = None) -> NoReturn:
        raise _Malformed(self.pos if offset is None else offset, reason)


def _entry_from_fields(
    position: int, line: int, key: str | None, fields: dict[str, str]
) -> ImportEntry:
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "arxiv").strip()
    arxiv_id = None
    if prefix.lower() == "arxiv":
        arxiv_id = _arxiv_id(fields.get("eprint"), bare=True)
    arxiv_id = arxiv_id or _arxiv_id(fields.get("arxivid"), bare=True)
    doi = _doi(fields.get("doi")) or _doi_from_url(fields.get("url"))
    for name in _ID_FIELDS:
        if arxiv_id:
            break
        if name == "eprint" and prefix.lower() != "arxiv":
            continue
        arxiv_id = _arxiv_id(fields.get(name))
    title = fold_latex(fields.get("title", ""))[:MAX_TITLE] or None
    return ImportEntry(
        position=position,
        line=line,
        key=key,
        arxiv_id=arxiv_id,
        doi=doi,
        title=title,
        normalized_title=(normalize_title(title) or None) if title else None,
    )


def _doi_from_url(url: str | None) -> str | None:
    return _doi(url) if url and "doi.org/" in url.lower() else None


# --- LaTeX folding and title normalisation ---------------------------------------------------

_ACCENTS = {
    "`": "\u0300", "'": "\u0301", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a", "b": "\u0331", "d": "\u0323",
}
_COMMANDS = {
    "ss": "ß", "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "ae": "æ", "AE": "Æ", "oe": "œ",
    "OE": "Œ", "aa": "å", "AA": "Å", "i": "i", "j": "j",
    "textbackslash": "\\", "textbraceleft": "{", "textbraceright": "}", "textless": "<",
    "textgreater": ">", "textasciitilde": "~", "textasciicircum": "^", "textendash": "–",
    "textemdash": "—", "textquoteright": "’", "textquoteleft": "‘", "ldots": "…", "dots": "…",
    "LaTeX": "LaTeX", "TeX": "TeX",
}
_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
    "upsilon phi chi psi omega"
).split()
_COMMANDS.update(zip(_GREEK, "αβγδεζηθικλμνξπρστυφχψω", strict=True))
_COMMANDS.update({"varepsilon": "ε", "vartheta": "θ", "varphi": "φ", "varsigma": "ς",
                  "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
                  "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω"})
_LATEX_TOKEN = re.compile(
    r"""\\(?P<accent>[`'^"~=.])\s*(?:\{\s*(?P<a1>\\?[A-Za-z])\s*\}|(?P<a2>\\?[A-Za-z]))
      | \\(?P<laccent>[uvHckrbd])(?:\s*\{\s*(?P<l1>\\?[A-Za-z])\s*\}|\s+(?P<l2>[A-Za-z])(?![A-Za-z]))
      | \\(?P<escaped>[&%$\#_{}])
      | \\(?P<space>[\\\s,;:!])
      | \\(?P<silent>[-/@])
      | \\(?P<cmd>[A-Za-z]+)\s*(?:\{\})?
      | (?P<brace>[{}]) | (?P<math>\$) | (?P<tilde>~) | (?P<dash>-{2,3})
    """,
    re.VERBOSE,
)


def _letter(token: str) -> str:
    return _COMMANDS.get(token[1:], token[1:]) if token.startswith("\\") else token


def _fold_token(m: re.Match[str]) -> str:
    if m.group("accent") or m.group("laccent"):
        accent = m.group("accent") or m.group("laccent")
        letter = _letter(m.group("a1") or m.group("a2") or m.group("l1") or m.group("l2"))
        return unicodedata.normalize("NFC", letter + _ACCENTS[accent])
    if m.group("escaped"):
        return m.group("escaped")
    if m.group("space") is not None:
        return " "
    if m.group("silent"):
        return ""
    if m.group("cmd"):
        return _COMMANDS.get(m.group("cmd"), "")
    if m.group("tilde"):
        return " "
    if m.group("dash"):
        return "–" if len(m.group("dash")) == 2 else "—"
    return ""  # grouping braces and math shifts carry no text


def fold_latex(text: str) -> str:
    """LaTeX markup in a BibTeX value to the plain text it prints, on one line.

    Accents become Unicode ("{\\"u}" → "ü"), escapes their character ("\\&" → "&"),
    grouping braces and ``$`` vanish, and unknown commands are dropped but their arguments
    kept ("\\emph{Deep}" → "Deep"), which is what a reader sees in the PDF.
    """
    return " ".join(_LATEX_TOKEN.sub(_fold_token, text or "").split())


_LETTER_FOLDS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"}
)


def normalize_title(title: str) -> str:
    """The title as matching compares it: LaTeX folded, accents and punctuation gone.

    "Attention {Is} All You Need!" and "attention is all you need" must meet, and so must
    "Müller's \\textit{$\\alpha$-Nets}" and "Mullers alpha nets": case-folded, diacritics
    stripped, apostrophes dropped, every other non-alphanumeric run one space.
    """
    s = unicodedata.normalize("NFKD", fold_latex(title))
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold().translate(_LETTER_FOLDS)
    s = re.sub(r"['’ʼ`]", "", s)
    return " ".join(re.sub(r"[\W_]+", " ", s).split())
