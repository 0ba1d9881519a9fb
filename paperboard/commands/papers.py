"""Reading commands: ``ls``, ``info``, ``search``, ``similar``, ``stats``.

Every listing takes ``--json`` and then prints a JSON array of paper objects (at least id,
title, authors, published, upvotes), so scripts can rely on one shape.
"""

from __future__ import annotations

import json
from datetime import date

import click

from ..models import Paper
from ..periods import PeriodError, parse_day, parse_month, parse_week
from ..store.base import PaperQuery
from .context import AppContext, fail, pass_app


def _print_papers(papers: list[Paper], as_json: bool, scores: list[float] | None = None) -> None:
    if as_json:
        out = []
        for i, p in enumerate(papers):
            d = p.to_public()
            if scores is not None:
                d["score"] = scores[i]
            out.append(d)
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if not papers:
        click.echo("no papers", err=True)
        return
    for p in papers:
        if p.authors:
            authors = ", ".join(p.authors[:3]) + (" et al." if p.n_authors > 3 else "")
        else:
            authors = f"{p.n_authors} authors" if p.n_authors else "authors unknown"
        org = f" · {p.organization}" if p.organization else ""
        click.echo(f"{p.upvotes:>4} ▲  {p.id:<16} {p.title}")
        click.echo(f"{'':>24}{p.feed_day.isoformat()} · {authors}{org}")


@click.command("ls")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="Papers of one feed day.")
@click.option("--week", metavar="YYYY-Www", help="Papers of an ISO week, e.g. 2025-W23.")
@click.option("--month", metavar="YYYY-MM", help="Papers of a month.")
@click.option("--org", help="Only papers of this organization.")
@click.option("--author", help="Only papers with this author (exact name).")
@click.option("--category", help="Only papers in this arXiv category, e.g. cs.CL.")
@click.option("--sort", type=click.Choice(["upvotes", "date"]), default="upvotes", show_default=True)
@click.option("--limit", type=click.IntRange(1, 10_000), default=30, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of papers.")
@pass_app
def ls(app: AppContext, day, week, month, org, author, category, sort, limit, offset, as_json) -> None:
    """List papers by day, week or month (default: the latest feed day)."""
    if sum(x is not None for x in (day, week, month)) > 1:
        fail("use only one of --date, --week, --month")
    try:
        if day:
            period = parse_day(day)
        elif week:
            period = parse_week(week)
        elif month:
            period = parse_month(month)
        elif org or author or category:
            period = None
        else:
            days = app.store.feed_days(limit=1)
            period = parse_day(days[0].isoformat()) if days else None
    except PeriodError as exc:
        fail(str(exc))
    q = PaperQuery(
        start=period.start if period else None,
        end=period.end if period else None,
        organization=org, author=author, category=category,
        sort=sort, limit=limit, offset=offset,
    )  # fmt: skip
    _print_papers(app.store.list_papers(q), as_json)


@click.command("info")
@click.argument("paper_id")
@click.option("--json", "as_json", is_flag=True, help="Print the paper as a JSON object.")
@pass_app
def info(app: AppContext, paper_id: str, as_json: bool) -> None:
    """Show one paper: an arXiv id, URL, or a local pb- id."""
    paper = _paper_or_fail(app, paper_id)
    if as_json:
        click.echo(json.dumps(paper.to_public(), ensure_ascii=False, indent=1))
        return
    click.echo(paper.title)
    click.echo(f"id: {paper.id}v{paper.version}   day: {paper.feed_day}   upvotes: {paper.upvotes}")
    if paper.authors:
        click.echo("authors: " + ", ".join(paper.authors))
    elif paper.n_authors:
        click.echo(f"authors: {paper.n_authors}")
    for label, value in (
        ("organization", paper.organization), ("categories", " ".join(paper.categories)),
        ("published", paper.published), ("updated", paper.updated), ("comment", paper.comment),
        ("journal", paper.journal_ref), ("doi", paper.doi), ("license", paper.license),
        ("abs", paper.abs_url), ("pdf", paper.pdf_url), ("code", " ".join(paper.code_urls)),
        ("project", " ".join(paper.project_urls)), ("submitted by", paper.submitted_by),
    ):  # fmt: skip
        if value:
            click.echo(f"{label}: {value}")
    click.echo()
    click.echo(paper.abstract)


def _paper_or_fail(app: AppContext, paper_id: str) -> Paper:
    from ..ids import InvalidId, is_paper_id, parse_arxiv_id

    key = paper_id.strip()
    if not is_paper_id(key):
        try:
            key = parse_arxiv_id(key).id
        except InvalidId as exc:
            fail(str(exc))
    paper = app.store.get_paper(key)
    if paper is None:
        fail(f"no paper {paper_id!r} in the store")
    return paper


@click.command("similar")
@click.argument("paper_id", required=False)
@click.option("--limit", type=click.IntRange(1, 50), default=10, show_default=True)
@click.option("--all", "every", is_flag=True,
              help="Instead: score and keep the similar papers of every paper that has no list or an out-of-date one.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of papers (with score); with --all, a summary.")
@pass_app
def similar(app: AppContext, paper_id: str | None, limit: int, every: bool, as_json: bool) -> None:
    """Papers similar to one paper (what its page shows): an arXiv id, URL, or pb- id.

    With --all, what the worker does in the background, now: after a bulk ingest, every
    paper page then reads a kept list from its first visit (about 30 ms a paper on 2 cores)."""
    from ..search.searcher import Searcher

    if every == (paper_id is not None):
        fail("give a paper id, or --all")
    searcher = Searcher.for_settings(app.store, app.settings)
    if every:
        _keep_every_similar_list(app, searcher, as_json)
        return
    paper = _paper_or_fail(app, paper_id)
    hits = searcher.similar(paper.id, limit=limit)
    _print_papers([h.paper for h in hits], as_json, [round(h.score, 6) for h in hits])


def _keep_every_similar_list(app: AppContext, searcher, as_json: bool) -> None:
    import time

    from ..search.backfill import WARM_TERMS

    searcher.similar_terms.max_papers = WARM_TERMS
    keeper = searcher.similar_keeper
    started = time.monotonic()
    scored = refreshed = 0
    while batch := app.store.unkept_similar_keys(500):
        scored += keeper.warm(batch)
    while n := keeper.refresh_dirty(500):
        refreshed += n
    seconds = round(time.monotonic() - started, 1)
    if as_json:
        click.echo(json.dumps({"scored": scored, "refreshed": refreshed, "seconds": seconds}))
    else:
        click.echo(f"kept the similar papers of {scored:,} papers and refreshed {refreshed:,} in {seconds:,} s")


@click.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", type=click.IntRange(1, 120), default=20, show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "dense"]), default="hybrid", show_default=True)
@click.option("--category", help="Only papers in this arXiv category.")
@click.option("--org", help="Only papers of this organization.")
@click.option("--author", help="Only papers with this author (exact name).")
@click.option("--from", "from_", metavar="YYYY-MM-DD", help="Feed day from.")
@click.option("--until", metavar="YYYY-MM-DD", help="Feed day until.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of papers (with score).")
@pass_app
def search(app: AppContext, query, limit, mode, category, org, author, from_, until, as_json) -> None:
    """Search papers. Syntax: words, "exact phrase", -exclude, ti: au: abs: cat:."""
    from ..search.query import QueryError
    from ..search.searcher import Searcher
    from ..store.base import QuerySyntaxError

    try:
        start = date.fromisoformat(from_) if from_ else None
        end = date.fromisoformat(until) if until else None
    except ValueError:
        fail("--from/--until must be YYYY-MM-DD")
    filters = PaperQuery(start=start, end=end, category=category, organization=org, author=author)
    try:
        response = Searcher.for_settings(app.store, app.settings).search(
            " ".join(query), filters=filters, limit=limit, mode=mode
        )
    except (QueryError, QuerySyntaxError) as exc:
        fail(str(exc))
    _print_papers([h.paper for h in response.hits], as_json, [round(h.score, 6) for h in response.hits])


@click.command("stats")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def stats(app: AppContext, as_json: bool) -> None:
    """Counts: papers, feed days, organizations, papers with each kind of vector, store
    location and schema version."""
    from ..search.embedding import vector_counts

    s = app.store.stats()
    data = {
        "database": app.store.url,
        "schema_version": app.store.schema_version(),
        "papers": s.papers,
        "days": s.days,
        "first_day": s.first_day.isoformat() if s.first_day else None,
        "last_day": s.last_day.isoformat() if s.last_day else None,
        "organizations": s.organizations,
        **s.extra,
        "vectors": vector_counts(app.store),
    }
    if as_json:
        click.echo(json.dumps(data, indent=1))
    else:
        for k, v in data.items():
            if isinstance(v, dict):
                for name, n in v.items():
                    click.echo(f"{k:>15}: {n:,} {name}")
            else:
                click.echo(f"{k:>15}: {v}")


def register(main: click.Group) -> None:
    for cmd in (ls, info, search, similar, stats):
        main.add_command(cmd)
