"""Turning stored text into what a page shows: one-line summaries, readable LaTeX-ish
abstracts, and comments in a small Markdown subset, always escaped.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

_ABBREVIATIONS = (
    "e.g.", "i.e.", "et al.", "etc.", "vs.", "cf.", "Fig.", "fig.", "Eq.", "eq.", "Sec.",
    "approx.", "resp.", "Dr.", "Mr.", "Ms.", "Prof.", "No.", "al.", "Tab.", "Ref.",
)  # fmt: skip
_SENTENCE_END = re.compile(r"([.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[$\\])")

_LATEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ", "chi": "χ",
    "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ",
    "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "times": "×", "cdot": "·",
    "approx": "≈", "sim": "∼", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠",
    "pm": "±", "infty": "∞", "rightarrow": "→", "to": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "sqrt": "√", "sum": "∑", "int": "∫", "partial": "∂", "nabla": "∇",
    "in": "∈", "ldots": "…", "dots": "…", "cdots": "⋯", "%": "%", "&": "&", "_": "_",
    "#": "#", "$": "$", "{": "{", "}": "}", "log": "log", "max": "max", "min": "min",
}  # fmt: skip
_LATEX_WRAPPERS = re.compile(
    r"\\(?:textbf|textit|emph|mathrm|mathbf|mathcal|mathbb|text|texttt|textsc|operatorname|url)\s*\{([^{}]*)\}"
)
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+|[%&_#${}])")


@lru_cache(maxsize=1024)  # cards are kept rendered (card_cache.py): this serves their misses
def first_sentence(text: str, max_chars: int = 220) -> str:
    """The abstract's first sentence (extractive, local), cut at a word if very long.

    Abbreviations like "e.g." and "et al." do not end a sentence.
    """
    text = readable(" ".join(text.split()))
    if not text:
        return ""
    for m in _SENTENCE_END.finditer(text):
        end = m.end(1)
        before = text[:end]
        if any(before.endswith(a) for a in _ABBREVIATIONS):
            continue
        if re.search(r"\b[A-Z]\.$", before):  # initials, "U.S."
            continue
        if end >= 40 or end >= len(text) * 0.9:
            text = before
            break
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


@lru_cache(maxsize=1024)
def readable(text: str) -> str:
    """LaTeX-ish abstract text shown readably: ``$\\alpha$`` → α, ``\\textbf{x}`` → x."""
    if "\\" not in text and "$" not in text and "--" not in text and "~" not in text:
        return text
    for _ in range(3):
        text = _LATEX_WRAPPERS.sub(r"\1", text)
    text = _LATEX_COMMAND.sub(lambda m: _LATEX_SYMBOLS.get(m.group(1), m.group(0)), text)
    text = re.sub(r"(?<!\\)\$([^$]{0,200}?)(?<!\\)\$", r"\1", text)
    text = re.sub(r"\^\{([^{}]*)\}", r"^\1", text)
    text = re.sub(r"_\{([^{}]*)\}", r"_\1", text)
    text = text.replace("---", "—").replace("--", "–").replace("~", "\u00a0")
    text = text.replace("``", "“").replace("''", "”")
    return text


def paragraphs(text: str) -> list[str]:
    return [readable(p) for p in text.split("\n\n") if p.strip()]


def _markdown() -> MarkdownIt:
    md = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False})
    md.enable(["emphasis", "backticks", "link", "autolink", "list", "blockquote", "fence",
               "code", "newline", "escape", "entity", "paragraph"])  # fmt: skip
    default_link_open = md.renderer.rules.get("link_open")

    def link_open(tokens, idx, options, env):  # type: ignore[no-untyped-def]
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer ugc")
        if default_link_open is not None:
            return default_link_open(tokens, idx, options, env)
        return md.renderer.renderToken(tokens, idx, options, env)

    md.renderer.rules["link_open"] = link_open
    return md


_MD = _markdown()
_SAFE_URL = re.compile(r"^(https?://|mailto:|/|#)", re.IGNORECASE)


def _safe_link(url: str) -> bool:
    return bool(_SAFE_URL.match(url.strip()))


_MD.validateLink = _safe_link  # type: ignore[method-assign]


def render_comment(body: str) -> Markup:
    """A safe Markdown subset: emphasis, code, lists, quotes, http(s) links. No HTML, no
    images (the product loads nothing external); ``javascript:`` and other schemes stay text.
    """
    return Markup(_MD.render(body))


def authors_short(authors: list[str], n_authors: int, shown: int = 3) -> str:
    if not authors:
        return f"{n_authors} authors" if n_authors else ""
    head = ", ".join(authors[:shown])
    return head + (f" +{n_authors - shown}" if n_authors > shown else "")


def nice_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return value.strftime("%b %-d, %Y")


def escape_text(value: str) -> Markup:
    return escape(value)
