"""Outbox rows into multipart emails (plain text + HTML) from the templates next to this file.

HTML uses inline styles and table layout only, and no images, so it renders the same in
web mail and desktop clients and nothing is fetched when it is opened. Every email carries
a one-click unsubscribe link and the RFC 8058 headers, and a Message-ID derived from its
outbox row, so a message can be traced to the row (and counted once) at the receiving end.

A ``foryou`` email's unsubscribe link (body and header) carries its kind in the signed
token, so it turns off that digest only; every other kind's link leaves the whole list.
"""

from __future__ import annotations

import binascii
import html as html_lib
import json
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..config import Settings
from ..models import Paper
from ..store.base import Store
from ..store.digest import OutboxItem
from .addresses import one_line
from .selection import ALERTS, DAILY, FORYOU, WEEKLY, Issue
from .tokens import Tokens

TEMPLATES = Path(__file__).parent / "templates"
ISSUE_CACHE = 64
SUMMARY_CHARS = 220
AUTHORS_SHOWN = 3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


@dataclass(slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def ascii_address(address: str) -> str:
    """The address with an internationalised domain in its ASCII (IDNA) form, for SMTP and
    headers: we do not assume the server speaks SMTPUTF8 (local parts are ASCII already)."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _qp(text: str) -> bytes:
    """Quoted-printable with CRLF line ends: 7-bit safe, readable, and never contains a line
    that starts with our ``=_`` boundary."""
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return binascii.b2a_qp(data, istext=True)


@lru_cache(maxsize=256)
def _header(name: str, value: str) -> bytes:
    value = one_line(value, name)
    if value.isascii() and len(name) + len(value) < 990:
        return f"{name}: {value}\r\n".encode("ascii")
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def one_line_summary(abstract: str, limit: int = SUMMARY_CHARS) -> str:
    """The abstract's first sentence, cut at a word boundary: enough to decide whether to click."""
    text = " ".join(abstract.split())
    if not text:
        return ""
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def authors_line(paper: Paper) -> str:
    names = paper.authors[:AUTHORS_SHOWN]
    extra = paper.n_authors - len(names)
    if not names:
        return f"{paper.n_authors} authors" if paper.n_authors else ""
    return ", ".join(names) + (f" and {extra} more" if extra > 0 else "")


def _long_day(d: date) -> str:
    return f"{d.strftime('%A')} {d.day} {d.strftime('%B %Y')}"


class Composer:
    """Renders emails for one run; keeps papers it has loaded, since most rows share them."""

    def __init__(self, settings: Settings, store: Store, tokens: Tokens | None = None) -> None:
        self.settings = settings
        self.store = store
        self.tokens = tokens or Tokens(settings.resolved_secret_key())
        self.base_url = settings.public_base_url.rstrip("/")
        self.site = re.sub(r"^https?://", "", self.base_url)
        self.sender = one_line(settings.smtp_from, "PAPERBOARD_SMTP_FROM")
        sender_addr = parseaddr(self.sender)[1]
        self.domain = sender_addr.rpartition("@")[2] or "paperboard.localhost"
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._papers: dict[str, Paper | None] = {}
        self._views: dict[str, dict[str, object]] = {}
        self._unsubscribe: dict[tuple[int, str, str | None], str] = {}
        # Daily and weekly emails differ between subscribers only in the address and the
        # unsubscribe link: render each issue once with unguessable placeholders for those.
        nonce = secrets.token_hex(8)
        self._ph_email, self._ph_unsub = f"pb{nonce}email", f"pb{nonce}unsubscribe"
        self._issues: OrderedDict[str, Rendered | None] = OrderedDict()
        name, addr = parseaddr(self.sender)
        self._from_header = formataddr((name, ascii_address(addr)), charset="utf-8") if addr else self.sender

    # -- urls --------------------------------------------------------------------------
    def paper_url(self, paper_id: str) -> str:
        return f"{self.base_url}/papers/{paper_id}"

    def unsubscribe_url(self, subscriber_id: int, email: str, kind: str | None = None) -> str:
        """``kind`` ``foryou`` scopes the link to that digest; None leaves the whole list."""
        kind = FORYOU if kind == FORYOU else None
        key = (subscriber_id, email, kind)
        url = self._unsubscribe.get(key)
        if url is None:
            token = self.tokens.make("unsubscribe", subscriber_id, email, kind)
            url = f"{self.base_url}/unsubscribe?{urlencode({'token': token})}"
            if len(self._unsubscribe) > 1_000:
                self._unsubscribe.clear()
            self._unsubscribe[key] = url
        return url

    def confirm_url(self, token: str) -> str:
        return f"{self.base_url}/subscribe/confirm?{urlencode({'token': token})}"

    def search_url(self, query: str, category: str | None) -> str:
        q = f"{query} cat:{category}" if category else query
        return f"{self.base_url}/search?{urlencode({'q': q})}"

    # -- papers ------------------------------------------------------------------------
    def _load(self, ids: list[str]) -> None:
        missing = [i for i in ids if i not in self._papers]
        if missing:
            found = self.store.get_papers(missing)
            for i in missing:
                self._papers[i] = found.get(i)

    def _view(self, paper: Paper) -> dict[str, object]:
        view = self._views.get(paper.id)
        if view is None:
            view = {
                "title": paper.title,
                "url": self.paper_url(paper.id),
                "authors": authors_line(paper),
                "upvotes": paper.upvotes,
                "summary": one_line_summary(paper.abstract),
                "tldr": paper.tldr,
            }
            self._views[paper.id] = view
        return view

    # -- rendering ---------------------------------------------------------------------
    def render_issue(
        self, issue: Issue, subscriber_id: int, email: str, *, key: str | None = None
    ) -> Rendered | None:
        """None when every planned paper has since disappeared (hidden): nothing to send."""
        key = key or issue.to_payload()
        if key in self._issues:
            self._issues.move_to_end(key)
            generic = self._issues[key]
        else:
            generic = self._render_generic(issue)
            self._issues[key] = generic
            if len(self._issues) > ISSUE_CACHE:
                self._issues.popitem(last=False)
        if generic is None:
            return None
        unsub = self.unsubscribe_url(subscriber_id, email, issue.kind)
        return Rendered(
            subject=generic.subject,
            text=generic.text.replace(self._ph_email, email).replace(self._ph_unsub, unsub),
            html=generic.html.replace(self._ph_email, html_lib.escape(email))
            .replace(self._ph_unsub, html_lib.escape(unsub)),
        )

    def _render_generic(self, issue: Issue) -> Rendered | None:
        self._load([pid for s in issue.sections for pid in s.paper_ids])
        sections = []
        for s in issue.sections:
            # A reason is per user, the rest of a paper's view is shared: copy, never mutate.
            reasons = s.reasons if s.reasons and not issue.cold else [""] * len(s.paper_ids)
            papers = [
                {**self._view(p), "reason": why}
                for p, why in zip((self._papers[i] for i in s.paper_ids), reasons, strict=False)
                if p is not None
            ]
            if papers:
                search_url = self.search_url(s.query, s.category) if s.query else ""
                sections.append({"query": s.query, "category": s.category, "papers": papers,
                                 "search_url": search_url})  # fmt: skip
        if not sections:
            return None
        n = sum(len(s["papers"]) for s in sections)
        end = date.fromisoformat(issue.end)
        unsubscribe_label, manage_url = "Unsubscribe in one click", ""
        if issue.kind == FORYOU:
            subject, heading, intro, reason = self._foryou_words(issue, n, end)
            unsubscribe_label = "Stop the For-you emails in one click (any other emails from us continue)"
            manage_url = f"{self.base_url}/account/alerts"
        elif issue.kind == DAILY:
            heading = f"Trending papers · {_long_day(end)}"
            subject = f"Trending papers · {end.strftime('%a')} {end.day} {end.strftime('%b %Y')}"
            intro = f"The {n} most talked-about papers of today's feed."
            reason = "the daily trending papers"
        elif issue.kind == WEEKLY:
            start = date.fromisoformat(issue.start)
            span = f"{start.day} {start.strftime('%b')} – {end.day} {end.strftime('%b %Y')}"
            heading = f"Top papers of the week · {span}"
            subject = f"Top papers of the week · {issue.period}"
            intro = f"The {n} most upvoted papers of the week {issue.period}."
            reason = "the weekly top papers"
        elif issue.kind == ALERTS:
            noun = "paper" if n == 1 else "papers"
            if len(sections) == 1:
                q = sections[0]["query"]
                shown = q if len(q) <= 60 else q[:57] + "…"
                subject = f"{n} new {noun} for “{shown}”"
            else:
                subject = f"{n} new {noun} for your {len(sections)} saved searches"
            heading = subject
            intro = f"New papers matching your saved searches, up to {_long_day(end)}."
            reason = "alerts for saved searches"
        else:
            raise ValueError(f"unknown digest kind {issue.kind!r}")
        ctx = {
            "subject": subject, "heading": heading, "intro": intro, "preheader": intro,
            "sections": sections, "email": self._ph_email, "reason": reason, "site": self.site,
            "base_url": self.base_url, "unsubscribe_url": self._ph_unsub,
            "unsubscribe_label": unsubscribe_label, "manage_url": manage_url,
        }  # fmt: skip
        return Rendered(
            subject=one_line(subject, "subject"),
            text=self.env.get_template("digest.txt").render(ctx),
            html=self.env.get_template("digest.html").render(ctx),
        )

    def _foryou_words(self, issue: Issue, n: int, end: date) -> tuple[str, str, str, str]:
        """Subject, heading, intro and footer reason of a For-you email."""
        noun = "paper" if n == 1 else "papers"
        if len(issue.period) == 10:  # a feed day: the daily cadence
            when_short = f"{end.strftime('%a')} {end.day} {end.strftime('%b %Y')}"
            when_long, scope, cadence = _long_day(end), "today's feed", "daily (weekdays)"
        else:
            start = date.fromisoformat(issue.start)
            when_short = issue.period
            when_long = f"{start.day} {start.strftime('%b')} – {end.day} {end.strftime('%b %Y')}"
            scope, cadence = "this week's papers", "weekly"
        if issue.cold:
            intro = (f"Trending in {scope} while we learn what you read: save, upvote or claim three"
                     " papers (or import a BibTeX file) and this email picks papers for you.")  # fmt: skip
            subject = f"Trending for you · {when_short}"
        else:
            intro = f"{n} {noun} from {scope} picked for you, each with the reason it was picked."
            subject = f"For you · {when_short}"
        return subject, f"For you · {when_long}", intro, f"the {cadence} For-you digest"

    def render_confirm(self, payload: dict[str, object], email: str) -> Rendered:
        kind = payload.get("kind")
        what = {
            "daily": "the daily trending papers (weekdays)",
            "weekly": "the weekly top papers",
        }.get(str(kind), "alerts for your saved searches")
        hours = self.settings.digest_confirm_max_age_hours
        ctx = {
            "subject": "Confirm your Paperboard subscription", "what": what, "email": email,
            "confirm_url": self.confirm_url(str(payload["token"])),
            "valid_for": f"{hours // 24} days" if hours % 24 == 0 and hours >= 48 else f"{hours} hours",
        }  # fmt: skip
        return Rendered(
            subject="Confirm your Paperboard subscription",
            text=self.env.get_template("confirm.txt").render(ctx),
            html=self.env.get_template("confirm.html").render(ctx),
        )

    def render_item(self, item: OutboxItem) -> Rendered | None:
        if item.kind == "confirm":
            return self.render_confirm(json.loads(item.payload), item.email)
        return self.render_issue(Issue.from_payload(item.payload), item.subscriber_id, item.email, key=item.payload)

    # -- messages ----------------------------------------------------------------------
    def message_id(self, item: OutboxItem) -> str:
        period = re.sub(r"[^A-Za-z0-9.-]", "-", item.period)
        return f"<pb.{item.id}.{item.kind}.{period}@{self.domain}>"

    def message_bytes(self, item: OutboxItem, rendered: Rendered, *, now: datetime | None = None) -> bytes:
        """The whole RFC 5322 message with CRLF line ends, built directly: the stdlib's
        generic generator costs several milliseconds per message, too slow for 10,000."""
        boundary = f"=_pb_{item.id}_{secrets.token_hex(6)}"
        to = ascii_address(item.email)
        parts = [
            _header("From", self._from_header),
            _header("To", to),
            _header("Subject", rendered.subject),
            _header("Date", format_datetime(now or datetime.now(UTC))),
            _header("Message-ID", self.message_id(item)),
            b"MIME-Version: 1.0\r\n",
        ]
        if item.kind != "confirm":
            parts += [
                _header("List-Id", f"Paperboard {item.kind} digest <{item.kind}.digest.{self.domain}>"),
                _header("List-Unsubscribe", f"<{self.unsubscribe_url(item.subscriber_id, item.email, item.kind)}>"),
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                b"Precedence: bulk\r\n",
            ]
        parts += [
            b"Auto-Submitted: auto-generated\r\n",
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode(),
        ]
        for subtype, body in (("plain", rendered.text), ("html", rendered.html)):
            parts += [
                f"--{boundary}\r\n".encode(),
                f'Content-Type: text/{subtype}; charset="utf-8"\r\n'.encode(),
                b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                _qp(body),
            ]
        parts.append(f"--{boundary}--\r\n".encode())
        return b"".join(parts)
