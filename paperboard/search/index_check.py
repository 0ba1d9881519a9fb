"""``paperboard db check``'s look at the indexes under the data dir, against the store.

The indexes heal themselves from what they can see (a missing, foreign or unreadable index
is rebuilt on next use), so the check separates what heals (``note``) from what does not
(``fail``): an index whose files cannot be read, or one that believes it is current for
this database but disagrees with it. The last is the silent kind: a keyword index at the
store's change-feed position must hold exactly the store's searchable papers, and nothing
else would ever notice a missing one. Everything here only reads; nothing is rebuilt.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..store.backup import Finding
from .index import FORMAT, _Hnsw
from .keyword_index import MIN_PAPERS, SCHEMA_VERSION

STABLE_ATTEMPTS = 3


def check_indexes(store, index_dir: Path) -> list[Finding]:
    findings = [check_keyword_index(store, index_dir)]
    findings += check_vector_indexes(store, index_dir)
    return findings


def _searchable_at_position(store) -> tuple[int, str, int] | None:
    """(feed position, epoch, searchable papers) read while the feed stood still, or None
    when writes kept moving it (the counts could not be compared at one position)."""
    for _ in range(STABLE_ATTEMPTS):
        seq, epoch = store.text_change_stats()
        count = store.count_papers()  # visible papers: exactly what the keyword index holds
        if store.text_change_stats() == (seq, epoch):
            return seq, epoch, count
    return None


def check_keyword_index(store, index_dir: Path) -> Finding:
    name = "keyword index"
    meta_path, path = index_dir / "keywords.json", index_dir / "keywords"
    if not meta_path.exists():
        return Finding(name, "note", f"not built at {path} (built on first search once the store has"
                                     f" {MIN_PAPERS:,} papers, or by `paperboard embed`)")  # fmt: skip
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("schema") != SCHEMA_VERSION:
            return Finding(name, "note", f"{meta_path} is from another index version: rebuilt on next use")
        applied, built_for = int(meta["max_seq"]), str(meta["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Finding(name, "fail", f"{meta_path} is unreadable ({exc}): delete it to have the index rebuilt")
    store_seq, epoch = store.text_change_stats()
    if built_for != epoch:
        return Finding(name, "note", "built for another database (or before a restore): rebuilt on next use")
    if applied > store_seq:
        return Finding(name, "note", f"ahead of the store (position {applied} > {store_seq}: the database was"
                                     " restored from an older backup?): rebuilt on next use")  # fmt: skip
    if applied < getattr(store, "change_feed_floor", lambda: 0)():
        return Finding(name, "note", f"the change feed was pruned past its position {applied} (it was silent longer"
                                     " than PAPERBOARD_CHANGE_FEED_RETENTION_DAYS): rebuilt on next use")  # fmt: skip
    try:
        import tantivy

        from .keyword_index import _schema

        index = tantivy.Index(_schema(), path=str(path))
        index.reload()
        docs = index.searcher().num_docs
    except BaseException as exc:  # tantivy reports damage as errors or as Rust panics
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return Finding(name, "fail", f"the index files under {path} are damaged ({exc}): delete {path} and"
                                     f" {meta_path} to have it rebuilt")  # fmt: skip
    if applied < store_seq:
        return Finding(name, "note", f"{docs} documents, behind the store's change feed: catches up on next search")
    stable = _searchable_at_position(store)
    if stable is None:
        return Finding(name, "note", f"{docs} documents; the store kept changing, so the count was not compared")
    seq, epoch_now, searchable = stable
    if (seq, epoch_now) != (applied, built_for):
        return Finding(name, "note", f"{docs} documents; the store moved on meanwhile: catches up on next search")
    if docs != searchable:
        return Finding(name, "fail", f"holds {docs} documents but the store has {searchable} searchable papers at"
                                     f" the same change-feed position: searches miss or invent papers; delete {path}"
                                     f" and {meta_path} to have it rebuilt")  # fmt: skip
    return Finding(name, "ok", f"{docs} documents, current with the store's change feed")


def check_vector_indexes(store, index_dir: Path) -> list[Finding]:
    findings = []
    for meta_path in sorted(index_dir.glob("*.json")) if index_dir.is_dir() else []:
        if meta_path.name == "keywords.json":
            continue
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            findings.append(Finding(f"vector index {meta_path.stem}", "fail", f"{meta_path} is unreadable ({exc})"))
            continue
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            continue  # not a vector index's metadata
        model = str(meta.get("model"))
        name = f"vector index {model}"
        max_seq, epoch = store.vector_head(model)
        if meta.get("epoch") != epoch:
            findings.append(Finding(name, "note", "built for other vectors or another database: rebuilt on next use"))
            continue
        if int(meta["max_seq"]) > max_seq:
            findings.append(Finding(name, "note", "ahead of the store's vectors: rebuilt on next use"))
            continue
        try:
            graph = _Hnsw.load(index_dir / meta["file"], int(meta["dim"]))
        except Exception as exc:  # noqa: BLE001 - any failure to load means the files are bad
            findings.append(Finding(name, "fail", f"{meta['file']} cannot be loaded ({exc}): delete {meta_path}"
                                                  " to have it rebuilt"))  # fmt: skip
            continue
        if len(graph) != int(meta["count"]):
            findings.append(Finding(name, "fail", f"{meta['file']} holds {len(graph)} vectors, its metadata says"
                                                  f" {meta['count']}: delete {meta_path} to have it rebuilt"))  # fmt: skip
            continue
        if int(meta["max_seq"]) < max_seq:
            findings.append(Finding(name, "note", f"{len(graph)} vectors, behind the store: catches up on next search"))
            continue
        count = store.vector_stats(model)[0]
        if len(graph) < count:
            findings.append(Finding(name, "fail", f"holds {len(graph)} vectors but the store has {count} at the same"
                                                  f" position: delete {meta_path} to have it rebuilt"))  # fmt: skip
        else:
            # More is normal: a paper whose text changed keeps its old vector until re-embedded.
            findings.append(Finding(name, "ok", f"{len(graph)} vectors, current with the store ({count} stored)"))
    if not findings:
        findings.append(Finding("vector index", "note", "no saved graph (below 20,000 vectors the search is exact,"
                                                        " in memory)"))  # fmt: skip
    return findings
