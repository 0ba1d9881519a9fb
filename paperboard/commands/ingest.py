"""``paperboard ingest SOURCE …``: papers in, with a progress bar and a summary."""

from __future__ import annotations

import json
import sys
from datetime import date

import click

from ..ingest import FileUnit, IngestSummary, ingest, ingest_files
from ..models import RecordError
from ..sources.http import SourceError
from .context import AppContext, fail, pass_app

SOURCES = ("demo", "seed-page", "arxiv-daily", "arxiv-snapshot", "oai", "arxiv-api", "hf-daily")
SHOW_ERRORS = 20


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name} must be YYYY-MM-DD, got {value!r}")
    return None


@click.command("ingest")
@click.argument("source", type=click.Choice(SOURCES))
@click.argument("paths", nargs=-1)
@click.option("--from", "from_", metavar="DATE", help="oai / arxiv-daily: first day (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="oai / arxiv-daily: last day (YYYY-MM-DD).")
@click.option("--prefix", type=click.Choice(["arXiv", "arXivRaw"]), default="arXiv", show_default=True, help="oai: metadata format.")
@click.option("--set", "set_", metavar="SPEC", help="oai: restrict to an OAI set, e.g. cs.")
@click.option("--restart", is_flag=True, help="oai: ignore a saved checkpoint and start over.")
@click.option("--year", type=int, default=None, help="seed-page: the year of the page's date (default 2025).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already has papers.")
@click.option("--force", is_flag=True, help="Re-read files even if they were ingested unchanged before.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=None, help="Papers per transaction.")
@click.option("--no-embed", is_flag=True, help="Skip embedding the new papers for semantic search.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or per-record errors.")
@pass_app
def ingest_cmd(
    app: AppContext,
    source: str,
    paths: tuple[str, ...],
    from_: str | None,
    until: str | None,
    prefix: str,
    set_: str | None,
    restart: bool,
    year: int | None,
    if_empty: bool,
    force: bool,
    batch_size: int | None,
    no_embed: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Read papers from SOURCE into the store.

    \b
    SOURCE is one of:
      demo            the shipped demo corpus (no path)
      seed-page       a Daily Papers page saved as text
      arxiv-daily     day files YYYY-MM-DD.jsonl[.gz] (a file or a folder)
      arxiv-snapshot  arxiv-metadata-oai-snapshot JSON-lines (.json or .gz)
      oai             arXiv OAI-PMH harvest (--from/--until, resumable)
      arxiv-api       arXiv ids or URLs, fetched from the arXiv API
      hf-daily        Hugging Face daily-papers JSON export

    New papers are then embedded for semantic search (skip with --no-embed; run
    `paperboard embed` later). Re-running the same ingest changes nothing; an interrupted
    one resumes without loss.
    Exits 2 only when nothing could be read.
    """
    store = app.store
    if if_empty and store.count_papers() > 0:
        if not quiet:
            click.echo("store already has papers: nothing to do", err=True)
        return
    since, till = _parse_date(from_, "--from"), _parse_date(until, "--until")
    needs_path = source not in ("demo", "oai")
    if needs_path and not paths:
        fail(f"ingest {source} needs at least one path" + (" (arXiv ids)" if source == "arxiv-api" else ""))
    summary = IngestSummary()
    batch = batch_size or app.settings.ingest_batch_size
    errors_shown = 0

    def on_error(err: RecordError) -> None:
        nonlocal errors_shown
        if not quiet and errors_shown < SHOW_ERRORS:
            click.echo(f"rejected {err}", err=True)
        errors_shown += 1

    try:
        with _progress(quiet) as advance:
            if source == "oai":
                _harvest_oai(app, summary, since, till, prefix, set_, restart, batch, on_error, advance)
            elif source == "demo":
                from ..sources import demo

                ingest(store, demo.read(), batch_size=batch, on_error=on_error, on_batch=advance, summary=summary)
            elif source == "arxiv-api":
                from ..sources import arxiv_api

                items = arxiv_api.fetch_papers(list(paths), app.settings)
                ingest(store, items, batch_size=batch, on_error=on_error, on_batch=advance, summary=summary)
            else:
                units = _file_units(source, paths, since, till, year)
                ingest_files(
                    store, units, force=force, batch_size=batch, on_error=on_error, on_batch=advance, summary=summary
                )
    except SourceError as exc:
        click.echo(f"error: {exc}", err=True)
        click.echo(summary.line(), err=True)
        sys.exit(2)
    if errors_shown > SHOW_ERRORS and not quiet:
        click.echo(f"… and {errors_shown - SHOW_ERRORS:,} more rejected records", err=True)
    if (summary.stored or summary.updated) and not no_embed:
        from ..search.embedder import DEFAULT_RERANKER
        from ..search.embedding import strong_vectors_wanted
        from .embed import embed_and_index

        embed_and_index(app, quiet=quiet)
        if strong_vectors_wanted(app.store):
            embed_and_index(app, model=DEFAULT_RERANKER, quiet=quiet)
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
    else:
        click.echo(summary.line())
    if summary.read - summary.rejected == 0 and summary.skipped_files == 0:
        click.echo("error: nothing could be read", err=True)
        sys.exit(2)


def _file_units(
    source: str, paths: tuple[str, ...], since: date | None, till: date | None, year: int | None
) -> list[FileUnit]:
    from functools import partial
    from pathlib import Path

    units: list[FileUnit] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            fail(f"no such file or folder: {raw}")
        if source == "arxiv-daily":
            from ..sources import arxiv_daily

            files = arxiv_daily.selected_files(path, since=since, until=till)
            if not files and not arxiv_daily.day_files(path):
                fail(f"no day files (YYYY-MM-DD.jsonl[.gz]) in {raw}")
            units += [FileUnit(source, f, partial(arxiv_daily.read_day_file, f, d)) for d, f in files]
        elif path.is_dir():
            fail(f"{source} reads files, not folders: {raw}")
        elif source == "seed-page":
            from ..sources import seed_page

            units.append(FileUnit(source, path, partial(seed_page.read, path, year=year or seed_page.DEFAULT_YEAR)))
        else:
            import importlib

            name = {"arxiv-snapshot": "arxiv_snapshot", "hf-daily": "hf_daily"}[source]
            module = importlib.import_module(f"paperboard.sources.{name}")
            units.append(FileUnit(source, path, partial(module.read, path)))
    return units


def _harvest_oai(app, summary, since, till, prefix, set_, restart, batch, on_error, advance) -> None:
    """Each OAI page is stored, then its resumption token is checkpointed (crash-safe)."""
    from ..sources import oai_pmh

    harvester = oai_pmh.OaiHarvester(
        app.settings, app.store, prefix=prefix, from_=since, until=till, set_=set_, restart=restart
    )
    if harvester.resumed_from:
        click.echo(f"resuming the interrupted harvest ({harvester.checkpoint_name})", err=True)
    for page in harvester.pages():
        ingest(app.store, page.items, batch_size=batch, on_error=on_error, on_batch=advance, summary=summary)
        page.commit()


class _progress:
    """A rich progress line on stderr counting records as batches commit."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet or not sys.stderr.isatty()
        self._progress = None

    def __enter__(self):
        if self.quiet:
            return lambda summary: None
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=True,
        )  # fmt: skip
        self._progress.__enter__()
        task = self._progress.add_task("ingesting", total=None)

        def advance(summary: IngestSummary) -> None:
            self._progress.update(task, description=f"ingesting: {summary.line()}")

        return advance

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)


def register(main: click.Group) -> None:
    main.add_command(ingest_cmd)
