"""``paperboard tokens create USER``: an API token for scripts (``Authorization: Bearer``)."""

from __future__ import annotations

import click

from .context import AppContext, fail, pass_app


@click.group("tokens")
def tokens_group() -> None:
    """API tokens."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label to recognise the token by.")
@pass_app
def create(app: AppContext, username: str, name: str) -> None:
    """Print a new API token for USERNAME (shown once; only its hash is stored)."""
    from ..web.tokens import new_api_token, token_hash

    user = app.store.get_user_by_name(username)
    if user is None:
        fail(f"no user named {username!r}")
    token = new_api_token()
    app.store.create_api_token(user.id, name[:100], token_hash(token))
    click.echo(token)


def register(main: click.Group) -> None:
    main.add_command(tokens_group)
