"""``paperboard library …``: a user's saved papers, collections and dismissals from a script.

The same operations as the web's buttons and the API, for bulk work (importing a BibTeX
file, exporting a reading list for LaTeX) and for operators acting on a user's behalf.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..store.library import LibraryError
from .context import AppContext, fail, pass_app
from .papers import _print_papers


def _user(app: AppContext, username: str):
    user = app.store.get_user_by_name(username)
    if user is None:
        fail(f"no user {username!r}")
    return user


def _collection_id(app: AppContext, user_id: int, name: str | None, *, create: bool) -> int | None:
    if name is None:
        return None
    for c in app.store.collections(user_id):
        if c.name.casefold() == " ".join(name.split()).casefold():
            return c.id
    if not create:
        fail(f"no collection {name!r}")
    try:
        return app.store.create_collection(user_id, name).id
    except LibraryError as exc:
        fail(str(exc))


@click.group("library")
def library_group() -> None:
    """Saved papers, collections and "not interested" marks of one user."""


@library_group.command("add")
@click.argument("username")
@click.argument("paper_ids", nargs=-1, required=True)
@click.option("--collection", help="Also file them in this collection (created if missing).")
@click.option("--note", help="A private note, kept with each paper.")
@pass_app
def add(app: AppContext, username: str, paper_ids: tuple[str, ...], collection: str | None, note: str | None) -> None:
    """Save papers (already saved ones are left as they are)."""
    user = _user(app, username)
    cid = _collection_id(app, user.id, collection, create=True)
    failed = 0
    for pid in paper_ids:
        try:
            created = app.store.save_paper(user.id, pid, note=note, collection_id=cid)
        except LibraryError as exc:
            click.echo(f"error: {pid}: {exc}", err=True)
            failed += 1
            continue
        click.echo(f"{'saved' if created else 'already saved'} {pid}", err=True)
    if failed:
        sys.exit(2)


@library_group.command("remove")
@click.argument("username")
@click.argument("paper_ids", nargs=-1, required=True)
@click.option("--collection", help="Only take them out of this collection (they stay saved).")
@pass_app
def remove(app: AppContext, username: str, paper_ids: tuple[str, ...], collection: str | None) -> None:
    """Unsave papers (or take them out of one collection)."""
    user = _user(app, username)
    cid = _collection_id(app, user.id, collection, create=False)
    for pid in paper_ids:
        gone = app.store.remove_from_collection(user.id, cid, pid) if cid else app.store.unsave_paper(user.id, pid)
        click.echo(f"{'removed' if gone else 'not there'} {pid}", err=True)


@library_group.command("dismiss")
@click.argument("username")
@click.argument("paper_ids", nargs=-1, required=True)
@click.option("--undo", is_flag=True, help="Take the mark back.")
@pass_app
def dismiss(app: AppContext, username: str, paper_ids: tuple[str, ...], undo: bool) -> None:
    """Mark papers "not interested": they leave the user's recommendations, and papers like
    them move down."""
    user = _user(app, username)
    failed = 0
    for pid in paper_ids:
        try:
            changed = app.store.undismiss_paper(user.id, pid) if undo else app.store.dismiss_paper(user.id, pid)
        except LibraryError as exc:
            click.echo(f"error: {pid}: {exc}", err=True)
            failed += 1
            continue
        click.echo(f"{'undone' if undo else 'dismissed'} {pid}" if changed else f"unchanged {pid}", err=True)
    if failed:
        sys.exit(2)


@library_group.command("list")
@click.argument("username")
@click.option("--collection", help="Only this collection.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of papers.")
@pass_app
def list_library(app: AppContext, username: str, collection: str | None, limit: int, as_json: bool) -> None:
    """Saved papers, newest first."""
    user = _user(app, username)
    cid = _collection_id(app, user.id, collection, create=False)
    _print_papers([item.paper for item in app.store.library(user.id, collection_id=cid, limit=limit)], as_json)


@library_group.command("export")
@click.argument("username")
@click.option("--collection", help="Only this collection (default: the whole library).")
@click.option("--format", "fmt", type=click.Choice(["bibtex", "ris", "csljson"]), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@pass_app
def export(app: AppContext, username: str, collection: str | None, fmt: str, output: Path | None) -> None:
    """Export as BibTeX, RIS or CSL-JSON (what Zotero, Mendeley and LaTeX import)."""
    from ..library.citations import export as render

    user = _user(app, username)
    cid = _collection_id(app, user.id, collection, create=False)
    papers = [item.paper for item in app.store.library(user.id, collection_id=cid, limit=100_000)]
    text = render(papers, fmt)[0]
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(papers)} papers to {output}", err=True)


@library_group.command("import")
@click.argument("username")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--collection", help="File the papers in this collection (created if missing).")
@click.option("--offline", is_flag=True, help="Do not ask arXiv for unknown ids: keep them pending.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def import_file(app: AppContext, username: str, file: str, collection: str | None, offline: bool, as_json: bool) -> None:
    """Import a BibTeX file or a list of arXiv ids/URLs (one per line). Entries are matched by
    arXiv id, then DOI, then title; ids this Paperboard lacks are fetched from arXiv, or kept
    pending (and saved when the paper arrives) when arXiv cannot be reached."""
    from ..library.imports import MAX_IMPORT_BYTES, ImportRejected, parse_import
    from ..library.matching import apply_import

    user = _user(app, username)
    # Read one byte past the limit, never the whole of a huge file: parse_import refuses it.
    if file == "-":
        data = sys.stdin.buffer.read(MAX_IMPORT_BYTES + 1)
    else:
        with open(file, "rb") as fh:
            data = fh.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        fail(f"{file} is larger than the import limit ({MAX_IMPORT_BYTES / 1e6:.1f} MB): split it, or import the arXiv ids only")
    try:
        parsed = parse_import(data)
    except ImportRejected as exc:
        fail(str(exc))
    cid = _collection_id(app, user.id, collection, create=True)
    report = apply_import(app.store, user.id, parsed, settings=None if offline else app.settings, collection_id=cid)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1))
    else:
        click.echo(
            f"saved {len(report.saved)}, already saved {len(report.already)}, fetched from arXiv {len(report.fetched)},"
            f" pending {len(report.pending)}, problems {len(report.problems)}"
        )
        if report.offline:
            click.echo(f"arXiv unreachable ({report.offline}): unknown ids are pending", err=True)
        for position, reason in report.problems:
            click.echo(f"  entry {position}: {reason}", err=True)


@click.command("recommend")
@click.argument("username")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="Papers of one feed day (default: the latest).")
@click.option("--week", metavar="YYYY-Www", help="Papers of an ISO week.")
@click.option("--month", metavar="YYYY-MM", help="Papers of a month.")
@click.option("--since", metavar="YYYY-MM-DD", help="Every feed day from this one on.")
@click.option("--limit", type=click.IntRange(1, 1000), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of papers, each with its reason.")
@pass_app
def recommend(app: AppContext, username: str, day, week, month, since, limit: int, as_json: bool) -> None:
    """A user's personal picks, best first, each with why. Papers the user saved, upvoted,
    wrote or dismissed never appear; with fewer than 3 of those, trending papers stand in."""
    from ..periods import PeriodError, parse_day, parse_month, parse_week
    from ..ranking.foryou import for_you, latest_day

    if sum(x is not None for x in (day, week, month, since)) > 1:
        fail("use only one of --date, --week, --month, --since")
    user = _user(app, username)
    store = app.store
    try:
        if since is not None:
            start = parse_day(since).start
            end = max(latest_day(store) or start, start)
        else:
            period = parse_week(week) if week else parse_month(month) if month else parse_day(day) if day else None
            if period is None:
                latest = latest_day(store)
                if latest is None:
                    fail("no papers yet: ingest some first")
                start = end = latest
            else:
                start, end = period.start, period.end
    except PeriodError as exc:
        fail(str(exc))
    result = for_you(store, user.id, start=start, end=end, limit=limit)
    if result.cold:
        click.echo(f"{username} has {result.positives} of the 3 saves/upvotes/claims a personal ranking needs:"
                   " showing trending papers", err=True)  # fmt: skip
    if as_json:
        out = []
        for pick in result.picks:
            d = pick.paper.to_public()
            d.update(reason=pick.reason, score=pick.score, because=pick.because)
            out.append(d)
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if not result.picks:
        click.echo("no papers", err=True)
    for pick in result.picks:
        click.echo(f"{pick.paper.upvotes:>4} ▲  {pick.paper.id:<16} {pick.paper.title}")
        click.echo(f"{'':>24}{pick.reason}")


def register(main: click.Group) -> None:
    main.add_command(library_group)
    main.add_command(recommend)
