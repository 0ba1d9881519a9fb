"""``paperboard subscribers …``, ``paperboard digest …`` and ``paperboard worker``."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime

import click

from .context import AppContext, fail, pass_app

KIND_CHOICE = click.Choice(["daily", "weekly"])
"""A subscriber's trending digest."""
DIGEST_KIND_CHOICE = click.Choice(["daily", "weekly", "alerts", "foryou"])
"""What ``digest preview``/``send`` compose; ``foryou`` is each user's own list."""


def _today(app: AppContext) -> date:
    from ..digest.schedule import DailySchedule, ScheduleError

    try:
        return DailySchedule.from_settings(app.settings).local_day(datetime.now().astimezone())
    except ScheduleError as exc:
        fail(str(exc))
    raise AssertionError


def _parse_date(value: str | None, app: AppContext) -> date:
    if value is None:
        return _today(app)
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {value!r}")
    raise AssertionError


# -- subscribers ---------------------------------------------------------------------------
@click.group("subscribers")
def subscribers_group() -> None:
    """Digest subscribers: import, list, remove."""


@subscribers_group.command("add")
@click.argument("email")
@click.option("--kind", type=KIND_CHOICE, default="daily", show_default=True, help="Which digest.")
@click.option("--confirmed", is_flag=True, help="Already opted in elsewhere: no confirmation email.")
@pass_app
def subscribers_add(app: AppContext, email: str, kind: str, confirmed: bool) -> None:
    """Add EMAIL. Without --confirmed a confirmation email is sent and nothing else is
    sent until its link is opened (double opt-in)."""
    from ..digest.addresses import InvalidAddress
    from ..digest.subscriptions import Subscriptions

    subs = Subscriptions(app.settings, app.store)
    try:
        result = subs.subscribe(email, kind, confirmed=confirmed)
    except InvalidAddress as exc:
        fail(str(exc))
    sub = result.subscriber
    verb = "added" if result.created else "updated"
    if confirmed or (sub.status == "confirmed" and result.confirmation_id is None):
        click.echo(f"{verb} {sub.email}: {sub.kind}, {sub.status}")
        return
    if result.confirmation_id is None:
        click.echo(f"{verb} {sub.email}: pending; a confirmation email was sent recently, not sending another")
        return
    if not subs.send_now([result.confirmation_id], lock_wait=30):
        click.echo(f"{verb} {sub.email}: pending; confirmation email queued (another sender is running)")
        return
    status, error = app.store.get_outbox_status(result.confirmation_id) or ("missing", None)
    if status == "sent":
        click.echo(f"{verb} {sub.email}: pending until confirmed; confirmation email sent")
    elif status == "pending":
        click.echo(f"{verb} {sub.email}: pending; confirmation email not sent yet ({error});"
                   " `paperboard digest send` or the worker will retry it")  # fmt: skip
    else:
        fail(f"{verb} {sub.email} but the confirmation email could not be sent: {error or status}")


@subscribers_group.command("list")
@click.option("--status", type=click.Choice(["pending", "confirmed", "unsubscribed", "bouncing"]))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of subscribers.")
@pass_app
def subscribers_list(app: AppContext, status: str | None, as_json: bool) -> None:
    """List subscribers (address, digest kind, status, bounces)."""
    subs = app.store.list_subscribers(status=status)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps([s.to_public() for s in subs], ensure_ascii=False, indent=1))
        return
    for s in subs:
        kind = "alerts only" if s.kind == "none" else s.kind
        extra = (f"\tforyou {s.foryou}" if s.foryou != "off" else "") + (f"\tbounces {s.bounces}" if s.bounces else "")
        click.echo(f"{s.email}\t{kind}\t{s.status}{extra}")
    click.echo(f"{len(subs)} subscribers", err=True)


@subscribers_group.command("remove")
@click.argument("email")
@pass_app
def subscribers_remove(app: AppContext, email: str) -> None:
    """Delete EMAIL and everything planned for it (to stop mail but keep the record, the
    address's own unsubscribe link is the way)."""
    from ..digest.addresses import InvalidAddress, normalize_address

    try:
        address = normalize_address(email)
    except InvalidAddress as exc:
        fail(str(exc))
    if not app.store.remove_subscriber(address):
        fail(f"{address} is not a subscriber")
    click.echo(f"removed {address}")


# -- digest ----------------------------------------------------------------------------------
@click.group("digest")
def digest_group() -> None:
    """Compose and send the email digests."""


@digest_group.command("preview")
@click.option("--email", "email", required=True, help="A subscriber's address.")
@click.option("--kind", type=DIGEST_KIND_CHOICE, help="Default: the subscriber's.")
@click.option("--date", "date_", metavar="YYYY-MM-DD", help="Compose the digest of this day (default today).")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part instead of the text.")
@pass_app
def preview(app: AppContext, email: str, kind: str | None, date_: str | None, as_html: bool) -> None:
    """Print the digest EMAIL would get, without planning or sending anything."""
    from ..digest.addresses import InvalidAddress, normalize_address
    from ..digest.compose import Composer
    from ..digest.selection import alert_issue, daily_issue, weekly_issue

    store, settings = app.store, app.settings
    try:
        sub = store.get_subscriber_by_email(normalize_address(email))
    except InvalidAddress as exc:
        fail(str(exc))
    if sub is None:
        fail(f"{email} is not a subscriber")
    day = _parse_date(date_, app)
    kind = kind or ("alerts" if sub.kind == "none" else sub.kind)
    why = " (the daily digest is not sent on weekends)" if kind == "daily" and day.weekday() >= 5 else ""
    if kind == "foryou":
        issue, why = _foryou_preview(app, sub, day)
    elif kind == "daily":
        issue = daily_issue(store, day, top_n=settings.digest_top_n)
    elif kind == "weekly":
        issue = weekly_issue(store, day, top_n=settings.digest_top_n)
    else:
        issue, _ = alert_issue(store, store.list_saved_searches(subscriber_id=sub.id), day, top_n=settings.digest_top_n)
    rendered = None
    if issue is not None:
        rendered = Composer(settings, store).render_issue(issue, sub.id, sub.email)
    if rendered is None:
        click.echo(f"nothing new for {sub.email} ({kind}, {day.isoformat()}): no email would be sent{why}", err=True)
        return
    if sub.status != "confirmed":
        click.echo(f"note: {sub.email} is {sub.status}: it would get nothing", err=True)
    click.echo(f"Subject: {rendered.subject}", err=True)
    click.echo(rendered.html if as_html else rendered.text, nl=False)


def _foryou_preview(app: AppContext, sub, day: date):
    """The For-you issue the address would get for ``day`` in its cadence (daily when it
    has none yet, so an operator can look before a user opts in)."""
    from ..digest.foryou import foryou_issue, period_for

    if sub.user_id is None:
        fail(f"{sub.email} belongs to no account: the For-you digest is a user's own list")
    cadence = sub.foryou if sub.foryou != "off" else "daily"
    if sub.foryou == "off":
        click.echo(f"note: {sub.email} has the For-you digest off; showing the daily one", err=True)
    period = period_for(cadence, day)
    if period is None:
        return None, " (the daily For-you digest is not sent on weekends)"
    issue = foryou_issue(app.store, sub.user_id, period, top_n=app.settings.digest_top_n)
    return issue, ""


@digest_group.command("send")
@click.option("--kind", type=DIGEST_KIND_CHOICE, help="Default: what the schedule sends that day.")
@click.option("--date", "date_", metavar="YYYY-MM-DD", help="Compose the digest of this day (backfills, tests).")
@click.option("--dry-run", is_flag=True, help="Show what would be planned; plan and send nothing.")
@click.option("--no-wait", is_flag=True, help="Do not wait for retries of transient failures.")
@pass_app
def send(app: AppContext, kind: str | None, date_: str | None, dry_run: bool, no_wait: bool) -> None:
    """Plan the digests of a day into the outbox, then send everything pending.

    \b
    Without --kind, does what the worker does on that day: the daily digest on weekdays,
    on Mondays the weekly digest of the week before, and saved-search alerts.
    With --kind weekly, --date picks the ISO week that contains it. --kind foryou plans each
    opted-in user's own list: the daily ones for that day, the weekly ones for its week.
    Re-running is safe: each (subscriber, kind, period) is planned and sent once.
    """
    from ..digest.outbox import OutboxSender, SenderBusy, expand_kind, plan_digests, scheduled_kinds

    day = _parse_date(date_, app)
    kinds = expand_kind(kind, day) if kind else scheduled_kinds(day)
    summary, plans = plan_digests(app.store, app.settings, kinds, dry_run=dry_run)
    for line in summary.lines():
        click.echo(line)
    if dry_run:
        click.echo(f"dry run: {len(plans)} emails would be planned (some may have been planned before); nothing sent")
        return
    try:
        result = OutboxSender(app.settings, app.store).run(wait_for_retries=not no_wait, lock_wait=60)
    except SenderBusy as exc:
        fail(f"{exc}; what was planned will be sent by it")
    click.echo(result.line())
    if result.unavailable or (result.failed and not result.sent):
        sys.exit(2)


# -- worker ----------------------------------------------------------------------------------
@click.command("worker")
@click.option("--once", is_flag=True, help="Run today's job now if it has not run, then exit.")
@click.option("--flush-interval", type=click.FloatRange(1, 3600), default=60, show_default=True,
              help="Seconds between outbox flushes (confirmations, retries).")  # fmt: skip
@click.option("--backfill/--no-backfill", default=True, show_default=True,
              help="Meanwhile, embed papers that lack a vector the default search uses (not with --once).")
@pass_app
def worker(app: AppContext, once: bool, flush_interval: float, backfill: bool) -> None:
    """Ingest and send digests every day at PAPERBOARD_DIGEST_TIME in PAPERBOARD_DIGEST_TIMEZONE;
    in the background, compute the vectors the default search uses for papers that lack them."""
    import logging

    from ..digest.priority import lower_priority
    from ..digest.schedule import CHECKPOINT, ScheduleError, Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    lower_priority(app.settings.worker_nice)  # before any thread starts: they inherit it
    try:
        w = Worker(app.settings, app.store, flush_interval=flush_interval, backfill=backfill)
    except ScheduleError as exc:
        fail(str(exc))

    def report(r) -> None:
        if r.ingest_error:
            click.echo(f"{r.day}: ingestion failed: {r.ingest_error}", err=True)
        for line in r.plan.lines() if r.plan else []:
            click.echo(f"{r.day}: {line}")
        if r.send:
            click.echo(f"{r.day}: {r.send.line()}")

    if once:
        day = w.schedule.local_day(w.clock())
        if w.store.get_checkpoint(CHECKPOINT) == day.isoformat():
            click.echo(f"{day}: already ran today")
            return
        report(w.run_day(day))
        return
    click.echo(
        f"worker: digests daily at {app.settings.digest_time} {app.settings.digest_timezone};"
        f" next run {w.schedule.next_run(w.clock()).isoformat(timespec='minutes')}",
        err=True,
    )
    try:
        w.run(on_report=report)
    except KeyboardInterrupt:
        click.echo("worker stopped", err=True)


def register(main: click.Group) -> None:
    main.add_command(subscribers_group)
    main.add_command(digest_group)
    main.add_command(worker)
