"""Backend-neutral merging of paper records: the rules every store applies on upsert.

Kept apart from SQL so SQLite and PostgreSQL produce the very same rows for the same input,
whatever the order of arrival. Rows are dicts in one canonical form (lists as JSON text,
timestamps as UTC ISO strings, feed days as ISO dates) so comparisons and "newest" decisions
are identical in every backend.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from ..ids import LOCAL_ID, title_key
from ..models import Paper
from ..summarize import tldr

JSON_LIST = ("authors", "categories", "code_urls", "project_urls")
CONTENT = (
    "version", "title", "title_key", "abstract", "authors", "categories", "primary_category",
    "updated", "comment", "journal_ref", "doi", "license", "code_urls", "project_urls", "tldr",
)  # fmt: skip
COLUMNS = (
    "id", *CONTENT, "author_count", "published", "organization", "organization_rank", "feed_day",
    "submitted_by", "base_upvotes", "upvotes", "hidden", "ingested_at",
)  # fmt: skip

_dumps = json.JSONEncoder(ensure_ascii=False).encode


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat()


def paper_to_row(p: Paper) -> dict[str, Any]:
    row = {
        "id": p.id,
        "version": p.version,
        "title": p.title,
        "title_key": title_key(p.title),
        "abstract": p.abstract,
        "authors": _dumps(p.authors),
        "author_count": p.author_count,
        "categories": _dumps(p.categories),
        "primary_category": p.primary_category,
        "published": _iso(p.published),
        "updated": _iso(p.updated),
        "comment": p.comment,
        "journal_ref": p.journal_ref,
        "doi": p.doi,
        "license": p.license,
        "code_urls": _dumps(p.code_urls),
        "project_urls": _dumps(p.project_urls),
        "organization": p.organization,
        "organization_rank": None,  # set below, once the row's newness is known
        "feed_day": p.feed_day.isoformat(),
        "submitted_by": p.submitted_by,
        "base_upvotes": p.upvotes,
        "upvotes": p.upvotes,
        "hidden": 0,
        "tldr": p.tldr or tldr(p.title, p.abstract),  # a Paper built without validation has none
    }
    if row["organization"]:
        row["organization_rank"] = _rank_text(_newness(row))
    return row


def _is_local(paper_id: str) -> bool:
    return bool(LOCAL_ID.match(paper_id))


def _newness(row: dict[str, Any]) -> tuple[int, str, int]:
    """arXiv beats a seed card; then the later update; then the higher version.

    ``updated`` comes first because not every source knows the version (the OAI ``arXiv``
    format and the daily listing don't), while each knows when its record was current.
    """
    return (0 if _is_local(row["id"]) else 1, row["updated"] or "", row["version"])


def _rank_text(newness: tuple[int, str, int]) -> str:
    return _dumps(list(newness))


def _organization_rank(row: dict[str, Any]) -> tuple[int, str, int]:
    """How new the record was that the row's organization came from.

    Rows stored before this was recorded carry no rank: their own newness stands in.
    """
    text = row.get("organization_rank")
    if text:
        a, u, v = json.loads(text)
        return (a, u, v)
    return _newness(row)


def _merge_links(a: str, b: str) -> str:
    """Links found in any version stay useful; their union is sorted so it is the same
    whatever order the versions arrived in."""
    if a == b:
        return a
    return _dumps(sorted(set(json.loads(a)) | set(json.loads(b))))


def merge_rows(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """Merge two records of one paper so the result does not depend on arrival order."""
    newer, older = (incoming, stored) if _newness(incoming) > _newness(stored) else (stored, incoming)
    merged = dict(stored)
    for col in CONTENT:
        merged[col] = newer[col]
    for col in ("code_urls", "project_urls"):
        merged[col] = _merge_links(stored[col], incoming[col])
    if _is_local(merged["id"]) and not _is_local(incoming["id"]):
        merged["id"] = incoming["id"]
    merged["author_count"] = max(stored["author_count"] or 0, incoming["author_count"] or 0) or None
    published = [v for v in (stored["published"], incoming["published"]) if v]
    merged["published"] = min(published) if published else None
    earlier = stored if stored["feed_day"] <= incoming["feed_day"] else incoming
    merged["feed_day"] = earlier["feed_day"]
    # The organization of the newest record that names one (ties: the larger name), so a
    # version that omits it neither erases it nor makes the result depend on arrival order.
    carriers = [r for r in (stored, incoming) if r["organization"]]
    if carriers:
        best = max(carriers, key=lambda r: (_organization_rank(r), r["organization"]))
        merged["organization"] = best["organization"]
        merged["organization_rank"] = _rank_text(_organization_rank(best))
    merged["submitted_by"] = earlier["submitted_by"] or stored["submitted_by"] or incoming["submitted_by"]
    base = max(stored["base_upvotes"], incoming["base_upvotes"])
    merged["upvotes"] = stored["upvotes"] + (base - stored["base_upvotes"])
    merged["base_upvotes"] = base
    return merged


def _title_match(
    rec: dict[str, Any], by_title: dict[str, list[int | str]], working: dict[int | str, dict[str, Any]]
) -> int | str | None:
    """A seed card merges into the paper of the same title (arXiv first); an arXiv record
    merges only into a seed card, never into another arXiv paper that shares its title."""
    candidates = by_title.get(rec["title_key"], ())
    local = [k for k in candidates if _is_local(working[k]["id"])]
    if _is_local(rec["id"]):
        arxiv = [k for k in candidates if not _is_local(working[k]["id"])]
        return (arxiv or local or [None])[0]
    return local[0] if local else None


def apply_records(
    incoming: list[dict[str, Any]],
    working: dict[int | str, dict[str, Any]],
    by_id: dict[str, int | str],
    by_title: dict[str, list[int | str]],
    result: Any,
    now: str,
) -> list[tuple[str, int | str]]:
    """Fold a batch's records, in order, into the working rows (both backends' one loop).

    ``working`` maps a stored row's rowid (or ``"new:<id>"`` for a row this batch creates) to
    its merged state; ``by_id`` finds rows by id or alias, ``by_title`` by title key for seed
    cards. Counts go to ``result`` (an UpsertResult); returns (alias, row key) pairs to record.
    """
    new_aliases: list[tuple[str, int | str]] = []
    for rec in incoming:
        key = by_id.get(rec["id"])
        if key is None:
            key = _title_match(rec, by_title, working)
        if key is None:
            rec = dict(rec, ingested_at=now)
            key = "new:" + rec["id"]
            working[key] = rec
            by_id[rec["id"]] = key
            by_title.setdefault(rec["title_key"], []).append(key)
            result.inserted += 1
            continue
        before = working[key]
        merged = merge_rows(before, rec)
        if merged["id"] != before["id"]:
            new_aliases.append((before["id"], key))
        elif rec["id"] != merged["id"]:
            new_aliases.append((rec["id"], key))
        by_id[rec["id"]] = key
        by_id[merged["id"]] = key
        if merged == before:
            result.unchanged += 1
        else:
            working[key] = merged
            result.updated += 1
    return new_aliases
