"""``paperboard users …``: list accounts, promote an admin, create a user from a script, read
the admin audit log.

Promoting and revoking are admin actions, so they go on the audit log like those taken on the
site; the command line has no account, so the entry names the operating-system user who ran it.
"""

from __future__ import annotations

import json
import os

import click

from ..store.audit import PAGE, Actor
from .context import AppContext, fail, pass_app


def command_line_actor() -> Actor:
    import getpass
    import socket

    try:
        who = getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        who = f"uid {os.getuid()}"
    return Actor(f"{who}@{socket.gethostname()} (command line)")


@click.group("users")
def users_group() -> None:
    """User accounts."""


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of users.")
@pass_app
def list_users(app: AppContext, as_json: bool) -> None:
    """All users, oldest first."""
    users = app.store.list_users()
    if as_json:
        click.echo(json.dumps([
            {"id": u.id, "username": u.username, "email": u.email, "is_admin": u.is_admin,
             "created_at": u.created_at.isoformat()} for u in users
        ], indent=1))  # fmt: skip
        return
    if not users:
        click.echo("no users", err=True)
    for u in users:
        click.echo(f"{u.id:>5}  {u.username:<32} {'admin' if u.is_admin else '':<6} {u.created_at:%Y-%m-%d}")


@users_group.command("promote")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take the admin role away instead.")
@pass_app
def promote(app: AppContext, username: str, revoke: bool) -> None:
    """Make USERNAME an admin (can hide papers and comments)."""
    if not app.store.set_admin_as(command_line_actor(), username, not revoke):
        fail(f"no user named {username!r}")
    click.echo(f"{username} is {'no longer' if revoke else 'now'} an admin")


@users_group.command("create")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default=None)
@click.option("--admin", is_flag=True, help="Also make the user an admin.")
@pass_app
def create(app: AppContext, username: str, password: str, email: str | None, admin: bool) -> None:
    """Create an account (the password is read from a prompt, or --password)."""
    from ..store.accounts import UsernameTaken
    from ..web.passwords import hash_password, password_problem
    from ..web.routes.accounts import USERNAME

    if not USERNAME.match(username):
        fail("a user name has 3 to 32 letters, digits, '.', '_' or '-'")
    problem = password_problem(password)
    if problem:
        fail(problem)
    try:
        user = app.store.create_user(username, hash_password(password), email=email)
    except UsernameTaken as exc:
        fail(str(exc))
    if admin:
        app.store.set_admin_as(command_line_actor(), username, True)
    click.echo(f"created user {user.username} (id {user.id}){' as admin' if admin or user.is_admin else ''}")


@users_group.command("audit")
@click.option("--limit", type=click.IntRange(1, 1000), default=PAGE, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of entries.")
@pass_app
def audit(app: AppContext, limit: int, as_json: bool) -> None:
    """The admin audit log, newest first (the same as the site's /admin page)."""
    entries = app.store.audit_log(limit=limit)
    if as_json:
        click.echo(json.dumps([
            {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "actor_id": e.actor_id, "action": e.action,
             "target_type": e.target_type, "target_id": e.target_id, "detail": e.detail} for e in entries
        ], indent=1, ensure_ascii=False))  # fmt: skip
        return
    if not entries:
        click.echo("no admin actions recorded", err=True)
    for e in entries:
        click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<24} {e.action:<15} {e.target_type} {e.target_id}  {e.detail}")


def register(main: click.Group) -> None:
    main.add_command(users_group)
