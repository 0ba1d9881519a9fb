"""The emails that recover or move an account: a password-reset link, and a link that
confirms a new address (sent to that new address, so the change proves its owner reads it).

They go out through the digest's SMTP transport (the same relay and settings) but not
through the digest outbox: the outbox serves addresses on the mailing list (opt-in state,
bounces, unsubscribe headers) and keeps each email's payload readable in the database,
whereas a reset link must exist only in the email (the store keeps a hash of it). A send
that fails is logged and not retried: the link is a key for an hour, and the person can ask
for another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..config import Settings
from ..digest.compose import ascii_address
from ..digest.smtp import DeliveryError, SmtpTransport
from ..store.accounts import User
from ..store.base import Store
from .account_links import MAX_AGE_SECONDS, AccountLinks, Purpose

log = logging.getLogger("paperboard.accounts")
TEMPLATES = Path(__file__).parent / "templates" / "account" / "mail"


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


class AccountMailer:
    def __init__(self, settings: Settings, links: AccountLinks | None = None) -> None:
        self.settings = settings
        self.links = links or AccountLinks(settings.resolved_secret_key())
        self.base_url = settings.public_base_url.rstrip("/")
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )  # fmt: skip

    # -- what to send --------------------------------------------------------------------
    def _link(self, store: Store, user: User, purpose: Purpose, address: str) -> str:
        token, digest = self.links.make(purpose, user.id)
        expires = datetime.now(UTC) + timedelta(seconds=MAX_AGE_SECONDS[purpose])
        store.create_account_token(user.id, purpose, digest, address, expires)
        path = "/reset" if purpose == "reset" else "/account/email/confirm"
        return f"{self.base_url}{path}?token={token}"

    def reset_mails(self, store: Store, address: str) -> list[Mail]:
        """One reset email per account with this address (none when no account has it)."""
        mails = []
        for user in store.users_by_email(address):
            url = self._link(store, user, "reset", user.email or address)
            mails.append(self._render("reset", user.email or address, url=url, user=user))
        return mails

    def address_mail(self, store: Store, user: User, new_address: str) -> Mail:
        url = self._link(store, user, "email", new_address)
        return self._render("email_change", new_address, url=url, user=user, address=new_address)

    def _render(self, name: str, to: str, **ctx: object) -> Mail:
        ctx["site"] = self.base_url
        subject = self.env.get_template(f"{name}.subject.txt").render(ctx).strip()
        return Mail(to, subject, self.env.get_template(f"{name}.txt").render(ctx),
                    self.env.get_template(f"{name}.html").render(ctx))  # fmt: skip

    # -- sending -------------------------------------------------------------------------
    def message_bytes(self, mail: Mail) -> bytes:
        name, addr = parseaddr(self.settings.smtp_from)
        domain = addr.rpartition("@")[2] or "paperboard.localhost"
        msg = EmailMessage(policy=SMTP)
        msg["From"] = formataddr((name, ascii_address(addr))) if addr else self.settings.smtp_from
        msg["To"] = ascii_address(mail.to)
        msg["Subject"] = mail.subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid("pb.account", domain=domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(mail.text)
        msg.add_alternative(mail.html, subtype="html")
        return msg.as_bytes()

    def send(self, mails: list[Mail]) -> int:
        """Deliver now over one connection; returns how many were accepted (failures are logged)."""
        if not mails:
            return 0
        sender = parseaddr(self.settings.smtp_from)[1] or "digest@localhost"
        transport, sent = SmtpTransport(self.settings), 0
        try:
            for mail in mails:
                try:
                    transport.send(
                        sender,
                        ascii_address(mail.to),
                        self.message_bytes(mail),
                        before_commit=lambda: None,
                    )
                    sent += 1
                except DeliveryError as exc:
                    log.warning("account email to %s not sent: %s", mail.to, exc)
        finally:
            transport.close()
        return sent


def send_reset_links(mailer: AccountMailer, store: Store, address: str) -> None:
    """After the response (a background task): the page a visitor sees, and when, is the
    same whether or not an account has this address."""
    try:
        mailer.send(mailer.reset_mails(store, address))
    except Exception:  # noqa: BLE001 - a background task has no one to tell but the log
        log.exception("password reset email could not be prepared or sent")


def send_address_confirmation(
    mailer: AccountMailer, store: Store, user: User, address: str
) -> None:
    try:
        mailer.send([mailer.address_mail(store, user, address)])
    except Exception:  # noqa: BLE001
        log.exception("address confirmation email could not be prepared or sent")
