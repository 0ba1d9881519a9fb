"""Putting an imported reference list into a user's library.

Each entry is matched by arXiv id, then DOI, then normalised title (a BibTeX file from
Zotero or Google Scholar often has only the last two). Ids the store lacks are fetched with
the arXiv API when online; offline (or when arXiv fails) they wait as pending imports and
are saved when the paper arrives. Nothing in a batch depends on another entry: one bad
entry is reported with its position and the rest still lands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..store.library import LibraryError


@dataclass(slots=True)
class ImportReport:
    saved: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (position, reason)
    offline: str | None = None

    def to_dict(self) -> dict:
        return {
            "saved": self.saved, "already_saved": self.already, "fetched_from_arxiv": self.fetched,
            "pending": self.pending, "problems": [{"position": p, "reason": r} for p, r in self.problems],
            "offline": self.offline,
        }  # fmt: skip


def _by_title(store, title: str, normalized: str, normalize) -> str | None:
    """A stored paper whose normalised title equals the entry's: the keyword index finds the
    candidates, the normalised comparison decides (no fuzzy guess is saved)."""
    from ..search.query import ParsedQuery, Term, words_of

    words = [w for w in dict.fromkeys(words_of(title)) if len(w) > 2][:12]
    if not words:
        return None
    try:
        hits = store.keyword_search(ParsedQuery(title, [Term((w,)) for w in words]), None, limit=10, match="all")
    except Exception:  # noqa: BLE001 - a title the engine cannot express is just not matched
        return None
    return next((h.paper.id for h in hits if normalize(h.paper.title) == normalized), None)


def apply_import(store, user_id: int, parsed, *, settings=None, collection_id: int | None = None, fetch=None) -> ImportReport:
    """Save every entry of ``parsed`` (``library.imports.parse_import``'s result) it can.

    ``fetch(ids) -> Iterable[Paper | RecordError]`` gets papers the store lacks (the arXiv
    API source by default, when ``settings`` are given); it may raise ``SourceUnavailable``."""
    from ..sources.arxiv_api import NOT_FOUND, fetch_papers
    from ..sources.http import SourceUnavailable
    from .imports import normalize_title

    report = ImportReport(problems=[(str(e.position), e.reason) for e in parsed.errors])
    wanted: dict[str, str] = {}  # paper id -> entry position
    missing: dict[str, str] = {}  # arXiv ids the store lacks -> entry position
    for entry in parsed.entries:
        pid = None
        if entry.arxiv_id:
            pid = entry.arxiv_id if store.get_paper(entry.arxiv_id) is not None else None
            if pid is None:
                missing.setdefault(entry.arxiv_id, str(entry.position))
                continue
        if pid is None and entry.doi:
            pid = store.paper_id_by_doi(entry.doi)
        if pid is None and entry.title:
            pid = _by_title(store, entry.title, entry.normalized_title or normalize_title(entry.title), normalize_title)
        if pid is None:
            report.problems.append((str(entry.position), "no arXiv id, DOI or title of a paper in this Paperboard"))
            continue
        wanted.setdefault(pid, str(entry.position))

    if missing:
        if fetch is None and settings is not None:
            def fetch(ids):  # noqa: E306 - the default source, bound to these settings
                return fetch_papers(ids, settings)
        if fetch is None:
            report.pending += list(missing)
        else:
            try:
                items = list(fetch(list(missing)))
            except SourceUnavailable as exc:
                report.offline = str(exc)
                report.pending += list(missing)
                items = []
            papers = [i for i in items if hasattr(i, "feed_day")]
            if papers:
                store.upsert_papers(papers)
            for item in items:
                if hasattr(item, "feed_day"):
                    report.fetched.append(item.id)
                    wanted.setdefault(item.id, missing[item.id] if item.id in missing else "?")
                elif item.reason == NOT_FOUND:
                    report.problems.append((missing.get(item.position, item.position), f"arXiv has no paper {item.position}"))
                else:  # arXiv answered badly: try again when the paper arrives another way
                    report.pending.append(item.position)
    if report.pending:
        store.add_pending(user_id, report.pending, collection_id=collection_id)

    for pid, position in wanted.items():
        try:
            created = store.save_paper(user_id, pid, collection_id=collection_id)
        except LibraryError as exc:
            report.problems.append((position, str(exc)))
            continue
        (report.saved if created else report.already).append(pid)
    return report
